from __future__ import annotations

from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from application.commands.identity.change_password import ChangePassword, ChangePasswordHandler
from application.commands.identity.delete_account import DeleteAccount, DeleteAccountHandler
from application.commands.identity.forgot_password import ForgotPassword, ForgotPasswordHandler
from application.commands.identity.login import Login, LoginHandler
from application.commands.identity.logout import Logout, LogoutHandler
from application.commands.identity.logout_all import LogoutAll, LogoutAllHandler
from application.commands.identity.refresh_session import RefreshSession, RefreshSessionHandler
from application.commands.identity.register_user import RegisterUser, RegisterUserHandler
from application.commands.identity.resend_verification import (
    ResendVerification,
    ResendVerificationHandler,
)
from application.commands.identity.reset_password import ResetPassword, ResetPasswordHandler
from application.commands.identity.revoke_session import RevokeSession, RevokeSessionHandler
from application.commands.identity.update_profile import UpdateProfile, UpdateProfileHandler
from application.commands.identity.verify_email import VerifyEmail, VerifyEmailHandler
from application.common.authentication import AuthenticatedUser
from application.queries.identity.get_me import GetMe, GetMeHandler
from application.queries.identity.list_sessions import ListSessions, ListSessionsHandler
from domain.identity.ids import SessionId
from entrypoints.http.identity.schemas import (
    AcceptedOut,
    ChangePasswordIn,
    EmailIn,
    LoginIn,
    PasswordIn,
    ProfilePatch,
    RefreshIn,
    RegisterIn,
    ResendVerificationIn,
    ResetPasswordIn,
    SessionOut,
    SessionsOut,
    TokenIn,
    TokensOut,
    UserOut,
)
from entrypoints.http.security import ClientInfo, OptionalUser

PUBLIC = {"security": "public"}
AUTHENTICATED = {"security": "authenticated"}


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/register", opt=PUBLIC, summary="Create an account")
    async def register(
        self, data: JSONBody[RegisterIn], handler: FromDishka[RegisterUserHandler]
    ) -> UserOut:
        view = await handler.execute(
            RegisterUser(email=data.email, password=data.password, name=data.name)
        )
        return UserOut.of(view)

    @post("/verify-email", status_code=HTTP_204_NO_CONTENT, opt=PUBLIC)
    async def verify_email(
        self, data: JSONBody[TokenIn], handler: FromDishka[VerifyEmailHandler]
    ) -> None:
        await handler.execute(VerifyEmail(token=data.token))

    @post(
        "/resend-verification",
        status_code=HTTP_202_ACCEPTED,
        opt=PUBLIC,
        description="Signed in: for the caller. Anonymous: for `email`. Always 202.",
    )
    async def resend_verification(
        self,
        caller: FromDishka[OptionalUser],
        handler: FromDishka[ResendVerificationHandler],
        data: JSONBody[ResendVerificationIn | None] = None,
    ) -> AcceptedOut:
        if caller.user is not None:
            await handler.execute(ResendVerification(user_id=caller.user.user_id))
        else:
            await handler.execute(ResendVerification(email=data.email if data else None))
        return AcceptedOut()

    @post("/login", status_code=HTTP_200_OK, opt=PUBLIC)
    async def login(
        self,
        data: JSONBody[LoginIn],
        client: FromDishka[ClientInfo],
        handler: FromDishka[LoginHandler],
    ) -> TokensOut:
        pair = await handler.execute(
            Login(
                email=data.email,
                password=data.password,
                user_agent=client.user_agent,
                client_address=client.address,
            )
        )
        return TokensOut.of(pair)

    @post("/refresh", status_code=HTTP_200_OK, opt=PUBLIC)
    async def refresh(
        self, data: JSONBody[RefreshIn], handler: FromDishka[RefreshSessionHandler]
    ) -> TokensOut:
        return TokensOut.of(await handler.execute(RefreshSession(refresh_token=data.refresh_token)))

    @post("/logout", status_code=HTTP_204_NO_CONTENT, opt=PUBLIC)
    async def logout(self, data: JSONBody[RefreshIn], handler: FromDishka[LogoutHandler]) -> None:
        await handler.execute(Logout(refresh_token=data.refresh_token))

    @post("/logout-all", status_code=HTTP_204_NO_CONTENT, opt=AUTHENTICATED)
    async def logout_all(
        self, user: FromDishka[AuthenticatedUser], handler: FromDishka[LogoutAllHandler]
    ) -> None:
        await handler.execute(LogoutAll(user_id=user.user_id))

    @get("/sessions", opt=AUTHENTICATED)
    async def sessions(
        self, user: FromDishka[AuthenticatedUser], handler: FromDishka[ListSessionsHandler]
    ) -> SessionsOut:
        views = await handler.execute(
            ListSessions(user_id=user.user_id, current_session_id=user.session_id)
        )
        return SessionsOut(items=[SessionOut.of(v) for v in views])

    @delete("/sessions/{session_id:uuid}", opt=AUTHENTICATED)
    async def revoke_session(
        self,
        session_id: FromPath[UUID],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[RevokeSessionHandler],
    ) -> None:
        await handler.execute(RevokeSession(user_id=user.user_id, session_id=SessionId(session_id)))

    @post("/forgot-password", status_code=HTTP_202_ACCEPTED, opt=PUBLIC)
    async def forgot_password(
        self, data: JSONBody[EmailIn], handler: FromDishka[ForgotPasswordHandler]
    ) -> AcceptedOut:
        await handler.execute(ForgotPassword(email=data.email))
        return AcceptedOut()

    @post("/reset-password", status_code=HTTP_204_NO_CONTENT, opt=PUBLIC)
    async def reset_password(
        self, data: JSONBody[ResetPasswordIn], handler: FromDishka[ResetPasswordHandler]
    ) -> None:
        await handler.execute(ResetPassword(token=data.token, new_password=data.new_password))

    @post("/change-password", status_code=HTTP_204_NO_CONTENT, opt=AUTHENTICATED)
    async def change_password(
        self,
        data: JSONBody[ChangePasswordIn],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[ChangePasswordHandler],
    ) -> None:
        await handler.execute(
            ChangePassword(
                user_id=user.user_id,
                session_id=user.session_id,
                current_password=data.current_password,
                new_password=data.new_password,
            )
        )

    @get("/me", opt=AUTHENTICATED)
    async def me(
        self, user: FromDishka[AuthenticatedUser], handler: FromDishka[GetMeHandler]
    ) -> UserOut:
        return UserOut.of(await handler.execute(GetMe(user_id=user.user_id)))

    @patch("/me", opt=AUTHENTICATED)
    async def update_me(
        self,
        data: JSONBody[ProfilePatch],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[UpdateProfileHandler],
    ) -> UserOut:
        name = data.name if isinstance(data.name, str) else None
        return UserOut.of(await handler.execute(UpdateProfile(user_id=user.user_id, name=name)))

    @delete("/me", opt=AUTHENTICATED)
    async def delete_me(
        self,
        data: JSONBody[PasswordIn],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[DeleteAccountHandler],
    ) -> None:
        await handler.execute(DeleteAccount(user_id=user.user_id, password=data.password))
