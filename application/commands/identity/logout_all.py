from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import revoke_sessions
from application.ports.audit import AuditLog
from application.ports.identity import SessionCache, SessionRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason


@dataclass(frozen=True, slots=True, kw_only=True)
class LogoutAll:
    user_id: UserId
    keep: SessionId | None = None


class LogoutAllHandler:
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

    async def execute(self, cmd: LogoutAll) -> None:
        revoked = await revoke_sessions(
            self._sessions, cmd.user_id, RevokeReason.LOGOUT_ALL, self._clock.now(), keep=cmd.keep
        )
        await self._audit.record(
            AuditEvent(
                action=AuditAction.LOGOUT,
                actor_type=ActorType.USER,
                actor_id=cmd.user_id,
                subject_user=cmd.user_id,
                metadata={"sessions": len(revoked), "all": True},
            )
        )
        await self._tx.commit()
        await self._cache.forget(revoked)
