from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from application.commands.tenancy.accept_invitation import (
    AcceptInvitation,
    AcceptInvitationHandler,
)
from application.commands.tenancy.change_member_role import (
    ChangeMemberRole,
    ChangeMemberRoleHandler,
)
from application.commands.tenancy.create_api_key import CreateApiKey, CreateApiKeyHandler
from application.commands.tenancy.create_invitation import (
    CreateInvitation,
    CreateInvitationHandler,
)
from application.commands.tenancy.create_workspace import CreateWorkspace, CreateWorkspaceHandler
from application.commands.tenancy.delete_workspace import DeleteWorkspace, DeleteWorkspaceHandler
from application.commands.tenancy.leave_workspace import LeaveWorkspace, LeaveWorkspaceHandler
from application.commands.tenancy.remove_member import RemoveMember, RemoveMemberHandler
from application.commands.tenancy.rename_workspace import RenameWorkspace, RenameWorkspaceHandler
from application.commands.tenancy.revoke_api_key import RevokeApiKey, RevokeApiKeyHandler
from application.commands.tenancy.revoke_invitation import (
    RevokeInvitation,
    RevokeInvitationHandler,
)
from application.commands.tenancy.transfer_ownership import (
    TransferOwnership,
    TransferOwnershipHandler,
)
from application.common.authentication import AuthenticatedUser
from application.common.tenancy import WorkspaceActor
from application.queries.audit.list_audit_log import ListAuditLog, ListAuditLogHandler
from application.queries.tenancy.get_workspace import GetWorkspace, GetWorkspaceHandler
from application.queries.tenancy.list_api_keys import ListApiKeys, ListApiKeysHandler
from application.queries.tenancy.list_invitations import ListInvitations, ListInvitationsHandler
from application.queries.tenancy.list_members import ListMembers, ListMembersHandler
from application.queries.tenancy.list_workspaces import ListWorkspaces, ListWorkspacesHandler
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.tenancy.ids import InvitationId
from domain.tenancy.roles import Permission
from entrypoints.http.tenancy.schemas import (
    AcceptIn,
    ApiKeyIn,
    ApiKeyOut,
    AuditEntryOut,
    AuditPageOut,
    CreatedApiKeyOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    MembershipOut,
    RoleIn,
    UserRef,
    WorkspaceIn,
    WorkspaceOut,
    WorkspacePatch,
)

AUTHENTICATED = {"security": "authenticated"}


def needs(permission: Permission | None) -> dict[str, str]:
    """Route classification: a workspace-scoped route and what it needs."""
    return {"security": "workspace", "permission": permission.value if permission else ""}


