from domain.common.errors import Conflict, Forbidden, InvalidInput, NotFound


class WorkspaceNotFound(NotFound):
    """Also the answer for a workspace the caller does not belong to."""

    code = "workspace_not_found"


class MemberNotFound(NotFound):
    code = "member_not_found"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"


class InsufficientRole(Forbidden):
    code = "insufficient_role"


class OwnerProtected(Forbidden):
    code = "owner_protected"

    @classmethod
    def default_detail(cls) -> str:
        return "The owner's role cannot be changed or removed; transfer ownership first."


class RoleAboveYourOwn(Forbidden):
    code = "role_above_your_own"

    @classmethod
    def default_detail(cls) -> str:
        return "You cannot grant or manage a role above your own."


class OwnerCannotLeave(Conflict):
    code = "owner_cannot_leave"

    @classmethod
    def default_detail(cls) -> str:
        return "The owner cannot leave; transfer ownership first."


class PersonalWorkspace(Conflict):
    code = "personal_workspace"

    @classmethod
    def default_detail(cls) -> str:
        return "A personal workspace cannot be deleted or left."


class AlreadyMember(Conflict):
    code = "already_member"

    @classmethod
    def default_detail(cls) -> str:
        return "This person is already a member of the workspace."


class InvalidWorkspaceName(InvalidInput):
    code = "invalid_workspace_name"


class InvalidRole(InvalidInput):
    code = "invalid_role"


class InvitationEmailMismatch(Forbidden):
    code = "invitation_email_mismatch"

    @classmethod
    def default_detail(cls) -> str:
        return "This invitation was sent to another email address."


class EmailNotVerified(Forbidden):
    code = "email_not_verified"

    @classmethod
    def default_detail(cls) -> str:
        return "Verify your email address first."


class OwnsSharedWorkspaces(Conflict):
    code = "owns_shared_workspaces"
