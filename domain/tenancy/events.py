from __future__ import annotations

from dataclasses import dataclass

from domain.common.events import DomainEvent
from domain.identity.ids import UserId
from domain.tenancy.ids import InvitationId, WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceCreated(DomainEvent):
    topic = "tenancy.workspace_created"
    workspace_id: WorkspaceId
    owner_id: UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceDeleted(DomainEvent):
    topic = "tenancy.workspace_deleted"
    workspace_id: WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationCreated(DomainEvent):
    """An invitation mail is owed; the token is minted when it is sent."""

    topic = "tenancy.invitation_created"
    workspace_id: WorkspaceId
    invitation_id: InvitationId
