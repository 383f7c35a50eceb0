from __future__ import annotations

from dataclasses import dataclass

from domain.common.events import DomainEvent
from domain.identity.ids import SessionId, UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    topic = "identity.user_registered"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerificationRequested(DomainEvent):
    """A verification mail is owed. The token is minted when the mail is sent."""

    topic = "identity.email_verification_requested"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailVerified(DomainEvent):
    topic = "identity.email_verified"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordResetRequested(DomainEvent):
    topic = "identity.password_reset_requested"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(DomainEvent):
    topic = "identity.password_changed"
    user_id: UserId
    reset: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeleted(DomainEvent):
    topic = "identity.user_deleted"
    user_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(DomainEvent):
    topic = "identity.session_started"
    user_id: UserId
    session_id: SessionId


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionRevoked(DomainEvent):
    topic = "identity.session_revoked"
    user_id: UserId
    session_id: SessionId
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshTokenReuseDetected(DomainEvent):
    """A spent refresh token came back: a copy may be in an attacker's hands."""

    topic = "identity.refresh_token_reuse_detected"
    user_id: UserId
    session_id: SessionId
