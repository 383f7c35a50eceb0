"""REQUEST-scope use cases: dishka builds each handler from the ports it asks for."""

from __future__ import annotations

from dishka import Provider, Scope, provide_all

from application.commands.identity.change_password import ChangePasswordHandler
from application.commands.identity.delete_account import DeleteAccountHandler
from application.commands.identity.forgot_password import ForgotPasswordHandler
from application.commands.identity.login import LoginHandler
from application.commands.identity.logout import LogoutHandler
from application.commands.identity.logout_all import LogoutAllHandler
from application.commands.identity.refresh_session import RefreshSessionHandler
from application.commands.identity.register_user import RegisterUserHandler
from application.commands.identity.resend_verification import ResendVerificationHandler
from application.commands.identity.reset_password import ResetPasswordHandler
from application.commands.identity.revoke_session import RevokeSessionHandler
from application.commands.identity.send_account_mail import SendAccountMailHandler
from application.commands.identity.update_profile import UpdateProfileHandler
from application.commands.identity.verify_email import VerifyEmailHandler
from application.common.authentication import AuthenticateAccessToken
from application.queries.identity.get_me import GetMeHandler
from application.queries.identity.list_sessions import ListSessionsHandler


class HandlersProvider(Provider):
    scope = Scope.REQUEST

    handlers = provide_all(
        AuthenticateAccessToken,
        ChangePasswordHandler,
        DeleteAccountHandler,
        ForgotPasswordHandler,
        LoginHandler,
        LogoutHandler,
        LogoutAllHandler,
        RefreshSessionHandler,
        RegisterUserHandler,
        ResendVerificationHandler,
        ResetPasswordHandler,
        RevokeSessionHandler,
        SendAccountMailHandler,
        UpdateProfileHandler,
        VerifyEmailHandler,
        GetMeHandler,
        ListSessionsHandler,
    )
