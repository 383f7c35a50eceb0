"""In-memory tenancy storage, behaving like the Postgres and Redis adapters.

Workspaces and their members live in the ``InMemoryDatabase`` the identity
fakes share (deleting a user drops their memberships there). Invitations and
API keys live beside it in ``TenancyTables``, whose rows cascade like the
foreign keys: a row whose workspace, inviter or creator is gone is gone too.
Every store is enlisted in the ``FakeUnitOfWork``, so what a request did not
commit is rolled back. Repositories store copies and hand out copies.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from application.ports.rate_limit import RateLimitDecision, RateLimiter, UsageRecorder
from application.ports.system import Clock
from application.ports.tenancy import (
    AccessChanges,
    ApiKeyLookup,
    ApiKeyRepository,
    InvitationRepository,
    MembershipLookup,
    WorkspaceRepository,
)
from application.ports.tenancy_reads import (
    ApiKeyReader,
    ApiKeyView,
    InvitationView,
    MemberView,
    WorkspaceReader,
    WorkspaceView,
)
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import ApiKey, ApiKeyId
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Role
from domain.tenancy.workspace import Workspace
from tests.fakes.database import InMemoryDatabase, copy_workspace
from tests.fakes.transaction import FakeUnitOfWork

REFUSED = "The database refused the change."


class InMemoryWorkspaces(WorkspaceRepository, MembershipLookup):
    """Like SqlWorkspaceRepository: members are written with the workspace, a
    member must be a stored user, and saving a deleted workspace removes it.
    Also the MembershipLookup (SqlMembershipLookup) over the same rows."""

    def __init__(self, uow: FakeUnitOfWork, database: InMemoryDatabase) -> None:
        self._uow = uow
        self._db = database
        uow.enlist(database)

    def _check_members(self, workspace: Workspace) -> None:
        if any(user_id not in self._db.users for user_id in workspace.members):
            raise StorageUnavailable("The database refused the change.")
        if sum(m.role is Role.OWNER for m in workspace.members.values()) > 1:
            raise StorageUnavailable("The database refused the change.")

    async def add(self, workspace: Workspace) -> None:
        if workspace.id in self._db.workspaces:
            raise StorageUnavailable("The database refused the change.")
        self._check_members(workspace)
        self._db.workspaces[workspace.id] = copy_workspace(workspace)
        self._uow.track(workspace)

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None:
        stored = self._db.workspaces.get(workspace_id)
        return copy_workspace(stored) if stored else None

    async def save(self, workspace: Workspace) -> None:
        self._uow.track(workspace)
        if workspace.deleted:
            self._db.workspaces.pop(workspace.id, None)
            return
        stored = self._db.workspaces.get(workspace.id)
        if stored is None:
            return
        self._check_members(workspace)
        stored.name = workspace.name
        stored.updated_at = workspace.updated_at
        stored.members = dict(workspace.members)

    async def owned_by(self, user_id: UserId) -> list[Workspace]:
        return [
            copy_workspace(w)
            for w in self._db.workspaces.values()
            if (m := w.members.get(user_id)) is not None and m.role is Role.OWNER
        ]

    # -- MembershipLookup -------------------------------------------------------------

    async def role_of(self, workspace_id: WorkspaceId, user_id: UserId) -> Role | None:
        workspace = self._db.workspaces.get(workspace_id)
        membership = workspace.members.get(user_id) if workspace else None
        return membership.role if membership else None

    async def personal_workspace_of(self, user_id: UserId) -> WorkspaceId | None:
        for workspace in self._db.workspaces.values():
            membership = workspace.members.get(user_id)
            if workspace.personal and membership is not None and membership.role is Role.OWNER:
                return workspace.id
        return None


# -- invitations and API keys -----------------------------------------------------------


def copy_invitation(invitation: Invitation) -> Invitation:
    return replace(invitation)  # recorded events stay behind


def copy_api_key(key: ApiKey) -> ApiKey:
    return replace(key)


@dataclass(kw_only=True)
class InvitationRow:
    invitation: Invitation
    token_hash: str | None = None


@dataclass(kw_only=True)
class ApiKeyRow:
    key: ApiKey
    last_used_at: datetime | None = None


@dataclass(frozen=True)
class _TablesSnapshot:
    invitations: dict[InvitationId, InvitationRow]
    api_keys: dict[ApiKeyId, ApiKeyRow]


class TenancyTables:
    """The ``invitations`` and ``api_keys`` tables, beside an InMemoryDatabase.

    Their foreign keys (workspace, inviter, creator) cascade: ``purge`` drops
    the rows whose parent is gone, and every read or write purges first.
    """

    def __init__(self, database: InMemoryDatabase) -> None:
        self.database = database
        self.invitations: dict[InvitationId, InvitationRow] = {}
        self.api_keys: dict[ApiKeyId, ApiKeyRow] = {}

    @staticmethod
    def _copy_invitations(
        rows: dict[InvitationId, InvitationRow],
    ) -> dict[InvitationId, InvitationRow]:
        return {
            k: InvitationRow(invitation=copy_invitation(v.invitation), token_hash=v.token_hash)
            for k, v in rows.items()
        }

    @staticmethod
    def _copy_keys(rows: dict[ApiKeyId, ApiKeyRow]) -> dict[ApiKeyId, ApiKeyRow]:
        return {
            k: ApiKeyRow(key=copy_api_key(v.key), last_used_at=v.last_used_at)
            for k, v in rows.items()
        }

    def snapshot(self) -> object:
        return _TablesSnapshot(
            self._copy_invitations(self.invitations), self._copy_keys(self.api_keys)
        )

    def restore(self, snapshot: object) -> None:
        saved = cast(_TablesSnapshot, snapshot)
        self.invitations = self._copy_invitations(saved.invitations)
        self.api_keys = self._copy_keys(saved.api_keys)

    def _parents_exist(self, workspace_id: WorkspaceId, user_id: UserId) -> bool:
        return workspace_id in self.database.workspaces and user_id in self.database.users

    def purge(self) -> None:
        self.invitations = {
            k: row
            for k, row in self.invitations.items()
            if self._parents_exist(row.invitation.workspace_id, row.invitation.invited_by)
        }
        self.api_keys = {
            k: row
            for k, row in self.api_keys.items()
            if self._parents_exist(row.key.workspace_id, row.key.created_by)
        }

    def check_parents(self, workspace_id: WorkspaceId, user_id: UserId) -> None:
        if not self._parents_exist(workspace_id, user_id):
            raise StorageUnavailable(REFUSED)

    def creator_role(self, key: ApiKey) -> Role | None:
        workspace = self.database.workspaces.get(key.workspace_id)
        membership = workspace.members.get(key.created_by) if workspace else None
        return membership.role if membership else None


class InMemoryInvitations(InvitationRepository):
    """Like SqlInvitationRepository: the token hash is unique, ``save`` writes
    only ``accepted_at`` and ``revoked_at``."""

    def __init__(self, uow: FakeUnitOfWork, tables: TenancyTables) -> None:
        self._uow = uow
        self._tables = tables
        uow.enlist(tables)

    def _token_taken(self, token_hash: str, other_than: InvitationId | None = None) -> bool:
        return any(
            row.token_hash == token_hash and row.invitation.id != other_than
            for row in self._tables.invitations.values()
        )

    async def add(self, invitation: Invitation, token_hash: str | None = None) -> None:
        self._tables.purge()
        if invitation.id in self._tables.invitations:
            raise StorageUnavailable(REFUSED)
        self._tables.check_parents(invitation.workspace_id, invitation.invited_by)
        if token_hash is not None and self._token_taken(token_hash):
            raise StorageUnavailable(REFUSED)
        self._tables.invitations[invitation.id] = InvitationRow(  # INSERT writes no ending
            invitation=replace(invitation, accepted_at=None, revoked_at=None),
            token_hash=token_hash,
        )
        self._uow.track(invitation)

    async def get(self, invitation_id: InvitationId) -> Invitation | None:
        self._tables.purge()
        row = self._tables.invitations.get(invitation_id)
        return copy_invitation(row.invitation) if row else None

    async def by_token(self, token_hash: str) -> Invitation | None:
        self._tables.purge()
        for row in self._tables.invitations.values():
            if row.token_hash is not None and row.token_hash == token_hash:
                return copy_invitation(row.invitation)
        return None

    async def set_token(self, invitation_id: InvitationId, token_hash: str) -> None:
        self._tables.purge()
        if self._token_taken(token_hash, other_than=invitation_id):
            raise StorageUnavailable(REFUSED)
        row = self._tables.invitations.get(invitation_id)
        if row is not None:
            row.token_hash = token_hash

    async def pending_for(
        self, workspace_id: WorkspaceId, email: Email, now: datetime
    ) -> Invitation | None:
        self._tables.purge()
        for row in self._tables.invitations.values():
            invitation = row.invitation
            if (
                invitation.workspace_id == workspace_id
                and invitation.email == email
                and invitation.accepted_at is None
                and invitation.revoked_at is None
                and invitation.expires_at > now
            ):
                return copy_invitation(invitation)
        return None

    async def save(self, invitation: Invitation) -> None:
        self._tables.purge()
        row = self._tables.invitations.get(invitation.id)
        if row is not None:
            row.invitation.accepted_at = invitation.accepted_at
            row.invitation.revoked_at = invitation.revoked_at
        self._uow.track(invitation)


class InMemoryApiKeys(ApiKeyRepository, ApiKeyLookup):
    """Like SqlApiKeyRepository and SqlApiKeyLookup: the secret hash is unique,
    ``save`` writes only ``revoked_at``, and a lookup by prefix gives each key
    with its creator's current role in the key's workspace (None once they left)."""

    def __init__(self, uow: FakeUnitOfWork, tables: TenancyTables) -> None:
        self._uow = uow
        self._tables = tables
        uow.enlist(tables)

    async def add(self, key: ApiKey) -> None:
        self._tables.purge()
        if key.id in self._tables.api_keys or any(
            row.key.secret_hash == key.secret_hash for row in self._tables.api_keys.values()
        ):
            raise StorageUnavailable(REFUSED)
        self._tables.check_parents(key.workspace_id, key.created_by)
        self._tables.api_keys[key.id] = ApiKeyRow(key=replace(key, revoked_at=None))  # as INSERT

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        self._tables.purge()
        row = self._tables.api_keys.get(key_id)
        return copy_api_key(row.key) if row else None

    async def save(self, key: ApiKey) -> None:
        self._tables.purge()
        row = self._tables.api_keys.get(key.id)
        if row is not None:
            row.key.revoked_at = key.revoked_at

    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        self._tables.purge()
        return [
            (copy_api_key(row.key), self._tables.creator_role(row.key))
            for row in self._tables.api_keys.values()
            if row.key.prefix == prefix
        ]


class InMemoryTenancyReader(WorkspaceReader, ApiKeyReader):
    """Reads the same rows the repositories write, straight into views, in the
    orders SqlTenancyReader gives."""

    def __init__(self, tables: TenancyTables) -> None:
        self._tables = tables
        self._db = tables.database

    def _view(self, workspace: Workspace, user_id: UserId) -> WorkspaceView | None:
        membership = workspace.members.get(user_id)
        if membership is None:
            return None
        return WorkspaceView(
            id=workspace.id,
            name=workspace.name.value,
            personal=workspace.personal,
            role=membership.role.value,
            member_count=len(workspace.members),
            created_at=workspace.created_at,
            updated_at=workspace.updated_at,
        )

    async def list_for_user(self, user_id: UserId) -> list[WorkspaceView]:
        ordered = sorted(self._db.workspaces.values(), key=lambda w: (not w.personal, w.id))
        return [v for w in ordered if (v := self._view(w, user_id)) is not None]

    async def get_for_user(
        self, workspace_id: WorkspaceId, user_id: UserId
    ) -> WorkspaceView | None:
        workspace = self._db.workspaces.get(workspace_id)
        return self._view(workspace, user_id) if workspace else None

    async def members(self, workspace_id: WorkspaceId) -> list[MemberView]:
        workspace = self._db.workspaces.get(workspace_id)
        if workspace is None:
            return []
        ordered = sorted(workspace.members.values(), key=lambda m: (m.joined_at, m.user_id))
        return [
            MemberView(
                user_id=m.user_id,
                email=self._db.users[m.user_id].email.value,
                name=self._db.users[m.user_id].name.value,
                role=m.role.value,
                joined_at=m.joined_at,
            )
            for m in ordered
            if m.user_id in self._db.users
        ]

    async def pending_invitations(
        self, workspace_id: WorkspaceId, now: datetime
    ) -> list[InvitationView]:
        self._tables.purge()
        pending = [
            row.invitation
            for row in self._tables.invitations.values()
            if row.invitation.workspace_id == workspace_id and row.invitation.is_pending(now)
        ]
        pending.sort(key=lambda i: i.id, reverse=True)
        return [
            InvitationView(
                id=i.id,
                workspace_id=i.workspace_id,
                email=i.email.value,
                role=i.role.value,
                invited_by=i.invited_by,
                created_at=i.created_at,
                expires_at=i.expires_at,
            )
            for i in pending
        ]

    async def list_active(self, workspace_id: WorkspaceId, now: datetime) -> list[ApiKeyView]:
        # Like the SQL one: not revoked (an expired key is still listed).
        self._tables.purge()
        rows = [
            row
            for row in self._tables.api_keys.values()
            if row.key.workspace_id == workspace_id and row.key.revoked_at is None
        ]
        rows.sort(key=lambda row: row.key.id, reverse=True)
        return [
            ApiKeyView(
                id=row.key.id,
                name=row.key.name,
                prefix=row.key.prefix,
                scopes=sorted(s.value for s in row.key.scopes),
                created_by=row.key.created_by,
                created_at=row.key.created_at,
                last_used_at=row.last_used_at,
                expires_at=row.key.expires_at,
                rate_limit_per_minute=row.key.rate_limit_per_minute,
            )
            for row in rows
        ]


# -- rate limits and usage --------------------------------------------------------------


class InMemoryRateLimiter(RateLimiter):
    """The sliding-window log of RedisRateLimiter, over a FakeClock, to the
    millisecond: a hit is counted when fewer than ``limit`` hits are younger
    than the window. With ``available=False`` it fails closed, like a limiter
    whose Redis is down."""

    def __init__(self, clock: Clock, *, available: bool = True) -> None:
        self._clock = clock
        self.available = available
        self._log: dict[str, list[int]] = defaultdict(list)
        self.hits: list[str] = []

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateLimitDecision:
        if not self.available:
            raise StorageUnavailable("The rate limiter is unavailable; try again.")
        self.hits.append(key)
        now = int(self._clock.now().timestamp() * 1000)
        window = window_seconds * 1000
        log = [t for t in self._log[key] if t > now - window]
        allowed = len(log) < limit
        if allowed:
            log.append(now)
        self._log[key] = log
        reset = log[0] + window - now if log else window
        return RateLimitDecision(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - len(log)),
            reset_after=max(0.0, reset / 1000),
        )


class InMemoryUsageRecorder(UsageRecorder):
    """Like RedisUsageRecorder: the last noted use of each key (a later note
    replaces an earlier one, as HSET does), until ``take_all`` takes them."""

    def __init__(self) -> None:
        self._noted: dict[ApiKeyId, datetime] = {}

    async def api_key_used(self, key_id: ApiKeyId, at: datetime) -> None:
        self._noted[key_id] = at

    async def pending_last_used(self, key_ids: list[ApiKeyId]) -> dict[ApiKeyId, datetime]:
        return {key: self._noted[key] for key in key_ids if key in self._noted}

    async def take_all(self) -> dict[ApiKeyId, datetime]:
        taken, self._noted = self._noted, {}
        return taken

    def flush_into(self, tables: TenancyTables, taken: dict[ApiKeyId, datetime]) -> int:
        """What flush_key_usage does to the rows: ``last_used_at`` never moves back."""
        written = 0
        for key_id, used_at in taken.items():
            row = tables.api_keys.get(key_id)
            if row is None:
                continue
            row.last_used_at = max(row.last_used_at or used_at, used_at)
            written += 1
        return written


class RecordingAccessChanges(AccessChanges):
    """What RedisAccessChanges would announce, in order; ``forget`` (a key
    cache's) is called at once, as the Redis adapter does for its own process."""

    def __init__(self, forget: Callable[[WorkspaceId | None], None] | None = None) -> None:
        self.announced: list[WorkspaceId | None] = []
        self._forget = forget

    async def changed(self, workspace_id: WorkspaceId | None) -> None:
        self.announced.append(workspace_id)
        if self._forget is not None:
            self._forget(workspace_id)
