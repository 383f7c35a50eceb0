from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import OneTimeTokenRepository, UserRepository
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.identity.errors import InvalidOneTimeToken
from domain.identity.one_time_token import TokenPurpose


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifyEmail:
    token: str | None


class VerifyEmailHandler:
    def __init__(
        self,
        users: UserRepository,
        one_time_tokens: OneTimeTokenRepository,
        secrets: SecretTokens,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._tokens = one_time_tokens
        self._secrets = secrets
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: VerifyEmail) -> None:
        if not cmd.token:
            raise InvalidOneTimeToken
        now = self._clock.now()
        user_id = await self._tokens.consume(
            self._secrets.fingerprint(cmd.token), TokenPurpose.VERIFY_EMAIL, now
        )
        user = await self._users.get(user_id) if user_id else None
        if user is None:
            raise InvalidOneTimeToken
        user.verify_email(now)
        await self._users.save(user)
        await self._tx.commit()
