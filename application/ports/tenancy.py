from abc import abstractmethod
from datetime import datetime
from typing import Protocol

from domain.identity.api_key import ApiKey, ApiKeyId
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Role
from domain.tenancy.workspace import Workspace


class WorkspaceRepository(Protocol):
    @abstractmethod
    async def add(self, workspace: Workspace) -> None: ...

    @abstractmethod
    async def get(self, workspace_id: WorkspaceId) -> Workspace | None:
        """The workspace with all its members, locked for the rest of the transaction."""

    @abstractmethod
    async def save(self, workspace: Workspace) -> None:
        """Write name and memberships; deletes the workspace when it was deleted."""

    @abstractmethod
    async def owned_by(self, user_id: UserId) -> list[Workspace]: ...


class MembershipLookup(Protocol):
    """The one question every workspace-scoped request asks first."""

    @abstractmethod
    async def role_of(self, workspace_id: WorkspaceId, user_id: UserId) -> Role | None: ...

    @abstractmethod
    async def personal_workspace_of(self, user_id: UserId) -> WorkspaceId | None: ...


class InvitationRepository(Protocol):
    @abstractmethod
    async def add(self, invitation: Invitation, token_hash: str | None = None) -> None: ...

    @abstractmethod
    async def get(self, invitation_id: InvitationId) -> Invitation | None: ...

    @abstractmethod
    async def by_token(self, token_hash: str) -> Invitation | None: ...

    @abstractmethod
    async def set_token(self, invitation_id: InvitationId, token_hash: str) -> None: ...

    @abstractmethod
    async def pending_for(
        self, workspace_id: WorkspaceId, email: Email, now: datetime
    ) -> Invitation | None: ...

    @abstractmethod
    async def save(self, invitation: Invitation) -> None: ...


class ApiKeyRepository(Protocol):
    @abstractmethod
    async def add(self, key: ApiKey) -> None: ...

    @abstractmethod
    async def get(self, key_id: ApiKeyId) -> ApiKey | None: ...

    @abstractmethod
    async def save(self, key: ApiKey) -> None: ...


class ApiKeyLookup(Protocol):
    @abstractmethod
    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        """Keys with this lookup prefix, each with its creator's current role in its workspace."""


class AccessChanges(Protocol):
    """Who may act in a workspace changed: a key revoked, a member's role
    changed, a member gone or back, a workspace deleted. Handlers announce it
    after their commit, so caches of keys on every replica drop what they hold."""

    @abstractmethod
    async def changed(self, workspace_id: WorkspaceId | None) -> None:
        """``None``: anywhere (a deleted account was a member of many)."""
