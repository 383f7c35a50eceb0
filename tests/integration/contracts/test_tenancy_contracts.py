"""The tenancy ports: the in-memory fakes and the real adapters pass the same cases.

Each fixture is parametrised over the fake (``in_memory``) and the real adapter
(``postgres`` / ``redis``); a ``unit()`` is one request's repositories over
one transaction, rolled back when left without a commit. The cases that only
the real storage can show (a raw second owner row, the batched flush of key
usage) ask for the servers themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.audit import RequestOrigin, SqlAuditLog, SqlAuditReader
from adapters.postgres.errors import constraint_name
from adapters.postgres.identity import SqlUserRepository
from adapters.postgres.maintenance import flush_key_usage
from adapters.postgres.tables import api_keys, memberships, outbox
from adapters.postgres.tenancy import (
    SqlApiKeyLookup,
    SqlApiKeyRepository,
    SqlInvitationRepository,
    SqlMembershipLookup,
    SqlTenancyReader,
    SqlWorkspaceRepository,
)
from adapters.postgres.unit_of_work import SqlUnitOfWork
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.usage import RedisUsageRecorder
from application.ports.audit import AuditFilter, AuditLog, AuditReader
from application.ports.identity import UserRepository
from application.ports.rate_limit import RateLimiter
from application.ports.tenancy import (
    ApiKeyLookup,
    ApiKeyRepository,
    InvitationRepository,
    MembershipLookup,
    WorkspaceRepository,
)
from application.ports.tenancy_reads import ApiKeyReader, WorkspaceReader
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import ApiKey, ApiKeyId
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.identity.user import User, UserName
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import KEY_SCOPES, Permission, Role
from domain.tenancy.workspace import Workspace, WorkspaceName
from tests.fakes.audit import InMemoryAuditLog
from tests.fakes.database import InMemoryDatabase
from tests.fakes.identity import InMemoryUsers
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.tenancy import (
    InMemoryApiKeys,
    InMemoryInvitations,
    InMemoryRateLimiter,
    InMemoryTenancyReader,
    InMemoryUsageRecorder,
    InMemoryWorkspaces,
    TenancyTables,
)
from tests.fakes.transaction import FakeUnitOfWork

pytestmark = pytest.mark.integration


class TenancyReader(WorkspaceReader, ApiKeyReader, Protocol):
    """Both tenancy read ports, which both readers implement together."""


@dataclass
class Unit:
    """One request's worth of tenancy storage over one transaction."""

    users: UserRepository
    workspaces: WorkspaceRepository
    memberships: MembershipLookup
    invitations: InvitationRepository
    keys: ApiKeyRepository
    key_lookup: ApiKeyLookup
    audit: AuditLog
    tx: TransactionManager


class Backend(Protocol):
    clock: FakeClock
    ids: SequentialIds

    def unit(self) -> AbstractAsyncContextManager[Unit]: ...

    def audit_reader(self) -> AbstractAsyncContextManager[AuditReader]:
        """Reads what was committed, over a connection of its own."""

    def reader(self) -> AbstractAsyncContextManager[TenancyReader]: ...

    async def published_topics(self) -> list[str]: ...


class InMemoryBackend:
    def __init__(self, clock: FakeClock, ids: SequentialIds) -> None:
        self.clock = clock
        self.ids = ids
        self.database = InMemoryDatabase()
        self.tables = TenancyTables(self.database)
        self._audit = InMemoryAuditLog(FakeUnitOfWork(), ids, clock)
        self._topics: list[str] = []

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        uow = FakeUnitOfWork()
        workspaces = InMemoryWorkspaces(uow, self.database)
        keys = InMemoryApiKeys(uow, self.tables)
        uow.enlist(self._audit)
        try:
            yield Unit(
                users=InMemoryUsers(uow, self.database),
                workspaces=workspaces,
                memberships=workspaces,
                invitations=InMemoryInvitations(uow, self.tables),
                keys=keys,
                key_lookup=keys,
                audit=self._audit,
                tx=uow,
            )
        finally:
            uow.rollback()
            self._topics.extend(uow.topics)

    @asynccontextmanager
    async def audit_reader(self) -> AsyncIterator[AuditReader]:
        yield self._audit

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[TenancyReader]:
        yield InMemoryTenancyReader(self.tables)

    async def published_topics(self) -> list[str]:
        return list(self._topics)


class PostgresBackend:
    def __init__(self, engine: AsyncEngine, clock: FakeClock, ids: SequentialIds) -> None:
        self.engine = engine
        self.clock = clock
        self.ids = ids

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self.engine.connect() as connection:
            uow = SqlUnitOfWork(connection, self.ids, self.clock)
            keys = SqlApiKeyRepository(uow)
            yield Unit(
                users=SqlUserRepository(uow),
                workspaces=SqlWorkspaceRepository(uow),
                memberships=SqlMembershipLookup(connection),
                invitations=SqlInvitationRepository(uow),
                keys=keys,
                key_lookup=SqlApiKeyLookup(connection),
                audit=SqlAuditLog(uow, self.engine, RequestOrigin(), self.ids, self.clock),
                tx=uow,
            )

    @asynccontextmanager
    async def audit_reader(self) -> AsyncIterator[AuditReader]:
        async with self.engine.connect() as connection:
            yield SqlAuditReader(connection)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[TenancyReader]:
        async with self.engine.connect() as connection:
            yield SqlTenancyReader(connection)

    async def published_topics(self) -> list[str]:
        async with self.engine.connect() as connection:
            result = await connection.execute(select(outbox.c.topic).order_by(outbox.c.id))
            return [str(topic) for topic in result.scalars()]


