"""Reading workspaces, members, invitations and API keys."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from application.commands.tenancy.revoke_api_key import RevokeApiKey
from application.commands.tenancy.revoke_invitation import RevokeInvitation
from application.ports.tenancy_reads import ApiKeyView, WorkspaceView
from application.queries.tenancy.get_workspace import GetWorkspace
from application.queries.tenancy.list_api_keys import ListApiKeys
from application.queries.tenancy.list_invitations import ListInvitations
from application.queries.tenancy.list_members import ListMembers
from application.queries.tenancy.list_workspaces import ListWorkspaces
from domain.tenancy.errors import InsufficientRole, WorkspaceNotFound
from domain.tenancy.roles import Permission, Role
from tests.unit.tenancy.world import World

# -- GetWorkspace ----------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
async def test_every_member_sees_the_workspace_with_their_role(world: World, role: Role) -> None:
    team = await world.team()
    view = await world.execute(GetWorkspace(actor=await world.actor(team, role)))
    stored = world.stored(team.workspace)
    assert view == WorkspaceView(
        id=team.workspace,
        name="Team",
        personal=False,
        role=role.value,
        member_count=4,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


async def test_a_workspace_deleted_meanwhile_is_not_found(world: World) -> None:
    team = await world.team()
    viewer = await world.actor(team, Role.VIEWER)
    del world.database.workspaces[team.workspace]
    await world.commit_givens()
    with pytest.raises(WorkspaceNotFound):
        await world.execute(GetWorkspace(actor=viewer))


async def test_a_key_without_workspace_read_cannot_get_the_workspace(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.OWNER), scopes=[Permission.RESOURCES_READ]
    )
    with pytest.raises(InsufficientRole):
        await world.execute(GetWorkspace(actor=await world.authenticate(secret)))


# -- ListWorkspaces --------------------------------------------------------------------


async def test_a_user_lists_their_workspaces_personal_first_with_their_roles(
    world: World,
) -> None:
    team = await world.team()
    personal = await world.workspace(team.admin, name="Adam's workspace", personal=True)
    other = await world.workspace(team.owner, name="Other", members={team.admin: Role.VIEWER})
    views = await world.execute(ListWorkspaces(user_id=team.admin))
    assert [(v.id, v.role, v.personal) for v in views] == [
        (personal, "owner", True),
        (team.workspace, "admin", False),
        (other, "viewer", False),
    ]


async def test_workspaces_one_is_not_in_are_not_listed(world: World) -> None:
    team = await world.team()
    assert await world.execute(ListWorkspaces(user_id=team.outsider)) == []


# -- ListMembers -----------------------------------------------------------------------


async def test_a_viewer_lists_the_members_in_joining_order(world: World) -> None:
    team = await world.team()
    members = await world.execute(ListMembers(actor=await world.actor(team, Role.VIEWER)))
    assert [(m.user_id, m.role) for m in members] == [
        (team.owner, "owner"),
        (team.admin, "admin"),
        (team.member, "member"),
        (team.viewer, "viewer"),
    ]
    assert [(m.email, m.name) for m in members][1] == ("adam@example.com", "Adam")


async def test_a_key_without_members_read_cannot_list_members(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.ADMIN), scopes=[Permission.WORKSPACE_READ]
    )
    with pytest.raises(InsufficientRole):
        await world.execute(ListMembers(actor=await world.authenticate(secret)))


# -- ListInvitations -------------------------------------------------------------------


async def test_an_admin_lists_only_pending_invitations_newest_first(world: World) -> None:
    team = await world.team()
    expired = await world.invitation(team.workspace, team.admin, "old@example.com")
    world.clock.advance(days=6)
    revoked = await world.invitation(team.workspace, team.admin, "gone@example.com")
    accepted = await world.invitation(team.workspace, team.admin, "in@example.com")
    first = await world.invitation(team.workspace, team.admin, "ivy@example.com")
    second = await world.invitation(team.workspace, team.owner, "joe@example.com", Role.ADMIN)
    admin = await world.actor(team, Role.ADMIN)
    await world.execute(RevokeInvitation(actor=admin, invitation_id=revoked.id))
    world.stored_invitation(accepted.id).accept(world.clock.now())
    await world.commit_givens()
    world.clock.advance(days=1)
    views = await world.execute(ListInvitations(actor=admin))
    assert [v.id for v in views] == [second.id, first.id]
    assert expired.id not in [v.id for v in views]
    assert (views[0].email, views[0].role, views[0].invited_by) == (
        "joe@example.com",
        "admin",
        team.owner,
    )


async def test_another_workspaces_invitations_are_not_listed(world: World) -> None:
    team = await world.team()
    elsewhere = await world.workspace(team.outsider, name="Elsewhere")
    await world.invitation(elsewhere, team.outsider)
    assert await world.execute(ListInvitations(actor=await world.actor(team, Role.ADMIN))) == []


async def test_a_member_cannot_list_invitations(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(ListInvitations(actor=await world.actor(team, Role.MEMBER)))


# -- ListApiKeys -----------------------------------------------------------------------


async def test_an_admin_lists_live_keys_newest_first_without_secrets(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    older, _ = await world.api_key(admin, name="Old", scopes=[Permission.LLM_USE])
    revoked, _ = await world.api_key(admin, name="Revoked")
    newer, _ = await world.api_key(admin, name="New", rate_limit_per_minute=60)
    await world.execute(RevokeApiKey(actor=admin, key_id=revoked.id))
    views = await world.execute(ListApiKeys(actor=admin))
    assert [v.id for v in views] == [newer.id, older.id]
    assert views[1] == ApiKeyView(
        id=older.id,
        name="Old",
        prefix=older.prefix,
        scopes=["llm:use"],
        created_by=team.admin,
        created_at=older.created_at,
        last_used_at=None,
        expires_at=None,
        rate_limit_per_minute=None,
    )
    assert {f.name for f in dataclasses.fields(ApiKeyView)}.isdisjoint({"secret", "secret_hash"})


async def test_listed_keys_show_uses_not_yet_written_to_the_database(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    _, secret = await world.api_key(admin)
    world.clock.advance(minutes=2)
    await world.authenticate(secret)
    [view] = await world.execute(ListApiKeys(actor=admin))
    assert view.last_used_at == world.clock.now()


async def test_a_stored_use_newer_than_the_pending_one_wins(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, _ = await world.api_key(admin)
    noted = world.clock.now()
    await world.usage.api_key_used(key.id, noted)
    world.tables.api_keys[key.id].last_used_at = noted + timedelta(seconds=5)
    await world.commit_givens()
    [view] = await world.execute(ListApiKeys(actor=admin))
    assert view.last_used_at == noted + timedelta(seconds=5)


async def test_a_pending_use_newer_than_the_stored_one_wins(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, _ = await world.api_key(admin)
    stored = world.clock.now()
    world.tables.api_keys[key.id].last_used_at = stored
    await world.commit_givens()
    await world.usage.api_key_used(key.id, stored + timedelta(seconds=5))
    [view] = await world.execute(ListApiKeys(actor=admin))
    assert view.last_used_at == stored + timedelta(seconds=5)


async def test_another_workspaces_keys_are_not_listed(world: World) -> None:
    team = await world.team()
    elsewhere = await world.workspace(team.outsider, name="Elsewhere")
    await world.api_key(await world.resolve(team.outsider, elsewhere))
    assert await world.execute(ListApiKeys(actor=await world.actor(team, Role.ADMIN))) == []


async def test_a_member_cannot_list_keys(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(ListApiKeys(actor=await world.actor(team, Role.MEMBER)))
