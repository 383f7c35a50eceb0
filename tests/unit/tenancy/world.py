"""Every tenancy handler wired to the in-memory fakes.

Handlers are built the way the container builds them: each constructor
argument is resolved by its port type. ``World.execute(command)`` runs the
handler for the command as one request would: whatever it did not commit is
rolled back when it ends.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, get_type_hints

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
from application.commands.tenancy.create_workspace import (
    CreateWorkspace,
    CreateWorkspaceHandler,
)
from application.commands.tenancy.delete_workspace import (
    DeleteWorkspace,
    DeleteWorkspaceHandler,
)
from application.commands.tenancy.leave_workspace import LeaveWorkspace, LeaveWorkspaceHandler
from application.commands.tenancy.remove_member import RemoveMember, RemoveMemberHandler
from application.commands.tenancy.rename_workspace import (
    RenameWorkspace,
    RenameWorkspaceHandler,
)
from application.commands.tenancy.revoke_api_key import RevokeApiKey, RevokeApiKeyHandler
from application.commands.tenancy.revoke_invitation import (
    RevokeInvitation,
    RevokeInvitationHandler,
)
from application.commands.tenancy.send_invitation_mail import (
    SendInvitationMail,
    SendInvitationMailHandler,
)
from application.commands.tenancy.transfer_ownership import (
    TransferOwnership,
    TransferOwnershipHandler,
)
from application.common.api_keys import AuthenticateApiKey, CachedApiKeyLookup
from application.common.identity import IdentitySettings
from application.common.tenancy import ResolveWorkspace, WorkspaceActor
from application.ports.audit import AuditLog, AuditReader
from application.ports.identity import UserRepository
from application.ports.mail import Mailer
from application.ports.rate_limit import RateLimiter, UsageRecorder
from application.ports.security import SecretTokens
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import (
    AccessChanges,
    ApiKeyLookup,
    ApiKeyRepository,
    InvitationRepository,
    MembershipLookup,
    WorkspaceRepository,
)
from application.ports.tenancy_reads import ApiKeyReader, WorkspaceReader
from application.ports.transaction import TransactionManager
from application.queries.audit.list_audit_log import ListAuditLog, ListAuditLogHandler
from application.queries.tenancy.get_workspace import GetWorkspace, GetWorkspaceHandler
from application.queries.tenancy.list_api_keys import ListApiKeys, ListApiKeysHandler
from application.queries.tenancy.list_invitations import (
    ListInvitations,
    ListInvitationsHandler,
)
from application.queries.tenancy.list_members import ListMembers, ListMembersHandler
from application.queries.tenancy.list_workspaces import ListWorkspaces, ListWorkspacesHandler
from domain.audit.entry import AuditEvent
from domain.identity.api_key import ApiKey
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.identity.user import User, UserName
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Permission, Role
from domain.tenancy.workspace import Workspace, WorkspaceName
from tests.fakes.audit import InMemoryAuditLog
from tests.fakes.database import InMemoryDatabase
from tests.fakes.identity import InMemoryUsers
from tests.fakes.mail import RecordingMailer
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.tenancy import (
    InMemoryApiKeys,
    InMemoryInvitations,
    InMemoryRateLimiter,
    InMemoryTenancyReader,
    InMemoryUsageRecorder,
    InMemoryWorkspaces,
    RecordingAccessChanges,
    TenancyTables,
)
from tests.fakes.transaction import FakeUnitOfWork

H = TypeVar("H")

HANDLERS: dict[type, type] = {
    CreateWorkspace: CreateWorkspaceHandler,
    RenameWorkspace: RenameWorkspaceHandler,
    DeleteWorkspace: DeleteWorkspaceHandler,
    ChangeMemberRole: ChangeMemberRoleHandler,
    RemoveMember: RemoveMemberHandler,
    LeaveWorkspace: LeaveWorkspaceHandler,
    TransferOwnership: TransferOwnershipHandler,
    CreateInvitation: CreateInvitationHandler,
    SendInvitationMail: SendInvitationMailHandler,
    AcceptInvitation: AcceptInvitationHandler,
    RevokeInvitation: RevokeInvitationHandler,
    CreateApiKey: CreateApiKeyHandler,
    RevokeApiKey: RevokeApiKeyHandler,
    GetWorkspace: GetWorkspaceHandler,
    ListWorkspaces: ListWorkspacesHandler,
    ListMembers: ListMembersHandler,
    ListInvitations: ListInvitationsHandler,
    ListApiKeys: ListApiKeysHandler,
    ListAuditLog: ListAuditLogHandler,
}

PUBLIC_URL = "https://app.synapscale.test"


class KeySecrets(SecretTokens):
    """Secrets as long as the real ones (43 characters), each with its own
    lookup prefix; the fingerprint is SHA-256 hex like the real one."""

    def __init__(self) -> None:
        self._count = 0

    def generate(self) -> str:
        self._count += 1
        return f"{self._count:06d}" + "Q" * 37

    def fingerprint(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Team:
    """A shared workspace with one member of each role, and someone outside it."""

    workspace: WorkspaceId
    owner: UserId
    admin: UserId
    member: UserId
    viewer: UserId
    outsider: UserId

    def of(self, role: Role) -> UserId:
        return {
            Role.OWNER: self.owner,
            Role.ADMIN: self.admin,
            Role.MEMBER: self.member,
            Role.VIEWER: self.viewer,
        }[role]


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.uow = FakeUnitOfWork()
        self.database = InMemoryDatabase()
        self.tables = TenancyTables(self.database)
        self.users = InMemoryUsers(self.uow, self.database)
        self.workspaces = InMemoryWorkspaces(self.uow, self.database)
        self.invitations = InMemoryInvitations(self.uow, self.tables)
        self.keys = InMemoryApiKeys(self.uow, self.tables)
        # Keys are read through the same cache as in production: a handler that
        # forgot to announce its change would leave a stale key usable here.
        self.key_cache = CachedApiKeyLookup(self.keys, ttl=3600)
        self.access = RecordingAccessChanges(self.key_cache.forget)
        self.reader = InMemoryTenancyReader(self.tables)
        self.audit = InMemoryAuditLog(self.uow, self.ids, self.clock)
        self.limiter = InMemoryRateLimiter(self.clock)
        self.usage = InMemoryUsageRecorder()
        self.secrets = KeySecrets()
        self.mailer = RecordingMailer()
        self.settings = IdentitySettings(session_lifetime=timedelta(days=30), public_url=PUBLIC_URL)

    # -- running use cases ------------------------------------------------------------

    def _dependencies(self) -> dict[object, object]:
        return {
            UserRepository: self.users,
            WorkspaceRepository: self.workspaces,
            MembershipLookup: self.workspaces,
            InvitationRepository: self.invitations,
            ApiKeyRepository: self.keys,
            ApiKeyLookup: self.key_cache,
            AccessChanges: self.access,
            WorkspaceReader: self.reader,
            ApiKeyReader: self.reader,
            AuditLog: self.audit,
            AuditReader: self.audit,
            RateLimiter: self.limiter,
            UsageRecorder: self.usage,
            SecretTokens: self.secrets,
            Mailer: self.mailer,
            IdentitySettings: self.settings,
            IdGenerator: self.ids,
            Clock: self.clock,
            TransactionManager: self.uow,
        }

    def build(self, cls: type[H]) -> H:
        provided = self._dependencies()
        hints = get_type_hints(cls.__init__)
        hints.pop("return", None)
        missing = [f"{name}: {kind}" for name, kind in hints.items() if kind not in provided]
        if missing:
            raise TypeError(f"World has no fake for {cls.__name__}({', '.join(missing)})")
        return cls(**{name: provided[kind] for name, kind in hints.items()})

    async def execute(self, command: object) -> Any:
        """Run one use case as one request: the uncommitted part is rolled back."""
        try:
            return await self.build(HANDLERS[type(command)]).execute(command)
        finally:
            self.uow.rollback()

    async def resolve(self, user_id: UserId, workspace: WorkspaceId | None) -> WorkspaceActor:
        return await self.build(ResolveWorkspace).execute(user_id, workspace)

    def authenticator(self) -> AuthenticateApiKey:
        return self.build(AuthenticateApiKey)

    async def authenticate(self, secret: str) -> WorkspaceActor:
        return await self.authenticator().execute(secret)

    # -- givens -----------------------------------------------------------------------

    async def user(self, email: str = "ada@example.com", *, verified: bool = True) -> UserId:
        user = User.register(
            id=UserId(self.ids.new()),
            email=Email.parse(email),
            name=UserName.parse(email.split("@")[0].capitalize()),
            password_hash="hash",
            now=self.clock.now(),
        )
        if verified:
            user.verify_email(self.clock.now())
        await self.users.add(user)
        await self.commit_givens()
        return user.id

    async def workspace(
        self,
        owner: UserId,
        *,
        name: str = "Team",
        personal: bool = False,
        members: dict[UserId, Role] | None = None,
    ) -> WorkspaceId:
        workspace = Workspace.create(
            id=WorkspaceId(self.ids.new()),
            name=WorkspaceName.parse(name),
            owner=owner,
            now=self.clock.now(),
            personal=personal,
        )
        for user_id, role in (members or {}).items():
            self.clock.advance(seconds=1)
            workspace.add_member(user_id, role, self.clock.now())
        await self.workspaces.add(workspace)
        await self.commit_givens()
        return workspace.id

    async def team(self) -> Team:
        owner = await self.user("olivia@example.com")
        admin = await self.user("adam@example.com")
        member = await self.user("mia@example.com")
        viewer = await self.user("victor@example.com")
        outsider = await self.user("oscar@example.com")
        workspace = await self.workspace(
            owner, members={admin: Role.ADMIN, member: Role.MEMBER, viewer: Role.VIEWER}
        )
        return Team(workspace, owner, admin, member, viewer, outsider)

    async def actor(self, team: Team, role: Role) -> WorkspaceActor:
        return await self.resolve(team.of(role), team.workspace)

    async def invitation(
        self,
        workspace: WorkspaceId,
        invited_by: UserId,
        email: str = "ivy@example.com",
        role: Role = Role.MEMBER,
        *,
        token: str | None = None,
    ) -> Invitation:
        invitation = Invitation.create(
            id=InvitationId(self.ids.new()),
            workspace_id=workspace,
            email=Email.parse(email),
            role=role,
            invited_by=invited_by,
            now=self.clock.now(),
        )
        fingerprint = self.secrets.fingerprint(token) if token else None
        await self.invitations.add(invitation, fingerprint)
        await self.commit_givens()
        return invitation

    async def api_key(
        self,
        actor: WorkspaceActor,
        *,
        name: str = "CI",
        scopes: list[Permission] | None = None,
        expires_at: datetime | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> tuple[ApiKey, str]:
        created: tuple[ApiKey, str] = await self.execute(
            CreateApiKey(
                actor=actor,
                name=name,
                scopes=[s.value for s in scopes] if scopes is not None else None,
                expires_at=expires_at,
                rate_limit_per_minute=rate_limit_per_minute,
            )
        )
        self.settle()
        return created

    async def commit_givens(self) -> None:
        await self.uow.commit()
        self.settle()

    def settle(self) -> None:
        """The givens are in place: what happens next is what the test looks at."""
        self.uow.drain()
        self.audit_mark = len(self.audit.events)
        self.commits_before = self.uow.commits

    # -- looking at the state ---------------------------------------------------------

    audit_mark = 0
    commits_before = 0

    @property
    def new_audit_events(self) -> list[AuditEvent]:
        """Audit entries kept since the givens were last set up."""
        return self.audit.events[self.audit_mark :]

    @property
    def new_commits(self) -> int:
        return self.uow.commits - self.commits_before

    @property
    def topics(self) -> list[str]:
        """Topics of the events published since the givens were set up."""
        return self.uow.topics

    def stored(self, workspace: WorkspaceId) -> Workspace:
        return self.database.workspaces[workspace]

    def role_in(self, workspace: WorkspaceId, user_id: UserId) -> Role | None:
        membership = self.database.workspaces[workspace].members.get(user_id)
        return membership.role if membership else None

    def stored_invitation(self, invitation_id: InvitationId) -> Invitation:
        return self.tables.invitations[invitation_id].invitation

    def secrets_in_audit(self, *secrets: str) -> list[str]:
        """Audit metadata values that contain any of ``secrets``."""
        return [
            str(value)
            for event in self.audit.events
            for value in event.metadata.values()
            if any(secret in str(value) for secret in secrets)
        ]
