from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import IdentitySettings, TokenPair, account_throttle_key
from application.ports.audit import AuditLog
from application.ports.identity import (
    LoginThrottle,
    RefreshTokenRepository,
    SessionRepository,
    UserRepository,
)
from application.ports.security import AccessTokenIssuer, PasswordHasher, SecretTokens
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity import password as password_policy
from domain.identity.email import Email
from domain.identity.errors import InvalidCredentials, InvalidEmail, TooManyLoginAttempts
from domain.identity.ids import SessionId
from domain.identity.session import Session
from domain.identity.user import User


@dataclass(frozen=True, slots=True, kw_only=True)
class Login:
    email: str
    password: str
    user_agent: str | None = None
    client_address: str | None = None


class LoginHandler:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        refresh_tokens: RefreshTokenRepository,
        hasher: PasswordHasher,
        secrets: SecretTokens,
        issuer: AccessTokenIssuer,
        throttle: LoginThrottle,
        audit: AuditLog,
        settings: IdentitySettings,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._refresh_tokens = refresh_tokens
        self._hasher = hasher
        self._secrets = secrets
        self._issuer = issuer
        self._throttle = throttle
        self._audit = audit
        self._settings = settings
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: Login) -> TokenPair:
        account_key = account_throttle_key(cmd.email)
        keys = [account_key]
        if cmd.client_address:
            keys.append("address:" + cmd.client_address)
        retry_after = await self._throttle.attempt(keys)
        if retry_after is not None:
            raise TooManyLoginAttempts(retry_after=retry_after)

        user = await self._find(cmd.email)
        password = password_policy.normalize(cmd.password)
        # Unknown accounts are checked against a dummy hash: same answer, same time.
        if not await self._hasher.verify(user.password_hash if user else None, password) or (
            user is None
        ):
            await self._audit.record_now(
                AuditEvent(
                    action=AuditAction.LOGIN_FAILED,
                    actor_type=ActorType.ANONYMOUS,
                    subject_user=user.id if user else None,
                    target_type="user" if user else None,
                    target_id=user.id if user else None,
                    metadata={"reason": "wrong_password" if user else "unknown_account"},
                )
            )
            raise InvalidCredentials

        now = self._clock.now()
        if self._hasher.needs_rehash(user.password_hash):
            user.rehash_password(await self._hasher.hash(password), now)
            await self._users.save(user)
        session = Session.start(
            id=SessionId(self._ids.new()),
            user_id=user.id,
            now=now,
            lifetime=self._settings.session_lifetime,
            user_agent=cmd.user_agent,
            client_address=cmd.client_address,
        )
        await self._sessions.add(session)
        refresh_token = self._secrets.generate()
        await self._refresh_tokens.add(self._secrets.fingerprint(refresh_token), session.id, now)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.LOGIN_SUCCEEDED,
                actor_type=ActorType.USER,
                actor_id=user.id,
                subject_user=user.id,
                target_type="session",
                target_id=session.id,
            )
        )
        await self._tx.commit()
        await self._throttle.forgive(keys)
        access = self._issuer.issue(user.id, session.id, now)
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in=access.expires_in,
            user_id=user.id,
            session_id=session.id,
        )

    async def _find(self, raw_email: str) -> User | None:
        try:
            email = Email.parse(raw_email)
        except InvalidEmail:
            return None
        return await self._users.get_by_email(email)