@pytest.fixture(params=["in_memory", "postgres"])
def tenancy(
    request: pytest.FixtureRequest, clock: FakeClock, ids: SequentialIds
) -> Iterator[Backend]:
    if request.param == "in_memory":
        yield InMemoryBackend(clock, ids)
    else:
        engine: AsyncEngine = request.getfixturevalue("engine")
        request.getfixturevalue("clean")
        yield PostgresBackend(engine, clock, ids)


# -- givens ----------------------------------------------------------------------------


async def a_user(backend: Backend, email: str) -> UserId:
    user = User.register(
        id=UserId(backend.ids.new()),
        email=Email.parse(email),
        name=UserName.parse(email.split("@")[0].capitalize()),
        password_hash="hash",
        now=backend.clock.now(),
    )
    async with backend.unit() as unit:
        await unit.users.add(user)
        await unit.tx.commit()
    return user.id


def new_workspace(
    backend: Backend,
    owner: UserId,
    *,
    name: str = "Team",
    personal: bool = False,
    members: dict[UserId, Role] | None = None,
) -> Workspace:
    workspace = Workspace.create(
        id=WorkspaceId(backend.ids.new()),
        name=WorkspaceName.parse(name),
        owner=owner,
        now=backend.clock.now(),
        personal=personal,
    )
    for user_id, role in (members or {}).items():
        backend.clock.advance(seconds=1)
        workspace.add_member(user_id, role, backend.clock.now())
    return workspace


async def a_workspace(
    backend: Backend,
    owner: UserId,
    *,
    name: str = "Team",
    personal: bool = False,
    members: dict[UserId, Role] | None = None,
) -> Workspace:
    workspace = new_workspace(backend, owner, name=name, personal=personal, members=members)
    async with backend.unit() as unit:
        await unit.workspaces.add(workspace)
        await unit.tx.commit()
    return workspace


@dataclass(frozen=True)
class Team:
    workspace: WorkspaceId
    owner: UserId
    admin: UserId
    viewer: UserId
    outsider: UserId


async def a_team(backend: Backend) -> Team:
    owner = await a_user(backend, "olivia@example.com")
    admin = await a_user(backend, "adam@example.com")
    viewer = await a_user(backend, "victor@example.com")
    outsider = await a_user(backend, "oscar@example.com")
    workspace = await a_workspace(backend, owner, members={admin: Role.ADMIN, viewer: Role.VIEWER})
    return Team(workspace.id, owner, admin, viewer, outsider)


def new_invitation(
    backend: Backend,
    workspace: WorkspaceId,
    invited_by: UserId,
    email: str = "ivy@example.com",
    role: Role = Role.MEMBER,
) -> Invitation:
    return Invitation.create(
        id=InvitationId(backend.ids.new()),
        workspace_id=workspace,
        email=Email.parse(email),
        role=role,
        invited_by=invited_by,
        now=backend.clock.now(),
    )


async def an_invitation(
    backend: Backend, invitation: Invitation, token_hash: str | None = None
) -> Invitation:
    async with backend.unit() as unit:
        await unit.invitations.add(invitation, token_hash)
        await unit.tx.commit()
    return invitation


def new_key(
    backend: Backend,
    workspace: WorkspaceId,
    created_by: UserId,
    *,
    prefix: str | None = None,
    scopes: frozenset[Permission] = KEY_SCOPES,
) -> ApiKey:
    key_id = ApiKeyId(backend.ids.new())
    return ApiKey(
        id=key_id,
        workspace_id=workspace,
        name=f"key {key_id.hex[-4:]}",
        prefix=prefix or f"sk-ss-{key_id.hex[-6:]}",
        secret_hash=f"hash-of-{key_id}",
        scopes=scopes,
        created_by=created_by,
        created_at=backend.clock.now(),
        expires_at=backend.clock.now() + timedelta(days=90),
        rate_limit_per_minute=600,
    )


async def a_key(backend: Backend, key: ApiKey) -> ApiKey:
    async with backend.unit() as unit:
        await unit.keys.add(key)
        await unit.tx.commit()
    return key


async def change(
    backend: Backend, workspace_id: WorkspaceId, edit: Callable[[Workspace], object]
) -> None:
    async with backend.unit() as unit:
        workspace = await unit.workspaces.get(workspace_id)
        assert workspace is not None
        edit(workspace)
        await unit.workspaces.save(workspace)
        await unit.tx.commit()


async def delete_user(backend: Backend, user_id: UserId) -> None:
    async with backend.unit() as unit:
        user = await unit.users.get(user_id)
        assert user is not None
        await unit.users.delete(user)
        await unit.tx.commit()


