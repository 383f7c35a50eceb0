from __future__ import annotations

from dataclasses import dataclass

from application.ports.audit import AuditLog
from application.ports.identity import SessionCache, SessionRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.errors import SessionNotFound
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeSession:
    user_id: UserId
    session_id: SessionId


class RevokeSessionHandler:
    def __init__(
        self,
        sessions: SessionRepository,
        cache: SessionCache,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._sessions = sessions
        self._cache = cache
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RevokeSession) -> None:
        now = self._clock.now()
        session = await self._sessions.get(cmd.session_id)
        # Another user's session answers exactly like one that does not exist.
        if session is None or session.user_id != cmd.user_id or not session.is_active(now):
            raise SessionNotFound
        session.revoke(now, RevokeReason.REVOKED_BY_USER)
        await self._sessions.save(session)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.LOGOUT,
                actor_type=ActorType.USER,
                actor_id=cmd.user_id,
                subject_user=cmd.user_id,
                target_type="session",
                target_id=session.id,
                metadata={"revoked_by_user": True},
            )
        )
        await self._tx.commit()
        await self._cache.forget([session.id])