class WorkspaceController(Controller):
    path = "/api/v1/workspaces"
    tags = ["workspaces"]

    @post("/", opt=AUTHENTICATED)
    async def create(
        self,
        data: JSONBody[WorkspaceIn],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[CreateWorkspaceHandler],
        read: FromDishka[ListWorkspacesHandler],
    ) -> WorkspaceOut:
        workspace_id = await handler.execute(CreateWorkspace(user_id=user.user_id, name=data.name))
        views = await read.execute(ListWorkspaces(user_id=user.user_id))
        return WorkspaceOut.of(next(v for v in views if v.id == workspace_id))

    @get("/", opt=AUTHENTICATED)
    async def list_mine(
        self, user: FromDishka[AuthenticatedUser], handler: FromDishka[ListWorkspacesHandler]
    ) -> list[WorkspaceOut]:
        return [
            WorkspaceOut.of(v) for v in await handler.execute(ListWorkspaces(user_id=user.user_id))
        ]

    @get("/{workspace_id:uuid}", opt=needs(Permission.WORKSPACE_READ))
    async def show(
        self,
        workspace_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[GetWorkspaceHandler],
    ) -> WorkspaceOut:
        return WorkspaceOut.of(await handler.execute(GetWorkspace(actor=actor)))

    @patch("/{workspace_id:uuid}", opt=needs(Permission.WORKSPACE_RENAME))
    async def rename(
        self,
        workspace_id: FromPath[UUID],
        data: JSONBody[WorkspacePatch],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RenameWorkspaceHandler],
        read: FromDishka[GetWorkspaceHandler],
    ) -> WorkspaceOut:
        if isinstance(data.name, str):
            await handler.execute(RenameWorkspace(actor=actor, name=data.name))
        return WorkspaceOut.of(await read.execute(GetWorkspace(actor=actor)))

    @delete("/{workspace_id:uuid}", opt=needs(Permission.WORKSPACE_DELETE))
    async def remove(
        self,
        workspace_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[DeleteWorkspaceHandler],
    ) -> None:
        await handler.execute(DeleteWorkspace(actor=actor))

    @get("/{workspace_id:uuid}/members", opt=needs(Permission.MEMBERS_READ))
    async def members(
        self,
        workspace_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ListMembersHandler],
    ) -> list[MemberOut]:
        return [MemberOut.of(v) for v in await handler.execute(ListMembers(actor=actor))]

    @patch("/{workspace_id:uuid}/members/{user_id:uuid}", opt=needs(Permission.MEMBERS_MANAGE))
    async def change_role(
        self,
        workspace_id: FromPath[UUID],
        user_id: FromPath[UUID],
        data: JSONBody[RoleIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ChangeMemberRoleHandler],
        read: FromDishka[ListMembersHandler],
    ) -> MemberOut:
        await handler.execute(
            ChangeMemberRole(actor=actor, user_id=UserId(user_id), role=data.role)
        )
        members = await read.execute(ListMembers(actor=actor))
        return MemberOut.of(next(m for m in members if m.user_id == user_id))

    @delete("/{workspace_id:uuid}/members/{user_id:uuid}", opt=needs(Permission.MEMBERS_MANAGE))
    async def remove_member(
        self,
        workspace_id: FromPath[UUID],
        user_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RemoveMemberHandler],
    ) -> None:
        await handler.execute(RemoveMember(actor=actor, user_id=UserId(user_id)))

    @post(
        "/{workspace_id:uuid}/leave",
        status_code=HTTP_204_NO_CONTENT,
        opt=needs(Permission.WORKSPACE_READ),
    )
    async def leave(
        self,
        workspace_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[LeaveWorkspaceHandler],
    ) -> None:
        await handler.execute(LeaveWorkspace(actor=actor))

    @post(
        "/{workspace_id:uuid}/transfer-ownership",
        status_code=HTTP_204_NO_CONTENT,
        opt=needs(Permission.OWNERSHIP_TRANSFER),
    )
    async def transfer(
        self,
        workspace_id: FromPath[UUID],
        data: JSONBody[UserRef],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[TransferOwnershipHandler],
    ) -> None:
        await handler.execute(TransferOwnership(actor=actor, user_id=UserId(data.user_id)))

    @post("/{workspace_id:uuid}/invitations", opt=needs(Permission.INVITATIONS_MANAGE))
    async def invite(
        self,
        workspace_id: FromPath[UUID],
        data: JSONBody[InvitationIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[CreateInvitationHandler],
    ) -> InvitationOut:
        invitation = await handler.execute(
            CreateInvitation(actor=actor, email=data.email, role=data.role)
        )
        return InvitationOut(
            id=invitation.id,
            workspace_id=invitation.workspace_id,
            email=invitation.email.value,
            role=invitation.role.value,
            invited_by=invitation.invited_by,
            created_at=invitation.created_at,
            expires_at=invitation.expires_at,
        )

    @get("/{workspace_id:uuid}/invitations", opt=needs(Permission.INVITATIONS_MANAGE))
    async def invitations(
        self,
        workspace_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ListInvitationsHandler],
    ) -> list[InvitationOut]:
        return [InvitationOut.of(v) for v in await handler.execute(ListInvitations(actor=actor))]

    @delete(
        "/{workspace_id:uuid}/invitations/{invitation_id:uuid}",
        opt=needs(Permission.INVITATIONS_MANAGE),
    )
    async def revoke_invitation(
        self,
        workspace_id: FromPath[UUID],
        invitation_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RevokeInvitationHandler],
    ) -> None:
        await handler.execute(
            RevokeInvitation(actor=actor, invitation_id=InvitationId(invitation_id))
        )


