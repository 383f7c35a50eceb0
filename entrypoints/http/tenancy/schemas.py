from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from application.ports.audit import AuditEntryView
from application.ports.tenancy_reads import ApiKeyView, InvitationView, MemberView, WorkspaceView

Name = Annotated[str, msgspec.Meta(max_length=400, examples=["Research"])]
RoleName = Annotated[str, msgspec.Meta(max_length=32, examples=["member"])]
Email = Annotated[str, msgspec.Meta(max_length=320)]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class WorkspaceIn(Body, kw_only=True):
    name: Name


class WorkspacePatch(Body, kw_only=True, omit_defaults=True):
    name: Name | msgspec.UnsetType = msgspec.UNSET


class RoleIn(Body, kw_only=True):
    role: RoleName


class UserRef(Body, kw_only=True):
    user_id: UUID


class InvitationIn(Body, kw_only=True):
    email: Email
    role: RoleName = "member"


class AcceptIn(Body, kw_only=True):
    token: Annotated[str, msgspec.Meta(max_length=512)] | None = None


class ApiKeyIn(Body, kw_only=True):
    name: Name
    scopes: (
        Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]], msgspec.Meta(max_length=64)]
        | None
    ) = None
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None


class WorkspaceOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    personal: bool
    role: str
    member_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: WorkspaceView) -> WorkspaceOut:
        return cls(**_fields(v))


class MemberOut(msgspec.Struct, kw_only=True):
    user_id: UUID
    email: str
    name: str
    role: str
    joined_at: datetime

    @classmethod
    def of(cls, v: MemberView) -> MemberOut:
        return cls(**_fields(v))


class MembershipOut(msgspec.Struct, kw_only=True):
    workspace_id: UUID
    workspace_name: str
    user_id: UUID
    role: str
    joined_at: datetime


class InvitationOut(msgspec.Struct, kw_only=True):
    id: UUID
    workspace_id: UUID
    email: str
    role: str
    invited_by: UUID
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, v: InvitationView) -> InvitationOut:
        return cls(**_fields(v))


class ApiKeyOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    rate_limit_per_minute: int | None

    @classmethod
    def of(cls, v: ApiKeyView) -> ApiKeyOut:
        return cls(**_fields(v))


class CreatedApiKeyOut(ApiKeyOut, kw_only=True):
    secret: str  # shown exactly once


class AuditEntryOut(msgspec.Struct, kw_only=True):
    id: UUID
    occurred_at: datetime
    workspace_id: UUID | None
    actor_type: str
    actor_id: UUID | None
    action: str
    target_type: str | None
    target_id: UUID | None
    client_address: str | None
    user_agent: str | None
    request_id: str | None
    metadata: dict[str, Any]

    @classmethod
    def of(cls, v: AuditEntryView) -> AuditEntryOut:
        return cls(**_fields(v))


class AuditPageOut(msgspec.Struct, kw_only=True):
    items: list[AuditEntryOut]
    next_cursor: str | None


def _fields(view: Any) -> dict[str, Any]:
    return {name: getattr(view, name) for name in view.__dataclass_fields__}
