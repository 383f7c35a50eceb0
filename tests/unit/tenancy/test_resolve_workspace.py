"""ResolveWorkspace and WorkspaceActor: who acts in which workspace, with which powers."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.common.tenancy import WorkspaceActor, audit_by
from domain.audit.entry import ActorType, AuditAction
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole, WorkspaceNotFound
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission, Role, permissions_of
from tests.unit.tenancy.world import World

WORKSPACE = WorkspaceId(UUID(int=10))
USER = UserId(UUID(int=11))
KEY = ApiKeyId(UUID(int=12))


def key_actor(role: Role, scopes: set[Permission]) -> WorkspaceActor:
    return WorkspaceActor(
        workspace_id=WORKSPACE,
        user_id=USER,
        role=role,
        permissions=frozenset(scopes) & permissions_of(role),
        api_key_id=KEY,
    )


def user_actor(role: Role) -> WorkspaceActor:
    return WorkspaceActor(
        workspace_id=WORKSPACE, user_id=USER, role=role, permissions=permissions_of(role)
    )


@pytest.mark.parametrize("role", list(Role))
async def test_a_member_acts_with_the_permissions_of_their_role(world: World, role: Role) -> None:
    team = await world.team()
    actor = await world.resolve(team.of(role), team.workspace)
    assert actor == WorkspaceActor(
        workspace_id=team.workspace,
        user_id=team.of(role),
        role=role,
        permissions=permissions_of(role),
    )


async def test_without_a_workspace_the_personal_one_is_used(world: World) -> None:
    ada = await world.user()
    await world.workspace(ada, name="Team")
    personal = await world.workspace(ada, name="Ada's workspace", personal=True)
    actor = await world.resolve(ada, None)
    assert actor.workspace_id == personal
    assert actor.role is Role.OWNER


async def test_a_non_member_gets_workspace_not_found(world: World) -> None:
    team = await world.team()
    with pytest.raises(WorkspaceNotFound):
        await world.resolve(team.outsider, team.workspace)


async def test_an_unknown_workspace_is_not_found_either(world: World) -> None:
    ada = await world.user()
    with pytest.raises(WorkspaceNotFound):
        await world.resolve(ada, WorkspaceId(UUID(int=404)))


async def test_without_a_personal_workspace_nothing_is_resolved(world: World) -> None:
    ada = await world.user()
    with pytest.raises(WorkspaceNotFound):
        await world.resolve(ada, None)


async def test_a_removed_member_no_longer_resolves(world: World) -> None:
    team = await world.team()
    world.stored(team.workspace).members.pop(team.member)
    await world.commit_givens()
    with pytest.raises(WorkspaceNotFound):
        await world.resolve(team.member, team.workspace)


def test_require_passes_for_a_permission_the_actor_holds() -> None:
    user_actor(Role.ADMIN).require(Permission.MEMBERS_MANAGE)


def test_require_refuses_a_users_missing_permission_naming_the_role_needed() -> None:
    with pytest.raises(InsufficientRole) as refused:
        user_actor(Role.VIEWER).require(Permission.RESOURCES_WRITE)
    assert "member role" in refused.value.detail


def test_a_key_without_the_scope_is_refused_as_not_scoped() -> None:
    actor = key_actor(Role.OWNER, {Permission.RESOURCES_READ})
    with pytest.raises(InsufficientRole) as refused:
        actor.require(Permission.RESOURCES_WRITE)
    assert "not scoped" in refused.value.detail


def test_a_key_whose_creator_lacks_the_role_is_refused_for_the_role() -> None:
    actor = key_actor(Role.VIEWER, {Permission.RESOURCES_WRITE, Permission.RESOURCES_READ})
    with pytest.raises(InsufficientRole) as refused:
        actor.require(Permission.RESOURCES_WRITE)
    assert "member role" in refused.value.detail


def test_a_key_acts_within_its_scopes() -> None:
    key_actor(Role.ADMIN, {Permission.RESOURCES_WRITE}).require(Permission.RESOURCES_WRITE)


def test_a_user_acts_as_themselves() -> None:
    actor = user_actor(Role.MEMBER)
    assert (actor.actor_type, actor.actor_id) == (ActorType.USER, USER)


def test_a_key_acts_as_itself_in_the_audit_log() -> None:
    actor = key_actor(Role.ADMIN, {Permission.RESOURCES_READ})
    assert (actor.actor_type, actor.actor_id) == (ActorType.API_KEY, KEY)


def test_audit_by_states_the_actor_and_the_workspace() -> None:
    event = audit_by(
        key_actor(Role.ADMIN, {Permission.RESOURCES_READ}),
        AuditAction.WORKSPACE_RENAMED,
        target_type="workspace",
        target_id=WORKSPACE,
        metadata={"to": "New"},
    )
    assert event.action is AuditAction.WORKSPACE_RENAMED
    assert event.actor_type is ActorType.API_KEY
    assert event.actor_id == KEY
    assert event.workspace_id == WORKSPACE
    assert (event.target_type, event.target_id) == ("workspace", WORKSPACE)
    assert event.metadata == {"to": "New"}
