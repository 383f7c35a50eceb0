"""Worker-side: mint a single-use token and mail it.

The token is created here, not when the mail was requested, so that no
secret ever sits in the outbox or the job queue. Delivery is at least once:
a retry after a crash mails a second token, and either one works.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import IdentitySettings, password_reset_mail, verification_mail
from application.ports.identity import OneTimeTokenRepository, UserRepository
from application.ports.mail import Mailer
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.identity.ids import UserId
from domain.identity.one_time_token import TokenPurpose


@dataclass(frozen=True, slots=True, kw_only=True)
class SendAccountMail:
    user_id: UserId
    purpose: TokenPurpose


class SendAccountMailHandler:
    def __init__(
        self,
        users: UserRepository,
        one_time_tokens: OneTimeTokenRepository,
        secrets: SecretTokens,
        mailer: Mailer,
        settings: IdentitySettings,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._tokens = one_time_tokens
        self._secrets = secrets
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: SendAccountMail) -> None:
        user = await self._users.get(cmd.user_id)
        if user is None:
            return  # deleted meanwhile: nothing is owed
        if cmd.purpose is TokenPurpose.VERIFY_EMAIL and user.email_verified:
            return
        now = self._clock.now()
        token = self._secrets.generate()
        await self._tokens.add(
            self._secrets.fingerprint(token),
            purpose=cmd.purpose,
            user_id=user.id,
            now=now,
            expires_at=now + cmd.purpose.lifetime,
        )
        await self._tx.commit()
        compose = (
            verification_mail if cmd.purpose is TokenPurpose.VERIFY_EMAIL else password_reset_mail
        )
        await self._mailer.send(compose(self._settings, user.email.value, user.name.value, token))
