from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import UserRepository
from application.ports.transaction import TransactionManager
from domain.identity.email import Email
from domain.identity.errors import InvalidEmail
from domain.identity.ids import UserId
from domain.identity.user import User


@dataclass(frozen=True, slots=True, kw_only=True)
class ResendVerification:
    """By the signed-in user, or by address; the answer never tells which exist."""

    user_id: UserId | None = None
    email: str | None = None


class ResendVerificationHandler:
    def __init__(self, users: UserRepository, tx: TransactionManager) -> None:
        self._users = users
        self._tx = tx

    async def execute(self, cmd: ResendVerification) -> None:
        user = await self._find(cmd)
        if user is None or user.email_verified:
            return
        user.request_verification()
        await self._users.save(user)
        await self._tx.commit()

    async def _find(self, cmd: ResendVerification) -> User | None:
        if cmd.user_id is not None:
            return await self._users.get(cmd.user_id)
        if not cmd.email:
            raise InvalidEmail("Give the email address to verify.", field="email")
        try:
            email = Email.parse(cmd.email)
        except InvalidEmail:
            return None
        return await self._users.get_by_email(email)