def invitation_fields(invitation: Invitation) -> tuple[object, ...]:
    return (
        invitation.id,
        invitation.workspace_id,
        invitation.email,
        invitation.role,
        invitation.invited_by,
        invitation.created_at,
        invitation.expires_at,
        invitation.accepted_at,
        invitation.revoked_at,
    )


def key_fields(key: ApiKey) -> tuple[object, ...]:
    return (
        key.id,
        key.workspace_id,
        key.name,
        key.prefix,
        key.secret_hash,
        key.scopes,
        key.created_by,
        key.created_at,
        key.expires_at,
        key.rate_limit_per_minute,
        key.revoked_at,
    )


# == WorkspaceRepository + MembershipLookup ============================================


async def test_role_of_gives_each_members_role(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        roles = [
            await unit.memberships.role_of(team.workspace, user)
            for user in (team.owner, team.admin, team.viewer)
        ]
    assert roles == [Role.OWNER, Role.ADMIN, Role.VIEWER]


async def test_role_of_a_non_member_is_none(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.outsider) is None
        assert await unit.memberships.role_of(WorkspaceId(uuid4()), team.owner) is None


async def test_role_of_follows_a_committed_role_change(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    await change(
        tenancy, team.workspace, lambda w: w.change_role(team.owner, team.admin, Role.MEMBER)
    )
    async with tenancy.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.admin) is Role.MEMBER


async def test_a_change_left_uncommitted_is_not_kept(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        workspace = await unit.workspaces.get(team.workspace)
        assert workspace is not None
        workspace.remove_member(team.owner, team.viewer)
        await unit.workspaces.save(workspace)
    async with tenancy.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.viewer) is Role.VIEWER


async def test_a_loaded_workspace_changed_but_not_saved_leaves_the_stored_one(
    tenancy: Backend,
) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        workspace = await unit.workspaces.get(team.workspace)
        assert workspace is not None
        workspace.rename(team.owner, WorkspaceName("Changed"), tenancy.clock.now())
        workspace.remove_member(team.owner, team.viewer)
        await unit.tx.commit()
    async with tenancy.unit() as unit:
        again = await unit.workspaces.get(team.workspace)
        assert await unit.memberships.role_of(team.workspace, team.viewer) is Role.VIEWER
    assert again is not None
    assert again.name == WorkspaceName("Team")


async def test_the_personal_workspace_is_the_one_the_user_owns_as_personal(
    tenancy: Backend,
) -> None:
    ada = await a_user(tenancy, "ada@example.com")
    bob = await a_user(tenancy, "bob@example.com")
    await a_workspace(tenancy, ada, name="Team")
    personal = await a_workspace(
        tenancy, ada, name="Ada's", personal=True, members={bob: Role.ADMIN}
    )
    async with tenancy.unit() as unit:
        assert await unit.memberships.personal_workspace_of(ada) == personal.id
        assert await unit.memberships.personal_workspace_of(bob) is None


async def test_without_a_personal_workspace_there_is_none(tenancy: Backend) -> None:
    ada = await a_user(tenancy, "ada@example.com")
    await a_workspace(tenancy, ada, name="Team")
    async with tenancy.unit() as unit:
        assert await unit.memberships.personal_workspace_of(ada) is None


async def test_a_deleted_users_memberships_are_gone(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    await delete_user(tenancy, team.admin)
    async with tenancy.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.admin) is None
        assert await unit.memberships.role_of(team.workspace, team.owner) is Role.OWNER


async def test_a_deleted_workspace_has_no_members(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    await change(tenancy, team.workspace, lambda w: w.delete(team.owner))
    async with tenancy.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.owner) is None
        assert await unit.workspaces.get(team.workspace) is None


async def test_saving_a_second_owner_is_refused(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        workspace = await unit.workspaces.get(team.workspace)
        assert workspace is not None
        workspace.members[team.admin] = replace(workspace.members[team.admin], role=Role.OWNER)
        with pytest.raises(StorageUnavailable):
            await unit.workspaces.save(workspace)


async def test_the_database_refuses_a_second_owner_row(engine: AsyncEngine, clean: None) -> None:
    backend = PostgresBackend(engine, FakeClock(), SequentialIds())
    team = await a_team(backend)
    with pytest.raises(IntegrityError) as refused:
        async with engine.begin() as connection:
            await connection.execute(
                insert(memberships).values(
                    workspace_id=team.workspace,
                    user_id=team.outsider,
                    role="owner",
                    joined_at=backend.clock.now(),
                )
            )
    assert constraint_name(refused.value) == "uq_memberships_one_owner"
    async with backend.unit() as unit:
        assert await unit.memberships.role_of(team.workspace, team.outsider) is None


# == InvitationRepository ==============================================================


async def test_an_added_invitation_reads_back(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    async with tenancy.unit() as unit:
        loaded = await unit.invitations.get(invitation.id)
        assert await unit.invitations.get(InvitationId(uuid4())) is None
    assert loaded is not None
    assert invitation_fields(loaded) == invitation_fields(invitation)
    assert (await tenancy.published_topics())[-1] == "tenancy.invitation_created"


async def test_an_uncommitted_invitation_is_not_kept(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = new_invitation(tenancy, team.workspace, team.admin)
    async with tenancy.unit() as unit:
        await unit.invitations.add(invitation)
    async with tenancy.unit() as unit:
        assert await unit.invitations.get(invitation.id) is None


async def test_an_invitation_needs_its_workspace(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.invitations.add(new_invitation(tenancy, WorkspaceId(uuid4()), team.admin))


async def test_an_invitation_needs_its_inviter(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.invitations.add(new_invitation(tenancy, team.workspace, UserId(uuid4())))


async def test_an_invitation_is_found_by_the_token_it_was_added_with(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(
        tenancy, new_invitation(tenancy, team.workspace, team.admin), "hash-1"
    )
    async with tenancy.unit() as unit:
        found = await unit.invitations.by_token("hash-1")
        assert await unit.invitations.by_token("hash-2") is None
    assert found is not None
    assert found.id == invitation.id


async def test_set_token_replaces_the_token_an_invitation_is_found_by(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    async with tenancy.unit() as unit:
        await unit.invitations.set_token(invitation.id, "first")
        await unit.tx.commit()
    async with tenancy.unit() as unit:
        await unit.invitations.set_token(invitation.id, "second")
        await unit.tx.commit()
    async with tenancy.unit() as unit:
        assert await unit.invitations.by_token("first") is None
        found = await unit.invitations.by_token("second")
    assert found is not None
    assert found.id == invitation.id


async def test_two_invitations_cannot_share_a_token(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin), "taken")
    other = await an_invitation(
        tenancy, new_invitation(tenancy, team.workspace, team.admin, "joe@example.com")
    )
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.invitations.set_token(other.id, "taken")


async def test_pending_for_finds_the_addresss_pending_invitation(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    now = tenancy.clock.now()
    async with tenancy.unit() as unit:
        found = await unit.invitations.pending_for(team.workspace, Email("ivy@example.com"), now)
        assert (
            await unit.invitations.pending_for(team.workspace, Email("joe@example.com"), now)
            is None
        )
        assert (
            await unit.invitations.pending_for(WorkspaceId(uuid4()), Email("ivy@example.com"), now)
            is None
        )
    assert found is not None
    assert found.id == invitation.id


async def test_pending_for_ignores_an_expired_invitation(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    async with tenancy.unit() as unit:
        just_before = invitation.expires_at - timedelta(microseconds=1)
        ivy = Email("ivy@example.com")
        assert await unit.invitations.pending_for(team.workspace, ivy, just_before) is not None
        assert (
            await unit.invitations.pending_for(team.workspace, ivy, invitation.expires_at) is None
        )


@pytest.mark.parametrize("ending", ["accept", "revoke"])
async def test_a_saved_acceptance_or_revocation_ends_the_invitation(
    tenancy: Backend, ending: str
) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    tenancy.clock.advance(hours=1)
    async with tenancy.unit() as unit:
        loaded = await unit.invitations.get(invitation.id)
        assert loaded is not None
        getattr(loaded, ending)(tenancy.clock.now())
        await unit.invitations.save(loaded)
        await unit.tx.commit()
    async with tenancy.unit() as unit:
        again = await unit.invitations.get(invitation.id)
        pending = await unit.invitations.pending_for(
            team.workspace, invitation.email, tenancy.clock.now()
        )
    assert again is not None
    assert invitation_fields(again) == invitation_fields(loaded)
    assert pending is None


async def test_deleting_the_workspace_deletes_its_invitations(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(
        tenancy, new_invitation(tenancy, team.workspace, team.admin), "hash"
    )
    await change(tenancy, team.workspace, lambda w: w.delete(team.owner))
    async with tenancy.unit() as unit:
        assert await unit.invitations.get(invitation.id) is None
        assert await unit.invitations.by_token("hash") is None


async def test_deleting_the_inviter_deletes_their_invitations(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    invitation = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    await delete_user(tenancy, team.admin)
    async with tenancy.unit() as unit:
        assert await unit.invitations.get(invitation.id) is None


# == ApiKeyRepository + ApiKeyLookup ===================================================


async def test_an_added_key_reads_back(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(
        tenancy,
        new_key(
            tenancy,
            team.workspace,
            team.admin,
            scopes=frozenset({Permission.LLM_USE, Permission.RESOURCES_READ}),
        ),
    )
    async with tenancy.unit() as unit:
        loaded = await unit.keys.get(key.id)
        assert await unit.keys.get(ApiKeyId(uuid4())) is None
    assert loaded is not None
    assert key_fields(loaded) == key_fields(key)


async def test_an_uncommitted_key_is_not_kept(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = new_key(tenancy, team.workspace, team.admin)
    async with tenancy.unit() as unit:
        await unit.keys.add(key)
    async with tenancy.unit() as unit:
        assert await unit.keys.get(key.id) is None


async def test_a_saved_revocation_is_kept(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    tenancy.clock.advance(minutes=5)
    async with tenancy.unit() as unit:
        loaded = await unit.keys.get(key.id)
        assert loaded is not None
        loaded.revoke(tenancy.clock.now())
        await unit.keys.save(loaded)
        await unit.tx.commit()
    async with tenancy.unit() as unit:
        again = await unit.keys.get(key.id)
    assert again is not None
    assert again.revoked_at == tenancy.clock.now()


async def test_a_key_needs_its_workspace_and_creator(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.keys.add(new_key(tenancy, team.workspace, UserId(uuid4())))
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.keys.add(new_key(tenancy, WorkspaceId(uuid4()), team.admin))


async def test_two_keys_cannot_share_a_secret(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    first = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    second = replace(new_key(tenancy, team.workspace, team.admin), secret_hash=first.secret_hash)
    async with tenancy.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.keys.add(second)


async def test_by_prefix_gives_the_keys_with_their_creators_current_role(
    tenancy: Backend,
) -> None:
    team = await a_team(tenancy)
    by_admin = await a_key(
        tenancy, new_key(tenancy, team.workspace, team.admin, prefix="sk-ss-aaaaaa")
    )
    by_owner = await a_key(
        tenancy, new_key(tenancy, team.workspace, team.owner, prefix="sk-ss-aaaaaa")
    )
    await a_key(tenancy, new_key(tenancy, team.workspace, team.owner, prefix="sk-ss-bbbbbb"))
    async with tenancy.unit() as unit:
        found = await unit.key_lookup.by_prefix("sk-ss-aaaaaa")
        assert await unit.key_lookup.by_prefix("sk-ss-cccccc") == []
    assert sorted((key.id, role) for key, role in found) == sorted(
        [(by_admin.id, Role.ADMIN), (by_owner.id, Role.OWNER)]
    )
    assert {key.id: key_fields(key) for key, _ in found}[by_admin.id] == key_fields(by_admin)


async def test_by_prefix_follows_the_creators_role_change(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    await change(
        tenancy, team.workspace, lambda w: w.change_role(team.owner, team.admin, Role.VIEWER)
    )
    async with tenancy.unit() as unit:
        [(found, role)] = await unit.key_lookup.by_prefix(key.prefix)
    assert found.id == key.id
    assert role is Role.VIEWER


async def test_by_prefix_gives_no_role_once_the_creator_left(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    await change(tenancy, team.workspace, lambda w: w.leave(team.admin))
    async with tenancy.unit() as unit:
        [(found, role)] = await unit.key_lookup.by_prefix(key.prefix)
    assert found.id == key.id
    assert role is None


async def test_by_prefix_gives_the_role_in_the_keys_own_workspace(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    elsewhere = await a_workspace(tenancy, team.admin, name="Adam's own")
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    await change(tenancy, team.workspace, lambda w: w.remove_member(team.owner, team.admin))
    async with tenancy.unit() as unit:
        [(_, role)] = await unit.key_lookup.by_prefix(key.prefix)
        assert await unit.memberships.role_of(elsewhere.id, team.admin) is Role.OWNER
    assert role is None


async def test_deleting_the_creator_deletes_their_keys(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    await delete_user(tenancy, team.admin)
    async with tenancy.unit() as unit:
        assert await unit.keys.get(key.id) is None
        assert await unit.key_lookup.by_prefix(key.prefix) == []


async def test_deleting_the_workspace_deletes_its_keys(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    key = await a_key(tenancy, new_key(tenancy, team.workspace, team.admin))
    await change(tenancy, team.workspace, lambda w: w.delete(team.owner))
    async with tenancy.unit() as unit:
        assert await unit.keys.get(key.id) is None
        assert await unit.key_lookup.by_prefix(key.prefix) == []


# == WorkspaceReader + ApiKeyReader ====================================================


async def test_the_reader_lists_a_users_workspaces_personal_first(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    personal = await a_workspace(tenancy, team.admin, name="Adam's", personal=True)
    async with tenancy.reader() as reader:
        views = await reader.list_for_user(team.admin)
        assert await reader.list_for_user(team.outsider) == []
        one = await reader.get_for_user(team.workspace, team.viewer)
        assert await reader.get_for_user(team.workspace, team.outsider) is None
    assert [(v.id, v.role, v.personal, v.member_count) for v in views] == [
        (personal.id, "owner", True, 1),
        (team.workspace, "admin", False, 3),
    ]
    assert one is not None
    assert (one.name, one.role) == ("Team", "viewer")


async def test_the_reader_lists_members_in_joining_order(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    async with tenancy.reader() as reader:
        members = await reader.members(team.workspace)
    assert [(m.user_id, m.email, m.name, m.role) for m in members] == [
        (team.owner, "olivia@example.com", "Olivia", "owner"),
        (team.admin, "adam@example.com", "Adam", "admin"),
        (team.viewer, "victor@example.com", "Victor", "viewer"),
    ]


async def test_the_reader_lists_pending_invitations_newest_first(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    first = await an_invitation(tenancy, new_invitation(tenancy, team.workspace, team.admin))
    second = await an_invitation(
        tenancy, new_invitation(tenancy, team.workspace, team.owner, "joe@example.com", Role.ADMIN)
    )
    revoked = await an_invitation(
        tenancy, new_invitation(tenancy, team.workspace, team.owner, "no@example.com")
    )
    async with tenancy.unit() as unit:
        revoked.revoke(tenancy.clock.now())
        await unit.invitations.save(revoked)
        await unit.tx.commit()
    async with tenancy.reader() as reader:
        views = await reader.pending_invitations(team.workspace, tenancy.clock.now())
        later = await reader.pending_invitations(team.workspace, first.expires_at)
    assert [(v.id, v.email, v.role, v.invited_by) for v in views] == [
        (second.id, "joe@example.com", "admin", team.owner),
        (first.id, "ivy@example.com", "member", team.admin),
    ]
    assert later == []


async def test_the_reader_lists_unrevoked_keys_newest_first(tenancy: Backend) -> None:
    team = await a_team(tenancy)
    older = await a_key(
        tenancy,
        new_key(
            tenancy,
            team.workspace,
            team.admin,
            scopes=frozenset({Permission.RESOURCES_READ, Permission.LLM_USE}),
        ),
    )
    revoked = new_key(tenancy, team.workspace, team.admin)
    await a_key(tenancy, revoked)
    newer = await a_key(tenancy, new_key(tenancy, team.workspace, team.owner))
    async with tenancy.unit() as unit:
        revoked.revoke(tenancy.clock.now())
        await unit.keys.save(revoked)
        await unit.tx.commit()
    async with tenancy.reader() as reader:
        views = await reader.list_active(team.workspace, tenancy.clock.now())
    assert [v.id for v in views] == [newer.id, older.id]
    assert views[1].scopes == ["llm:use", "resources:read"]
    assert (views[1].name, views[1].prefix, views[1].created_by) == (
        older.name,
        older.prefix,
        team.admin,
    )
    assert (views[1].expires_at, views[1].rate_limit_per_minute) == (older.expires_at, 600)
    assert views[1].last_used_at is None


# == AuditLog + AuditReader ============================================================


def audit_event(
    action: AuditAction = AuditAction.MEMBER_ADDED,
    *,
    workspace: UUID | None = None,
    actor: UUID | None = None,
    subject: UUID | None = None,
) -> AuditEvent:
    return AuditEvent(
        action=action,
        actor_type=ActorType.USER,
        actor_id=actor,
        workspace_id=workspace,
        subject_user=subject,
        target_type="user",
        target_id=subject,
        metadata={"role": "member", "count": 2, "left": False, "none": None},
    )


async def kept(backend: Backend, where: AuditFilter | None = None) -> list[str]:
    """Actions of the kept entries matching ``where``, newest first."""
    async with backend.audit_reader() as reader:
        views = await reader.list(where or AuditFilter(), after=None, limit=100)
    return [view.action for view in views]


async def test_a_recorded_entry_is_read_back_once_committed(tenancy: Backend) -> None:
    workspace, actor, subject = uuid4(), uuid4(), uuid4()
    async with tenancy.unit() as unit:
        await unit.audit.record(audit_event(workspace=workspace, actor=actor, subject=subject))
        recorded_at = tenancy.clock.now()
        tenancy.clock.advance(seconds=5)
        await unit.tx.commit()
    async with tenancy.audit_reader() as reader:
        [view] = await reader.list(AuditFilter(), after=None, limit=10)
    assert view.occurred_at == recorded_at
    assert (view.workspace_id, view.actor_type, view.actor_id) == (workspace, "user", actor)
    assert (view.action, view.target_type, view.target_id) == ("member.added", "user", subject)
    assert view.metadata == {"role": "member", "count": 2, "left": False, "none": None}
    assert (view.client_address, view.user_agent, view.request_id) == (None, None, None)


async def test_a_recorded_entry_is_not_read_before_the_commit(tenancy: Backend) -> None:
    async with tenancy.unit() as unit:
        await unit.audit.record(audit_event())
        assert await kept(tenancy) == []
        await unit.tx.commit()
    assert await kept(tenancy) == ["member.added"]


async def test_a_recorded_entry_goes_with_a_rollback(tenancy: Backend) -> None:
    async with tenancy.unit() as unit:
        await unit.audit.record(audit_event())
    assert await kept(tenancy) == []


async def test_an_entry_recorded_now_is_read_at_once_and_survives_the_rollback(
    tenancy: Backend,
) -> None:
    async with tenancy.unit() as unit:
        await unit.audit.record(audit_event(AuditAction.LOGOUT))
        await unit.audit.record_now(audit_event(AuditAction.LOGIN_FAILED))
        assert await kept(tenancy) == ["auth.login_failed"]
    assert await kept(tenancy) == ["auth.login_failed"]


async def test_entries_are_read_newest_first(tenancy: Backend) -> None:
    async with tenancy.unit() as unit:
        for action in (AuditAction.LOGIN_SUCCEEDED, AuditAction.LOGOUT, AuditAction.LOGIN_FAILED):
            await unit.audit.record(audit_event(action))
            tenancy.clock.advance(seconds=1)
        await unit.tx.commit()
    assert await kept(tenancy) == ["auth.login_failed", "auth.logout", "auth.login_succeeded"]


async def test_entries_are_filtered_by_workspace_subject_action_and_actor(
    tenancy: Backend,
) -> None:
    ws, other_ws, ada, bob = uuid4(), uuid4(), uuid4(), uuid4()
    async with tenancy.unit() as unit:
        await unit.audit.record(audit_event(AuditAction.MEMBER_ADDED, workspace=ws, actor=ada))
        await unit.audit.record(audit_event(AuditAction.MEMBER_REMOVED, workspace=ws, actor=bob))
        await unit.audit.record(
            audit_event(AuditAction.MEMBER_REMOVED, workspace=other_ws, actor=ada, subject=bob)
        )
        await unit.audit.record(audit_event(AuditAction.LOGOUT, subject=bob))
        await unit.tx.commit()
    assert await kept(tenancy, AuditFilter(workspace_id=ws)) == ["member.removed", "member.added"]
    assert await kept(tenancy, AuditFilter(subject_user=bob)) == ["auth.logout", "member.removed"]
    assert await kept(tenancy, AuditFilter(action="member.removed", actor_id=ada)) == [
        "member.removed"
    ]
    assert await kept(tenancy, AuditFilter(workspace_id=ws, actor_id=ada)) == ["member.added"]


async def test_entries_are_filtered_by_time_since_inclusive_until_exclusive(
    tenancy: Backend,
) -> None:
    times = []
    async with tenancy.unit() as unit:
        for action in (
            AuditAction.LOGIN_SUCCEEDED,
            AuditAction.PASSWORD_CHANGED,
            AuditAction.LOGOUT,
            AuditAction.LOGIN_FAILED,
        ):
            times.append(tenancy.clock.now())
            await unit.audit.record(audit_event(action))
            tenancy.clock.advance(seconds=10)
        await unit.tx.commit()
    assert await kept(tenancy, AuditFilter(since=times[1], until=times[3])) == [
        "auth.logout",
        "auth.password_changed",
    ]


async def test_after_continues_with_the_older_entries(tenancy: Backend) -> None:
    async with tenancy.unit() as unit:
        for action in (AuditAction.LOGIN_SUCCEEDED, AuditAction.LOGOUT, AuditAction.LOGIN_FAILED):
            await unit.audit.record(audit_event(action))
        await unit.tx.commit()
    async with tenancy.audit_reader() as reader:
        first = await reader.list(AuditFilter(), after=None, limit=2)
        rest = await reader.list(AuditFilter(), after=first[-1].id, limit=2)
        none_left = await reader.list(AuditFilter(), after=rest[-1].id, limit=2)
    assert [v.action for v in first] == ["auth.login_failed", "auth.logout"]
    assert [v.action for v in rest] == ["auth.login_succeeded"]
    assert none_left == []


# == RateLimiter =======================================================================


@dataclass
class Limiter:
    limiter: RateLimiter
    wait: Callable[[float], Awaitable[None]]


@pytest.fixture(params=["in_memory", "redis"])
def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Limiter]:
    if request.param == "in_memory":

        async def advance(seconds: float) -> None:
            clock.advance(seconds=seconds)

        yield Limiter(InMemoryRateLimiter(clock), advance)
    else:
        redis: Redis = request.getfixturevalue("redis")
        request.getfixturevalue("clean")
        yield Limiter(RedisRateLimiter(redis), asyncio.sleep)


async def test_exactly_the_limit_is_let_through(limiter: Limiter) -> None:
    decisions = [
        await limiter.limiter.hit("key:exact", limit=3, window_seconds=60) for _ in range(5)
    ]
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0, 0]
    assert {d.limit for d in decisions} == {3}


async def test_a_refusal_says_when_to_retry_within_the_window(limiter: Limiter) -> None:
    await limiter.limiter.hit("key:retry", limit=1, window_seconds=60)
    refused = await limiter.limiter.hit("key:retry", limit=1, window_seconds=60)
    assert not refused.allowed
    assert 0 < refused.reset_after <= 60


async def test_an_allowed_hit_says_when_its_slot_frees_within_the_window(
    limiter: Limiter,
) -> None:
    allowed = await limiter.limiter.hit("key:reset", limit=5, window_seconds=60)
    assert allowed.allowed
    assert 0 < allowed.reset_after <= 60


async def test_each_key_is_counted_on_its_own(limiter: Limiter) -> None:
    for key in ("key:a", "key:b"):
        assert (await limiter.limiter.hit(key, limit=1, window_seconds=60)).allowed
    for key in ("key:a", "key:b"):
        assert not (await limiter.limiter.hit(key, limit=1, window_seconds=60)).allowed


async def test_the_window_slides_past_the_oldest_hit(limiter: Limiter) -> None:
    assert (await limiter.limiter.hit("key:slide", limit=1, window_seconds=1)).allowed
    assert not (await limiter.limiter.hit("key:slide", limit=1, window_seconds=1)).allowed
    await limiter.wait(1.05)
    assert (await limiter.limiter.hit("key:slide", limit=1, window_seconds=1)).allowed


async def test_a_refused_hit_does_not_count(limiter: Limiter) -> None:
    assert (await limiter.limiter.hit("key:refused", limit=1, window_seconds=1)).allowed
    await limiter.wait(0.5)
    assert not (await limiter.limiter.hit("key:refused", limit=1, window_seconds=1)).allowed
    await limiter.wait(0.6)  # the allowed hit has left; the refused one would not have
    assert (await limiter.limiter.hit("key:refused", limit=1, window_seconds=1)).allowed


# == UsageRecorder =====================================================================


@dataclass
class Usage:
    recorder: InMemoryUsageRecorder | RedisUsageRecorder


@pytest.fixture(params=["in_memory", "redis"])
def usage(request: pytest.FixtureRequest) -> Iterator[Usage]:
    if request.param == "in_memory":
        yield Usage(InMemoryUsageRecorder())
    else:
        redis: Redis = request.getfixturevalue("redis")
        request.getfixturevalue("clean")
        yield Usage(RedisUsageRecorder(redis))


async def test_pending_last_used_gives_the_noted_uses_of_the_keys_asked(
    usage: Usage, clock: FakeClock
) -> None:
    used, unused, other = ApiKeyId(uuid4()), ApiKeyId(uuid4()), ApiKeyId(uuid4())
    at = clock.now() + timedelta(microseconds=123_457)
    await usage.recorder.api_key_used(used, at)
    await usage.recorder.api_key_used(other, at)
    assert await usage.recorder.pending_last_used([used, unused]) == {used: at}
    assert await usage.recorder.pending_last_used([]) == {}


async def test_the_latest_note_of_a_key_is_kept(usage: Usage, clock: FakeClock) -> None:
    key = ApiKeyId(uuid4())
    await usage.recorder.api_key_used(key, clock.now())
    await usage.recorder.api_key_used(key, clock.now() + timedelta(seconds=3))
    assert await usage.recorder.pending_last_used([key]) == {
        key: clock.now() + timedelta(seconds=3)
    }


async def test_take_all_takes_every_noted_use_once(usage: Usage, clock: FakeClock) -> None:
    first, second = ApiKeyId(uuid4()), ApiKeyId(uuid4())
    await usage.recorder.api_key_used(first, clock.now())
    await usage.recorder.api_key_used(second, clock.now() + timedelta(seconds=1))
    assert await usage.recorder.take_all() == {
        first: clock.now(),
        second: clock.now() + timedelta(seconds=1),
    }
    assert await usage.recorder.take_all() == {}
    assert await usage.recorder.pending_last_used([first, second]) == {}


async def stored_last_used(engine: AsyncEngine, key_id: ApiKeyId) -> object:
    async with engine.connect() as connection:
        return await connection.scalar(
            select(api_keys.c.last_used_at).where(api_keys.c.id == key_id)
        )


async def test_flushed_uses_are_written_to_last_used_at(
    engine: AsyncEngine, redis: Redis, clean: None
) -> None:
    backend = PostgresBackend(engine, FakeClock(), SequentialIds())
    team = await a_team(backend)
    key = await a_key(backend, new_key(backend, team.workspace, team.admin))
    recorder = RedisUsageRecorder(redis)
    used_at = backend.clock.now() + timedelta(minutes=3, microseconds=250)
    await recorder.api_key_used(key.id, used_at)
    assert await flush_key_usage(engine, await recorder.take_all()) == 1
    assert await stored_last_used(engine, key.id) == used_at
    assert await recorder.pending_last_used([key.id]) == {}


async def test_a_flush_never_moves_last_used_at_back(
    engine: AsyncEngine, redis: Redis, clean: None
) -> None:
    backend = PostgresBackend(engine, FakeClock(), SequentialIds())
    team = await a_team(backend)
    key = await a_key(backend, new_key(backend, team.workspace, team.admin))
    recorder = RedisUsageRecorder(redis)
    later = backend.clock.now() + timedelta(minutes=10)
    await recorder.api_key_used(key.id, later)
    await flush_key_usage(engine, await recorder.take_all())
    await recorder.api_key_used(key.id, later - timedelta(minutes=5))  # a late-arriving batch
    await flush_key_usage(engine, await recorder.take_all())
    assert await stored_last_used(engine, key.id) == later


async def test_a_flush_of_nothing_writes_nothing(engine: AsyncEngine, clean: None) -> None:
    assert await flush_key_usage(engine, {}) == 0


async def test_a_flush_skips_keys_that_no_longer_exist(
    engine: AsyncEngine, redis: Redis, clean: None
) -> None:
    backend = PostgresBackend(engine, FakeClock(), SequentialIds())
    team = await a_team(backend)
    key = await a_key(backend, new_key(backend, team.workspace, team.admin))
    gone = ApiKeyId(uuid4())
    written = await flush_key_usage(
        engine, {key.id: backend.clock.now(), gone: backend.clock.now()}
    )
    assert written == 1
