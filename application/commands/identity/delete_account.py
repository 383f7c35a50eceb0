from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import SessionCache, SessionRepository, UserRepository
from application.ports.security import PasswordHasher
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.identity import password as password_policy
from domain.identity.errors import UserNotFound, WrongPassword
from domain.identity.ids import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccount:
    user_id: UserId
    password: str


class DeleteAccountHandler:
    """Erases the user with their sessions and tokens; the address is free again."""

    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        hasher: PasswordHasher,
        cache: SessionCache,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._hasher = hasher
        self._cache = cache
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: DeleteAccount) -> None:
        user = await self._users.get(cmd.user_id)
        if user is None:
            raise UserNotFound
        if not await self._hasher.verify(
            user.password_hash, password_policy.normalize(cmd.password)
        ):
            raise WrongPassword(field="password")
        live = [s.id for s in await self._sessions.active_for_user(user.id, self._clock.now())]
        user.delete()
        await self._users.delete(user)  # sessions and tokens go with it (ON DELETE CASCADE)
        await self._tx.commit()
        await self._cache.forget(live)
