"""REQUEST-scope use cases: dishka builds each handler from the ports it asks for."""

from __future__ import annotations

from dishka import Provider, Scope, provide_all

from application.commands.files.add_version import AddFileVersionHandler
from application.commands.files.delete_file import DeleteFileHandler
from application.commands.files.release_blobs import ReleaseBlobsHandler
from application.commands.files.restore_version import RestoreVersionHandler
from application.commands.files.update_file import UpdateFileHandler
from application.commands.files.upload_file import UploadFileHandler
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
from application.commands.llm.create_credential import CreateCredentialHandler
from application.commands.llm.create_route import CreateRouteHandler
from application.commands.llm.delete_credential import DeleteCredentialHandler
from application.commands.llm.delete_route import DeleteRouteHandler
from application.commands.llm.remove_budget import RemoveBudgetHandler
from application.commands.llm.remove_limits import RemoveLimitsHandler
from application.commands.llm.set_budget import SetBudgetHandler
from application.commands.llm.set_limits import SetLimitsHandler
from application.commands.llm.test_credential import TestCredentialHandler
from application.commands.llm.update_llm_settings import UpdateLlmSettingsHandler
from application.commands.llm.update_route import UpdateRouteHandler
from application.commands.tenancy.accept_invitation import AcceptInvitationHandler
from application.commands.tenancy.change_member_role import ChangeMemberRoleHandler
from application.commands.tenancy.create_api_key import CreateApiKeyHandler
from application.commands.tenancy.create_invitation import CreateInvitationHandler
from application.commands.tenancy.create_workspace import CreateWorkspaceHandler
from application.commands.tenancy.delete_workspace import DeleteWorkspaceHandler
from application.commands.tenancy.leave_workspace import LeaveWorkspaceHandler
from application.commands.tenancy.remove_member import RemoveMemberHandler
from application.commands.tenancy.rename_workspace import RenameWorkspaceHandler
from application.commands.tenancy.revoke_api_key import RevokeApiKeyHandler
from application.commands.tenancy.revoke_invitation import RevokeInvitationHandler
from application.commands.tenancy.send_invitation_mail import SendInvitationMailHandler
from application.commands.tenancy.transfer_ownership import TransferOwnershipHandler
from application.common.api_keys import AuthenticateApiKey
from application.common.authentication import AuthenticateAccessToken
from application.common.tenancy import ResolveWorkspace
from application.queries.audit.list_audit_log import ListAuditLogHandler
from application.queries.files.downloads import (
    GetDownloadLinkHandler,
    OpenPublicFileHandler,
    OpenSignedDownloadHandler,
)
from application.queries.files.get_file import GetFileHandler, ListVersionsHandler
from application.queries.files.list_files import ListFilesHandler
from application.queries.identity.get_me import GetMeHandler
from application.queries.identity.list_sessions import ListSessionsHandler
from application.queries.llm.get_llm_settings import GetLlmSettingsHandler
from application.queries.llm.get_route import GetRouteHandler
from application.queries.llm.list_budgets import ListBudgetsHandler
from application.queries.llm.list_credentials import ListCredentialsHandler
from application.queries.llm.list_limits import ListLimitsHandler
from application.queries.llm.list_routes import ListRoutesHandler
from application.queries.llm.usage_report import GetUsageReportHandler
from application.queries.tenancy.get_workspace import GetWorkspaceHandler
from application.queries.tenancy.list_api_keys import ListApiKeysHandler
from application.queries.tenancy.list_invitations import ListInvitationsHandler
from application.queries.tenancy.list_members import ListMembersHandler
from application.queries.tenancy.list_workspaces import ListWorkspacesHandler


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
        # tenancy
        AuthenticateApiKey,
        ResolveWorkspace,
        AcceptInvitationHandler,
        ChangeMemberRoleHandler,
        CreateApiKeyHandler,
        CreateInvitationHandler,
        CreateWorkspaceHandler,
        DeleteWorkspaceHandler,
        LeaveWorkspaceHandler,
        RemoveMemberHandler,
        RenameWorkspaceHandler,
        RevokeApiKeyHandler,
        RevokeInvitationHandler,
        SendInvitationMailHandler,
        TransferOwnershipHandler,
        GetWorkspaceHandler,
        ListApiKeysHandler,
        ListInvitationsHandler,
        ListMembersHandler,
        ListWorkspacesHandler,
        ListAuditLogHandler,
        # files
        AddFileVersionHandler,
        DeleteFileHandler,
        ReleaseBlobsHandler,
        RestoreVersionHandler,
        UpdateFileHandler,
        UploadFileHandler,
        GetDownloadLinkHandler,
        OpenPublicFileHandler,
        OpenSignedDownloadHandler,
        GetFileHandler,
        ListVersionsHandler,
        ListFilesHandler,
        # llm
        CreateCredentialHandler,
        DeleteCredentialHandler,
        TestCredentialHandler,
        ListCredentialsHandler,
        CreateRouteHandler,
        UpdateRouteHandler,
        DeleteRouteHandler,
        ListRoutesHandler,
        GetUsageReportHandler,
        GetRouteHandler,
        SetBudgetHandler,
        RemoveBudgetHandler,
        SetLimitsHandler,
        RemoveLimitsHandler,
        UpdateLlmSettingsHandler,
        ListBudgetsHandler,
        ListLimitsHandler,
        GetLlmSettingsHandler,
    )