class InvitationController(Controller):
    path = "/api/v1/invitations"
    tags = ["workspaces"]

    @post("/accept", status_code=HTTP_200_OK, opt=AUTHENTICATED)
    async def accept(
        self,
        data: JSONBody[AcceptIn],
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[AcceptInvitationHandler],
    ) -> MembershipOut:
        joined = await handler.execute(AcceptInvitation(user_id=user.user_id, token=data.token))
        return MembershipOut(
            workspace_id=joined.workspace_id,
            workspace_name=joined.workspace_name,
            user_id=joined.membership.user_id,
            role=joined.membership.role.value,
            joined_at=joined.membership.joined_at,
        )


class ApiKeyController(Controller):
    path = "/api/v1/api-keys"
    tags = ["api keys"]

    @post("/", opt=needs(Permission.API_KEYS_MANAGE))
    async def create(
        self,
        data: JSONBody[ApiKeyIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[CreateApiKeyHandler],
    ) -> CreatedApiKeyOut:
        key, secret = await handler.execute(
            CreateApiKey(
                actor=actor,
                name=data.name,
                scopes=data.scopes,
                expires_at=data.expires_at,
                rate_limit_per_minute=data.rate_limit_per_minute,
            )
        )
        return CreatedApiKeyOut(
            id=key.id,
            name=key.name,
            prefix=key.prefix,
            scopes=sorted(s.value for s in key.scopes),
            created_by=key.created_by,
            created_at=key.created_at,
            last_used_at=None,
            expires_at=key.expires_at,
            rate_limit_per_minute=key.rate_limit_per_minute,
            secret=secret,
        )

    @get("/", opt=needs(Permission.API_KEYS_MANAGE))
    async def list_keys(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[ListApiKeysHandler]
    ) -> list[ApiKeyOut]:
        return [ApiKeyOut.of(v) for v in await handler.execute(ListApiKeys(actor=actor))]

    @delete("/{key_id:uuid}", opt=needs(Permission.API_KEYS_MANAGE))
    async def revoke(
        self,
        key_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RevokeApiKeyHandler],
    ) -> None:
        await handler.execute(RevokeApiKey(actor=actor, key_id=ApiKeyId(key_id)))


Cursor = Annotated[str | None, Parameter(query="cursor", max_length=64)]
Limit = Annotated[int | None, Parameter(query="limit", ge=1, le=200)]
Since = Annotated[datetime | None, Parameter(query="from")]
Until = Annotated[datetime | None, Parameter(query="to")]
Action = Annotated[str | None, Parameter(query="action", max_length=64)]
Actor = Annotated[UUID | None, Parameter(query="actor")]


class AuditController(Controller):
    tags = ["audit"]

    @get("/api/v1/audit-log", opt=needs(Permission.AUDIT_READ))
    async def workspace_log(
        self,
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[ListAuditLogHandler],
        cursor: Cursor = None,
        limit: Limit = None,
        since: Since = None,
        until: Until = None,
        action: Action = None,
        actor_id: Actor = None,
    ) -> AuditPageOut:
        page = await handler.execute(
            ListAuditLog(
                actor=actor,
                action=action,
                actor_id=actor_id,
                since=since,
                until=until,
                cursor=cursor,
                limit=limit,
            )
        )
        return AuditPageOut(
            items=[AuditEntryOut.of(v) for v in page.items], next_cursor=page.next_cursor
        )

    @get("/api/v1/auth/audit-log", opt=AUTHENTICATED)
    async def my_log(
        self,
        user: FromDishka[AuthenticatedUser],
        handler: FromDishka[ListAuditLogHandler],
        cursor: Cursor = None,
        limit: Limit = None,
        since: Since = None,
        until: Until = None,
        action: Action = None,
    ) -> AuditPageOut:
        page = await handler.execute(
            ListAuditLog(
                user_id=user.user_id,
                action=action,
                since=since,
                until=until,
                cursor=cursor,
                limit=limit,
            )
        )
        return AuditPageOut(
            items=[AuditEntryOut.of(v) for v in page.items], next_cursor=page.next_cursor
        )
