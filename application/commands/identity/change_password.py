from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import revoke_sessions
from application.ports.audit import AuditLog
from application.ports.identity import SessionCache, SessionRepository, UserRepository
from application.ports.security import PasswordHasher
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity import password as password_policy
from domain.identity.errors import UserNotFound, WrongPassword
from domain.identity.ids import SessionId, UserId
from domain.identity.password import Password
from domain.identity.session import RevokeReason


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangePassword:
    user_id: UserId
    session_id: SessionId
    current_password: str
    new_password: str


class ChangePasswordHandler:
    """Sets a new password and signs out every other session."""

    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        cache: SessionCache,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._cache = cache
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: ChangePassword) -> None:
        user = await self._users.get(cmd.user_id)
        if user is None:
            raise UserNotFound
        current = password_policy.normalize(cmd.current_password)
        if not await self._hasher.verify(user.password_hash, current):
            raise WrongPassword("The current password is incorrect.", field="current_password")
        password = Password.parse(
            cmd.new_password,
            context=(user.email.value, user.email.local_part, user.name.value),
            field="new_password",
        )
        now = self._clock.now()
        user.change_password(await self._hasher.hash(password.value), now, reset=False)
        await self._users.save(user)
        revoked = await revoke_sessions(
            self._sessions, user.id, RevokeReason.PASSWORD_CHANGED, now, keep=cmd.session_id
        )
        await self._audit.record(
            AuditEvent(
                action=AuditAction.PASSWORD_CHANGED,
                actor_type=ActorType.USER,
                actor_id=user.id,
                subject_user=user.id,
                metadata={"sessions_revoked": len(revoked)},
            )
        )
        await self._tx.commit()
        await self._cache.forget(revoked)
