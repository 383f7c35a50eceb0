from __future__ import annotations

from dataclasses import dataclass

from application.ports.audit import AuditLog
from application.ports.identity import RefreshTokenRepository, SessionCache, SessionRepository
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.session import RevokeReason


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout:
    """Ends the session a refresh token belongs to. Unknown tokens are a no-op
    (RFC 7009 §2.2): logging out twice is not an error.
    """

    refresh_token: str


class LogoutHandler:
    def __init__(
        self,
        sessions: SessionRepository,
        refresh_tokens: RefreshTokenRepository,
        secrets: SecretTokens,
        cache: SessionCache,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._sessions = sessions
        self._refresh_tokens = refresh_tokens
        self._secrets = secrets
        self._cache = cache
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: Logout) -> None:
        session_id = await self._refresh_tokens.session_of(
            self._secrets.fingerprint(cmd.refresh_token)
        )
        session = await self._sessions.get(session_id) if session_id else None
        if session is None or session.revoked_at is not None:
            return
        session.revoke(self._clock.now(), RevokeReason.LOGOUT)
        await self._sessions.save(session)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.LOGOUT,
                actor_type=ActorType.USER,
                actor_id=session.user_id,
                subject_user=session.user_id,
                target_type="session",
                target_id=session.id,
            )
        )
        await self._tx.commit()
        await self._cache.forget([session.id])
