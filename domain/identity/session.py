"""Login sessions and their rotating refresh tokens.

A session is one refresh-token family. Each refresh spends the presented
token and issues the next one; a spent token presented again means a copy
leaked, so the whole session is revoked (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.common.events import Aggregate
from domain.identity.events import RefreshTokenReuseDetected, SessionRevoked, SessionStarted
from domain.identity.ids import SessionId, UserId


class RevokeReason(StrEnum):
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REVOKED_BY_USER = "revoked_by_user"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET = "password_reset"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"


@dataclass(kw_only=True, eq=False)
class Session(Aggregate):
    id: SessionId
    user_id: UserId
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_address: str | None
    revoked_at: datetime | None = None
    revoke_reason: str | None = None

    @classmethod
    def start(
        cls,
        *,
        id: SessionId,
        user_id: UserId,
        now: datetime,
        lifetime: timedelta,
        user_agent: str | None,
        client_address: str | None,
    ) -> Session:
        session = cls(
            id=id,
            user_id=user_id,
            created_at=now,
            last_used_at=now,
            expires_at=now + lifetime,
            user_agent=user_agent[:512] if user_agent else None,
            client_address=client_address,
        )
        session.record(SessionStarted(user_id=user_id, session_id=id))
        return session

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def touch(self, now: datetime, lifetime: timedelta) -> None:
        """A refresh slides the idle expiry forward."""
        self.last_used_at = now
        self.expires_at = now + lifetime

    def revoke(self, now: datetime, reason: RevokeReason) -> None:
        if self.revoked_at is not None:
            return
        self.revoked_at = now
        self.revoke_reason = reason.value
        self.record(SessionRevoked(user_id=self.user_id, session_id=self.id, reason=reason.value))

    def detect_reuse(self, now: datetime) -> None:
        self.record(RefreshTokenReuseDetected(user_id=self.user_id, session_id=self.id))
        self.revoke(now, RevokeReason.REFRESH_TOKEN_REUSE)
