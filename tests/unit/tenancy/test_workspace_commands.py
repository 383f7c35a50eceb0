"""Creating, renaming and deleting workspaces."""

from __future__ import annotations

import pytest

from application.commands.tenancy.create_workspace import CreateWorkspace
from application.commands.tenancy.delete_workspace import DeleteWorkspace
from application.commands.tenancy.rename_workspace import RenameWorkspace
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.common.errors import StorageUnavailable
from domain.tenancy.errors import (
    InsufficientRole,
    InvalidWorkspaceName,
    PersonalWorkspace,
    WorkspaceNotFound,
)
from domain.tenancy.roles import Permission, Role
from domain.tenancy.workspace import WorkspaceName
from tests.unit.tenancy.world import World

# -- CreateWorkspace -------------------------------------------------------------------


async def test_creating_a_workspace_makes_the_caller_its_owner(world: World) -> None:
    ada = await world.user()
    workspace_id = await world.execute(CreateWorkspace(user_id=ada, name="  Research  "))
    stored = world.stored(workspace_id)
    assert stored.name == WorkspaceName("Research")
    assert not stored.personal
    assert stored.owner == ada
    assert list(stored.members) == [ada]
    assert stored.created_at == stored.updated_at == world.clock.now()


async def test_creating_a_workspace_publishes_workspace_created(world: World) -> None:
    ada = await world.user()
    await world.execute(CreateWorkspace(user_id=ada, name="Research"))
    assert world.topics == ["tenancy.workspace_created"]


async def test_creating_a_workspace_is_audited(world: World) -> None:
    ada = await world.user()
    workspace_id = await world.execute(CreateWorkspace(user_id=ada, name="Research"))
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.WORKSPACE_CREATED,
            actor_type=ActorType.USER,
            actor_id=ada,
            workspace_id=workspace_id,
            target_type="workspace",
            target_id=workspace_id,
            metadata={"name": "Research"},
        )
    ]


@pytest.mark.parametrize("name", ["", "   ", "x" * 121, "bad\x00name"])
async def test_an_invalid_name_creates_nothing(world: World, name: str) -> None:
    ada = await world.user()
    with pytest.raises(InvalidWorkspaceName):
        await world.execute(CreateWorkspace(user_id=ada, name=name))
    assert world.database.workspaces == {}
    assert world.new_commits == 0


# -- RenameWorkspace -------------------------------------------------------------------


async def test_an_admin_renames_the_workspace(world: World) -> None:
    team = await world.team()
    world.clock.advance(hours=1)
    await world.execute(RenameWorkspace(actor=await world.actor(team, Role.ADMIN), name="Lab"))
    stored = world.stored(team.workspace)
    assert stored.name == WorkspaceName("Lab")
    assert stored.updated_at == world.clock.now()


async def test_renaming_is_audited_with_the_old_and_new_name(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    await world.execute(RenameWorkspace(actor=admin, name="Lab"))
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.WORKSPACE_RENAMED,
            actor_type=ActorType.USER,
            actor_id=team.admin,
            workspace_id=team.workspace,
            target_type="workspace",
            target_id=team.workspace,
            metadata={"from": "Team", "to": "Lab"},
        )
    ]


async def test_a_member_cannot_rename(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(RenameWorkspace(actor=await world.actor(team, Role.MEMBER), name="Lab"))
    assert world.stored(team.workspace).name == WorkspaceName("Team")


async def test_renaming_to_an_invalid_name_changes_nothing(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidWorkspaceName):
        await world.execute(RenameWorkspace(actor=await world.actor(team, Role.ADMIN), name=" "))
    assert world.stored(team.workspace).name == WorkspaceName("Team")
    assert world.new_audit_events == []


async def test_renaming_through_a_key_is_audited_as_the_key(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(
        await world.actor(team, Role.ADMIN), scopes=[Permission.WORKSPACE_RENAME]
    )
    await world.execute(RenameWorkspace(actor=await world.authenticate(secret), name="Lab"))
    [event] = world.new_audit_events
    assert (event.actor_type, event.actor_id) == (ActorType.API_KEY, key.id)


async def test_renaming_a_workspace_deleted_meanwhile_is_not_found(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    del world.database.workspaces[team.workspace]
    await world.commit_givens()
    with pytest.raises(WorkspaceNotFound):
        await world.execute(RenameWorkspace(actor=admin, name="Lab"))


# -- DeleteWorkspace -------------------------------------------------------------------


async def test_the_owner_deletes_the_workspace(world: World) -> None:
    team = await world.team()
    await world.execute(DeleteWorkspace(actor=await world.actor(team, Role.OWNER)))
    assert team.workspace not in world.database.workspaces
    assert world.topics == ["tenancy.workspace_deleted"]


async def test_deleting_a_workspace_takes_its_invitations_and_keys_along(world: World) -> None:
    team = await world.team()
    owner = await world.actor(team, Role.OWNER)
    invitation = await world.invitation(team.workspace, team.owner, token="invite-token")
    key, secret = await world.api_key(owner)
    await world.execute(DeleteWorkspace(actor=owner))
    assert await world.invitations.get(invitation.id) is None
    assert await world.keys.get(key.id) is None
    assert await world.keys.by_prefix(secret[:12]) == []


async def test_deleting_a_workspace_is_audited_and_the_entry_stays(world: World) -> None:
    team = await world.team()
    await world.execute(DeleteWorkspace(actor=await world.actor(team, Role.OWNER)))
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.WORKSPACE_DELETED,
            actor_type=ActorType.USER,
            actor_id=team.owner,
            workspace_id=team.workspace,
            target_type="workspace",
            target_id=team.workspace,
            metadata={"name": "Team"},
        )
    ]


async def test_an_admin_cannot_delete_the_workspace(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(DeleteWorkspace(actor=await world.actor(team, Role.ADMIN)))
    assert team.workspace in world.database.workspaces


async def test_a_personal_workspace_cannot_be_deleted_on_its_own(world: World) -> None:
    ada = await world.user()
    personal = await world.workspace(ada, personal=True)
    with pytest.raises(PersonalWorkspace):
        await world.execute(DeleteWorkspace(actor=await world.resolve(ada, None)))
    assert personal in world.database.workspaces
    assert world.new_audit_events == []
    assert world.topics == []


async def test_a_failed_commit_keeps_neither_the_change_nor_its_audit_entry(world: World) -> None:
    team = await world.team()
    world.uow.fail_next = 1
    with pytest.raises(StorageUnavailable):
        await world.execute(RenameWorkspace(actor=await world.actor(team, Role.ADMIN), name="Lab"))
    assert world.stored(team.workspace).name == WorkspaceName("Team")
    assert world.new_audit_events == []
    assert world.audit.pending == []
