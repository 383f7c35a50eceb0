"""Who acts in which workspace, with which powers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from application.ports.tenancy import MembershipLookup
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole, WorkspaceNotFound
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import LOWEST_ROLE, Permission, Role, permissions_of


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceActor:
    """A user, or an API key acting for its creator, inside one workspace.

    ``permissions`` is the role's permissions, narrowed by the key's scopes.
    """

    workspace_id: WorkspaceId
    user_id: UserId
    role: Role
    permissions: frozenset[Permission]
    api_key_id: ApiKeyId | None = None

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            lowest = LOWEST_ROLE[permission]
            reason = (
                f"This API key is not scoped for {permission.value}."
                if self.api_key_id is not None and self.role.at_least(lowest)
                else f"This needs the {lowest.value} role or higher ({permission.value})."
            )
            raise InsufficientRole(reason)

    @property
    def actor_type(self) -> ActorType:
        return ActorType.API_KEY if self.api_key_id is not None else ActorType.USER

    @property
    def actor_id(self) -> UUID:
        return self.api_key_id if self.api_key_id is not None else self.user_id


class ResolveWorkspace:
    """The signed-in user's standing in the workspace they asked for (their
    personal one by default). Not a member: WorkspaceNotFound, exactly as if
    the workspace did not exist.
    """

    def __init__(self, memberships: MembershipLookup) -> None:
        self._memberships = memberships

    async def execute(self, user_id: UserId, requested: WorkspaceId | None) -> WorkspaceActor:
        workspace_id = requested or await self._memberships.personal_workspace_of(user_id)
        role = await self._memberships.role_of(workspace_id, user_id) if workspace_id else None
        if workspace_id is None or role is None:
            raise WorkspaceNotFound
        return WorkspaceActor(
            workspace_id=workspace_id, user_id=user_id, role=role, permissions=permissions_of(role)
        )


def audit_by(actor: WorkspaceActor, action: AuditAction, **fields: Any) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor_type=actor.actor_type,
        actor_id=actor.actor_id,
        workspace_id=actor.workspace_id,
        **fields,
    )
