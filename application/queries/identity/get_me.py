from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import UserView
from application.ports.identity_reads import UserReader
from domain.identity.errors import UserNotFound
from domain.identity.ids import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class GetMe:
    user_id: UserId


class GetMeHandler:
    def __init__(self, users: UserReader) -> None:
        self._users = users

    async def execute(self, q: GetMe) -> UserView:
        view = await self._users.get(q.user_id)
        if view is None:
            raise UserNotFound
        return view
