from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import UserView, user_view
from application.ports.identity import UserRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.identity.errors import UserNotFound
from domain.identity.ids import UserId
from domain.identity.user import UserName


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateProfile:
    user_id: UserId
    name: str | None = None


class UpdateProfileHandler:
    def __init__(self, users: UserRepository, clock: Clock, tx: TransactionManager) -> None:
        self._users = users
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: UpdateProfile) -> UserView:
        user = await self._users.get(cmd.user_id)
        if user is None:
            raise UserNotFound
        if cmd.name is not None:
            user.rename(UserName.parse(cmd.name), self._clock.now())
            await self._users.save(user)
            await self._tx.commit()
        return user_view(user)
