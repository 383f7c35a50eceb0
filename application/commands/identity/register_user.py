from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import UserView, user_view
from application.ports.identity import UserRepository
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.identity.password import Password
from domain.identity.user import User, UserName


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterUser:
    email: str
    password: str
    name: str


class RegisterUserHandler:
    def __init__(
        self,
        users: UserRepository,
        hasher: PasswordHasher,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RegisterUser) -> UserView:
        email = Email.parse(cmd.email)
        name = UserName.parse(cmd.name)
        password = Password.parse(cmd.password, context=(email.value, email.local_part, name.value))
        user = User.register(
            id=UserId(self._ids.new()),
            email=email,
            name=name,
            password_hash=await self._hasher.hash(password.value),
            now=self._clock.now(),
        )
        await self._users.add(user)  # EmailTaken on a duplicate address
        await self._tx.commit()
        return user_view(user)
