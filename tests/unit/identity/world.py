"""Every identity handler wired to the fakes, for tests that read like stories.

Handlers are built the way the container builds them: each constructor
argument is resolved by its port type, so a handler that starts asking for
another port needs only a fake for it here.

``World.execute(command)`` builds the handler for the command and runs it the
way one HTTP request or job would: whatever it did not commit is rolled back
when it ends, as closing the database connection does.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, TypeVar, get_type_hints

from application.commands.identity.change_password import ChangePassword, ChangePasswordHandler
from application.commands.identity.delete_account import DeleteAccount, DeleteAccountHandler
from application.commands.identity.forgot_password import ForgotPassword, ForgotPasswordHandler
from application.commands.identity.login import Login, LoginHandler
from application.commands.identity.logout import Logout, LogoutHandler
from application.commands.identity.logout_all import LogoutAll, LogoutAllHandler
from application.commands.identity.refresh_session import (
    RefreshSession,
    RefreshSessionHandler,
)
from application.commands.identity.register_user import RegisterUser, RegisterUserHandler
from application.commands.identity.resend_verification import (
    ResendVerification,
    ResendVerificationHandler,
)
from application.commands.identity.reset_password import ResetPassword, ResetPasswordHandler
from application.commands.identity.revoke_session import RevokeSession, RevokeSessionHandler
from application.commands.identity.send_account_mail import (
    SendAccountMail,
    SendAccountMailHandler,
)
from application.commands.identity.update_profile import UpdateProfile, UpdateProfileHandler
from application.commands.identity.verify_email import VerifyEmail, VerifyEmailHandler
from application.common.authentication import AuthenticateAccessToken, AuthenticatedUser
from application.common.identity import IdentitySettings, TokenPair, UserView
from application.ports.audit import AuditLog
from application.ports.identity import (
    LoginThrottle,
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionCache,
    SessionRepository,
    SessionStatusReader,
    UserRepository,
)
from application.ports.identity_reads import SessionReader, UserReader
from application.ports.mail import Mailer
from application.ports.security import AccessTokenIssuer, PasswordHasher, SecretTokens
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import AccessChanges, WorkspaceRepository
from application.ports.transaction import TransactionManager
from application.queries.identity.get_me import GetMe, GetMeHandler
from application.queries.identity.list_sessions import ListSessions, ListSessionsHandler
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import Session
from domain.identity.user import User
from tests.fakes.audit import RecordingAuditLog
from tests.fakes.database import InMemoryDatabase
from tests.fakes.identity import (
    InMemoryIdentityReader,
    InMemoryLoginThrottle,
    InMemoryOneTimeTokens,
    InMemoryRefreshTokens,
    InMemorySessionCache,
    InMemorySessions,
    InMemoryUsers,
)
from tests.fakes.mail import RecordingMailer
from tests.fakes.security import FakeAccessTokens, FakePasswordHasher, FakeSecretTokens
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.tenancy import InMemoryWorkspaces, RecordingAccessChanges
from tests.fakes.transaction import FakeUnitOfWork

H = TypeVar("H")

HANDLERS: dict[type, type] = {
    RegisterUser: RegisterUserHandler,
    Login: LoginHandler,
    RefreshSession: RefreshSessionHandler,
    Logout: LogoutHandler,
    LogoutAll: LogoutAllHandler,
    RevokeSession: RevokeSessionHandler,
    ChangePassword: ChangePasswordHandler,
    DeleteAccount: DeleteAccountHandler,
    ForgotPassword: ForgotPasswordHandler,
    ResendVerification: ResendVerificationHandler,
    ResetPassword: ResetPasswordHandler,
    SendAccountMail: SendAccountMailHandler,
    UpdateProfile: UpdateProfileHandler,
    VerifyEmail: VerifyEmailHandler,
    GetMe: GetMeHandler,
    ListSessions: ListSessionsHandler,
}

PASSWORD = "correct horse battery"
OTHER_PASSWORD = "tr0ub4dor & three"
SESSION_LIFETIME = timedelta(days=30)
PUBLIC_URL = "https://app.synapscale.test"
WINDOW_SECONDS = 900
PER_ACCOUNT = 5
PER_ADDRESS = 50


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.uow = FakeUnitOfWork()
        self.tables = InMemoryDatabase()
        self.users = InMemoryUsers(self.uow, self.tables)
        self.sessions = InMemorySessions(self.uow, self.tables)
        self.refresh_tokens = InMemoryRefreshTokens(self.uow, self.tables)
        self.one_time_tokens = InMemoryOneTimeTokens(self.uow, self.tables)
        self.workspaces = InMemoryWorkspaces(self.uow, self.tables)
        self.audit = RecordingAuditLog(self.uow)
        self.reader = InMemoryIdentityReader(self.tables)
        self.cache = InMemorySessionCache(self.clock)
        self.access = RecordingAccessChanges()
        self.throttle = InMemoryLoginThrottle(
            self.clock,
            window_seconds=WINDOW_SECONDS,
            per_account=PER_ACCOUNT,
            per_address=PER_ADDRESS,
        )
        self.hasher = FakePasswordHasher()
        self.issuer = FakeAccessTokens(self.clock)
        self.secrets = FakeSecretTokens()
        self.mailer = RecordingMailer()
        self.settings = IdentitySettings(session_lifetime=SESSION_LIFETIME, public_url=PUBLIC_URL)

    # -- running use cases ------------------------------------------------------------

    def _dependencies(self) -> dict[object, object]:
        """Each port type with the fake that plays it, as the container would resolve it."""
        return {
            UserRepository: self.users,
            SessionRepository: self.sessions,
            RefreshTokenRepository: self.refresh_tokens,
            OneTimeTokenRepository: self.one_time_tokens,
            WorkspaceRepository: self.workspaces,
            UserReader: self.reader,
            SessionReader: self.reader,
            SessionStatusReader: self.reader,
            SessionCache: self.cache,
            AccessChanges: self.access,
            LoginThrottle: self.throttle,
            PasswordHasher: self.hasher,
            AccessTokenIssuer: self.issuer,
            SecretTokens: self.secrets,
            Mailer: self.mailer,
            AuditLog: self.audit,
            IdentitySettings: self.settings,
            IdGenerator: self.ids,
            Clock: self.clock,
            TransactionManager: self.uow,
        }

    def build(self, cls: type[H]) -> H:
        """``cls`` with every constructor argument resolved by its type."""
        provided = self._dependencies()
        hints = get_type_hints(cls.__init__)
        hints.pop("return", None)
        missing = [f"{name}: {kind}" for name, kind in hints.items() if kind not in provided]
        if missing:
            raise TypeError(f"World has no fake for {cls.__name__}({', '.join(missing)})")
        return cls(**{name: provided[kind] for name, kind in hints.items()})

    def handler_for(self, command: object) -> Any:
        return self.build(HANDLERS[type(command)])

    async def execute(self, command: object) -> Any:
        """Run one use case as one request: the uncommitted part is rolled back."""
        try:
            return await self.handler_for(command).execute(command)
        finally:
            self.uow.rollback()

    async def authenticate(self, access_token: str) -> AuthenticatedUser:
        return await self.build(AuthenticateAccessToken).execute(access_token)

    # -- givens -----------------------------------------------------------------------

    async def register(
        self,
        email: str = "ada@example.com",
        password: str = PASSWORD,
        name: str = "Ada Lovelace",
        *,
        verified: bool = False,
    ) -> UserView:
        view: UserView = await self.execute(RegisterUser(email=email, password=password, name=name))
        if verified:
            token = await self.mail_token(UserId(view.id), TokenPurpose.VERIFY_EMAIL)
            await self.execute(VerifyEmail(token=token))
        return view

    async def login(
        self,
        email: str = "ada@example.com",
        password: str = PASSWORD,
        *,
        user_agent: str | None = "pytest",
        client_address: str | None = "192.0.2.10",
    ) -> TokenPair:
        pair: TokenPair = await self.execute(
            Login(
                email=email,
                password=password,
                user_agent=user_agent,
                client_address=client_address,
            )
        )
        return pair

    async def mail_token(self, user_id: UserId, purpose: TokenPurpose) -> str:
        """Send the account mail for ``purpose`` and read the token out of it."""
        before = len(self.mailer.sent)
        await self.execute(SendAccountMail(user_id=user_id, purpose=purpose))
        assert len(self.mailer.sent) == before + 1, "no mail was sent"
        return token_in(self.mailer.sent[-1].text)

    # -- looking at the state ---------------------------------------------------------

    def stored_user(self, user_id: UserId | Any) -> User:
        return self.tables.users[UserId(user_id)]

    def stored_session(self, session_id: SessionId | Any) -> Session:
        return self.tables.sessions[SessionId(session_id)]

    def fingerprint(self, token: str) -> str:
        return self.secrets.fingerprint(token)


def token_in(text: str) -> str:
    match = re.search(r"token=([\w-]+)", text)
    assert match, text
    return match.group(1)
