from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceView:
    id: UUID
    name: str
    personal: bool
    role: str
    member_count: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberView:
    user_id: UUID
    email: str
    name: str
    role: str
    joined_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class InvitationView:
    id: UUID
    workspace_id: UUID
    email: str
    role: str
    invited_by: UUID
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyView:
    id: UUID
    name: str
    prefix: str
    scopes: list[str]
    created_by: UUID
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    rate_limit_per_minute: int | None


class WorkspaceReader(Protocol):
    @abstractmethod
    async def list_for_user(self, user_id: UserId) -> list[WorkspaceView]: ...

    @abstractmethod
    async def get_for_user(
        self, workspace_id: WorkspaceId, user_id: UserId
    ) -> WorkspaceView | None: ...

    @abstractmethod
    async def members(self, workspace_id: WorkspaceId) -> list[MemberView]: ...

    @abstractmethod
    async def pending_invitations(
        self, workspace_id: WorkspaceId, now: datetime
    ) -> list[InvitationView]: ...


class ApiKeyReader(Protocol):
    @abstractmethod
    async def list_active(self, workspace_id: WorkspaceId, now: datetime) -> list[ApiKeyView]: ...
