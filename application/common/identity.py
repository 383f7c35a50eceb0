"""Pieces the identity use cases share: settings and outgoing mail texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote
from uuid import UUID

from application.ports.identity import SessionRepository
from application.ports.mail import MailMessage
from domain.identity.email import Email
from domain.identity.errors import InvalidEmail
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason
from domain.identity.user import User


@dataclass(frozen=True, slots=True, kw_only=True)
class IdentitySettings:
    session_lifetime: timedelta
    public_url: str
    product_name: str = "SynapScale"


def verification_mail(settings: IdentitySettings, to: str, name: str, token: str) -> MailMessage:
    link = f"{settings.public_url}/verify-email?token={quote(token)}"
    return MailMessage(
        to=to,
        subject=f"Verify your {settings.product_name} email address",
        text=(
            f"Hello {name},\n\n"
            f"Confirm your email address by opening this link within 24 hours:\n\n{link}\n\n"
            f"Or send this token to POST /api/v1/auth/verify-email:\n\n{token}\n\n"
            "If you did not create an account, ignore this message.\n"
        ),
    )


def password_reset_mail(settings: IdentitySettings, to: str, name: str, token: str) -> MailMessage:
    link = f"{settings.public_url}/reset-password?token={quote(token)}"
    return MailMessage(
        to=to,
        subject=f"Reset your {settings.product_name} password",
        text=(
            f"Hello {name},\n\n"
            f"Choose a new password by opening this link within 30 minutes:\n\n{link}\n\n"
            f"Or send this token to POST /api/v1/auth/reset-password:\n\n{token}\n\n"
            "If you did not ask for this, ignore this message: your password is unchanged.\n"
        ),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class UserView:
    id: UUID
    email: str
    name: str
    email_verified: bool
    created_at: datetime


def user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        email=user.email.value,
        name=user.name.value,
        email_verified=user.email_verified,
        created_at=user.created_at,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: UserId
    session_id: SessionId


def account_throttle_key(email: str) -> str:
    """One key per account, however its address is spelled (case, Unicode
    form, punycode, a trailing dot): the same normalisation as the lookup."""
    try:
        canonical = Email.parse(email).value
    except InvalidEmail:
        canonical = email.strip().lower()
    return "account:" + canonical


async def revoke_sessions(
    sessions: SessionRepository,
    user_id: UserId,
    reason: RevokeReason,
    now: datetime,
    *,
    keep: SessionId | None = None,
) -> list[SessionId]:
    """Revoke every live session of a user but ``keep``; the ids to forget after commit."""
    revoked = []
    for session in await sessions.active_for_user(user_id, now):
        if session.id == keep:
            continue
        session.revoke(now, reason)
        await sessions.save(session)
        revoked.append(session.id)
    return revoked
