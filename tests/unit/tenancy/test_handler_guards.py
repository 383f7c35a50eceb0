"""Every workspace-scoped use case checks the permission matrix itself, for users
and for API keys, and a refusal changes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from application.commands.tenancy.change_member_role import ChangeMemberRole
from application.commands.tenancy.create_api_key import CreateApiKey
from application.commands.tenancy.create_invitation import CreateInvitation
from application.commands.tenancy.delete_workspace import DeleteWorkspace
from application.commands.tenancy.remove_member import RemoveMember
from application.commands.tenancy.rename_workspace import RenameWorkspace
from application.commands.tenancy.revoke_api_key import RevokeApiKey
from application.commands.tenancy.revoke_invitation import RevokeInvitation
from application.commands.tenancy.transfer_ownership import TransferOwnership
from application.common.tenancy import WorkspaceActor
from application.queries.audit.list_audit_log import ListAuditLog
from application.queries.tenancy.get_workspace import GetWorkspace
from application.queries.tenancy.list_api_keys import ListApiKeys
from application.queries.tenancy.list_invitations import ListInvitations
from application.queries.tenancy.list_members import ListMembers
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import KEY_SCOPES, LOWEST_ROLE, Permission, Role
from tests.unit.tenancy.world import Team, World

Build = Callable[[World, Team, WorkspaceActor], Awaitable[object]]


@dataclass(frozen=True)
class Guarded:
    permission: Permission
    build: Build


async def rename(world: World, team: Team, actor: WorkspaceActor) -> object:
    return RenameWorkspace(actor=actor, name="Lab")


async def delete(world: World, team: Team, actor: WorkspaceActor) -> object:
    return DeleteWorkspace(actor=actor)


async def change_role(world: World, team: Team, actor: WorkspaceActor) -> object:
    return ChangeMemberRole(actor=actor, user_id=team.viewer, role="member")


async def remove(world: World, team: Team, actor: WorkspaceActor) -> object:
    return RemoveMember(actor=actor, user_id=team.viewer)


async def transfer(world: World, team: Team, actor: WorkspaceActor) -> object:
    return TransferOwnership(actor=actor, user_id=team.admin)


async def invite(world: World, team: Team, actor: WorkspaceActor) -> object:
    return CreateInvitation(actor=actor, email="ivy@example.com", role="viewer")


async def revoke_invitation(world: World, team: Team, actor: WorkspaceActor) -> object:
    invitation = await world.invitation(team.workspace, team.owner)
    return RevokeInvitation(actor=actor, invitation_id=invitation.id)


async def create_key(world: World, team: Team, actor: WorkspaceActor) -> object:
    return CreateApiKey(actor=actor, name="CI")


async def revoke_key(world: World, team: Team, actor: WorkspaceActor) -> object:
    key, _ = await world.api_key(await world.actor(team, Role.OWNER))
    return RevokeApiKey(actor=actor, key_id=key.id)


async def get_workspace(world: World, team: Team, actor: WorkspaceActor) -> object:
    return GetWorkspace(actor=actor)


async def list_members(world: World, team: Team, actor: WorkspaceActor) -> object:
    return ListMembers(actor=actor)


async def list_invitations(world: World, team: Team, actor: WorkspaceActor) -> object:
    return ListInvitations(actor=actor)


async def list_keys(world: World, team: Team, actor: WorkspaceActor) -> object:
    return ListApiKeys(actor=actor)


async def list_audit_log(world: World, team: Team, actor: WorkspaceActor) -> object:
    return ListAuditLog(actor=actor)


GUARDED = {
    "rename_workspace": Guarded(Permission.WORKSPACE_RENAME, rename),
    "delete_workspace": Guarded(Permission.WORKSPACE_DELETE, delete),
    "change_member_role": Guarded(Permission.MEMBERS_MANAGE, change_role),
    "remove_member": Guarded(Permission.MEMBERS_MANAGE, remove),
    "transfer_ownership": Guarded(Permission.OWNERSHIP_TRANSFER, transfer),
    "create_invitation": Guarded(Permission.INVITATIONS_MANAGE, invite),
    "revoke_invitation": Guarded(Permission.INVITATIONS_MANAGE, revoke_invitation),
    "create_api_key": Guarded(Permission.API_KEYS_MANAGE, create_key),
    "revoke_api_key": Guarded(Permission.API_KEYS_MANAGE, revoke_key),
    "get_workspace": Guarded(Permission.WORKSPACE_READ, get_workspace),
    "list_members": Guarded(Permission.MEMBERS_READ, list_members),
    "list_invitations": Guarded(Permission.INVITATIONS_MANAGE, list_invitations),
    "list_api_keys": Guarded(Permission.API_KEYS_MANAGE, list_keys),
    "list_audit_log": Guarded(Permission.AUDIT_READ, list_audit_log),
}

BELOW = [
    pytest.param(name, role, id=f"{name}-{role.value}")
    for name, guarded in GUARDED.items()
    for role in Role
    if role.rank < LOWEST_ROLE[guarded.permission].rank
]
AT_OR_ABOVE = [
    pytest.param(name, role, id=f"{name}-{role.value}")
    for name, guarded in GUARDED.items()
    for role in Role
    if role.rank >= LOWEST_ROLE[guarded.permission].rank
]


def assert_nothing_happened(world: World) -> None:
    assert world.new_commits == 0
    assert world.new_audit_events == []
    assert world.topics == []


@pytest.mark.parametrize(("name", "role"), BELOW)
async def test_a_role_below_the_lowest_is_refused_and_nothing_changes(
    world: World, name: str, role: Role
) -> None:
    team = await world.team()
    command = await GUARDED[name].build(world, team, await world.actor(team, role))
    with pytest.raises(InsufficientRole):
        await world.execute(command)
    assert_nothing_happened(world)


@pytest.mark.parametrize(("name", "role"), AT_OR_ABOVE)
async def test_the_lowest_role_and_above_are_let_through(
    world: World, name: str, role: Role
) -> None:
    team = await world.team()
    command = await GUARDED[name].build(world, team, await world.actor(team, role))
    await world.execute(command)


@pytest.mark.parametrize("name", list(GUARDED))
async def test_an_owners_key_without_the_scope_is_refused_and_nothing_changes(
    world: World, name: str
) -> None:
    team = await world.team()
    permission = GUARDED[name].permission
    _, secret = await world.api_key(
        await world.actor(team, Role.OWNER), scopes=sorted(KEY_SCOPES - {permission})
    )
    key_actor = await world.authenticate(secret)
    command = await GUARDED[name].build(world, team, key_actor)
    with pytest.raises(InsufficientRole):
        await world.execute(command)
    assert_nothing_happened(world)


@pytest.mark.parametrize(
    "name", [n for n, g in GUARDED.items() if g.permission in KEY_SCOPES and n != "create_api_key"]
)
async def test_an_admins_key_with_the_scope_is_let_through(world: World, name: str) -> None:
    team = await world.team()
    permission = GUARDED[name].permission
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN), scopes=[permission])
    command = await GUARDED[name].build(world, team, await world.authenticate(secret))
    await world.execute(command)
