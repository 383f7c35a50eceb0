from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import UserRepository
from application.ports.transaction import TransactionManager
from domain.identity.email import Email
from domain.identity.errors import InvalidEmail


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgotPassword:
    email: str


class ForgotPasswordHandler:
    """Owes a reset mail when the account exists; says nothing either way."""

    def __init__(self, users: UserRepository, tx: TransactionManager) -> None:
        self._users = users
        self._tx = tx

    async def execute(self, cmd: ForgotPassword) -> None:
        try:
            email = Email.parse(cmd.email)
        except InvalidEmail:
            return
        user = await self._users.get_by_email(email)
        if user is None:
            return
        user.request_password_reset()
        await self._users.save(user)
        await self._tx.commit()
