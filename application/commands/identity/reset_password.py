from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import account_throttle_key, revoke_sessions
from application.ports.audit import AuditLog
from application.ports.identity import (
    LoginThrottle,
    OneTimeTokenRepository,
    SessionCache,
    SessionRepository,
    UserRepository,
)
from application.ports.security import PasswordHasher, SecretTokens
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.errors import InvalidOneTimeToken
from domain.identity.one_time_token import TokenPurpose
from domain.identity.password import Password
from domain.identity.session import RevokeReason


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetPassword:
    token: str | None
    new_password: str


class ResetPasswordHandler:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        one_time_tokens: OneTimeTokenRepository,
        secrets: SecretTokens,
        hasher: PasswordHasher,
        cache: SessionCache,
        throttle: LoginThrottle,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._tokens = one_time_tokens
        self._secrets = secrets
        self._hasher = hasher
        self._cache = cache
        self._throttle = throttle
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: ResetPassword) -> None:
        if not cmd.token:
            raise InvalidOneTimeToken
        now = self._clock.now()
        token_hash = self._secrets.fingerprint(cmd.token)
        # Check the token before the password, but spend it only once all is valid.
        owner = await self._tokens.find_valid(token_hash, TokenPurpose.RESET_PASSWORD, now)
        user = await self._users.get(owner) if owner else None
        if user is None:
            raise InvalidOneTimeToken
        password = Password.parse(
            cmd.new_password,
            context=(user.email.value, user.email.local_part, user.name.value),
            field="new_password",
        )
        if await self._tokens.consume(token_hash, TokenPurpose.RESET_PASSWORD, now) != user.id:
            raise InvalidOneTimeToken

        user.change_password(await self._hasher.hash(password.value), now, reset=True)
        user.verify_email(now)  # the reset mail reached this address
        await self._users.save(user)
        await self._tokens.revoke_all(user.id, TokenPurpose.RESET_PASSWORD, now)
        revoked = await revoke_sessions(self._sessions, user.id, RevokeReason.PASSWORD_RESET, now)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.PASSWORD_RESET,
                actor_type=ActorType.ANONYMOUS,
                subject_user=user.id,
                target_type="user",
                target_id=user.id,
                metadata={"sessions_revoked": len(revoked)},
            )
        )
        await self._tx.commit()
        await self._cache.forget(revoked)
        await self._throttle.clear(account_throttle_key(user.email.value))
