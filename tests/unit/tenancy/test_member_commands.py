"""Changing roles, removing members, leaving, and transferring ownership."""

from __future__ import annotations

import pytest

from application.commands.tenancy.change_member_role import ChangeMemberRole
from application.commands.tenancy.leave_workspace import LeaveWorkspace
from application.commands.tenancy.remove_member import RemoveMember
from application.commands.tenancy.transfer_ownership import TransferOwnership
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.api_key import InvalidApiKeyCredential
from domain.tenancy.errors import (
    InsufficientRole,
    InvalidRole,
    MemberNotFound,
    OwnerCannotLeave,
    OwnerProtected,
    PersonalWorkspace,
    WorkspaceNotFound,
)
from domain.tenancy.roles import Role
from tests.unit.tenancy.world import World

# -- ChangeMemberRole ------------------------------------------------------------------


async def test_an_admin_promotes_a_member(world: World) -> None:
    team = await world.team()
    role = await world.execute(
        ChangeMemberRole(
            actor=await world.actor(team, Role.ADMIN), user_id=team.member, role="admin"
        )
    )
    assert role is Role.ADMIN
    assert world.role_in(team.workspace, team.member) is Role.ADMIN


async def test_a_role_change_keeps_the_join_time(world: World) -> None:
    team = await world.team()
    joined = world.stored(team.workspace).members[team.viewer].joined_at
    world.clock.advance(days=1)
    await world.execute(
        ChangeMemberRole(
            actor=await world.actor(team, Role.ADMIN), user_id=team.viewer, role="member"
        )
    )
    assert world.stored(team.workspace).members[team.viewer].joined_at == joined


async def test_a_role_change_is_audited_with_from_and_to(world: World) -> None:
    team = await world.team()
    await world.execute(
        ChangeMemberRole(
            actor=await world.actor(team, Role.OWNER), user_id=team.admin, role="viewer"
        )
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.MEMBER_ROLE_CHANGED,
            actor_type=ActorType.USER,
            actor_id=team.owner,
            workspace_id=team.workspace,
            subject_user=team.admin,
            target_type="user",
            target_id=team.admin,
            metadata={"from": "admin", "to": "viewer"},
        )
    ]


async def test_setting_the_same_role_again_changes_and_records_nothing(world: World) -> None:
    team = await world.team()
    role = await world.execute(
        ChangeMemberRole(
            actor=await world.actor(team, Role.ADMIN), user_id=team.member, role="member"
        )
    )
    assert role is Role.MEMBER
    assert world.new_audit_events == []
    assert world.new_commits == 0


async def test_a_member_cannot_change_roles(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(
            ChangeMemberRole(
                actor=await world.actor(team, Role.MEMBER), user_id=team.viewer, role="member"
            )
        )
    assert world.role_in(team.workspace, team.viewer) is Role.VIEWER


async def test_an_unknown_role_is_invalid(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidRole):
        await world.execute(
            ChangeMemberRole(
                actor=await world.actor(team, Role.ADMIN), user_id=team.member, role="god"
            )
        )


async def test_ownership_is_not_given_by_a_role_change(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidRole):
        await world.execute(
            ChangeMemberRole(
                actor=await world.actor(team, Role.OWNER), user_id=team.admin, role="owner"
            )
        )
    assert world.stored(team.workspace).owner == team.owner


async def test_the_owners_role_cannot_be_changed(world: World) -> None:
    team = await world.team()
    with pytest.raises(OwnerProtected):
        await world.execute(
            ChangeMemberRole(
                actor=await world.actor(team, Role.ADMIN), user_id=team.owner, role="viewer"
            )
        )
    assert world.role_in(team.workspace, team.owner) is Role.OWNER


async def test_changing_the_role_of_a_non_member_is_member_not_found(world: World) -> None:
    team = await world.team()
    with pytest.raises(MemberNotFound):
        await world.execute(
            ChangeMemberRole(
                actor=await world.actor(team, Role.ADMIN), user_id=team.outsider, role="viewer"
            )
        )
    assert team.outsider not in world.stored(team.workspace).members


async def test_an_admin_removed_meanwhile_cannot_change_roles(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    world.stored(team.workspace).members.pop(team.admin)
    await world.commit_givens()
    with pytest.raises(WorkspaceNotFound):
        await world.execute(ChangeMemberRole(actor=admin, user_id=team.member, role="viewer"))


# -- RemoveMember ----------------------------------------------------------------------


async def test_an_admin_removes_a_member(world: World) -> None:
    team = await world.team()
    await world.execute(
        RemoveMember(actor=await world.actor(team, Role.ADMIN), user_id=team.member)
    )
    assert team.member not in world.stored(team.workspace).members


async def test_removing_a_member_is_audited_with_their_role(world: World) -> None:
    team = await world.team()
    await world.execute(
        RemoveMember(actor=await world.actor(team, Role.ADMIN), user_id=team.viewer)
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.MEMBER_REMOVED,
            actor_type=ActorType.USER,
            actor_id=team.admin,
            workspace_id=team.workspace,
            subject_user=team.viewer,
            target_type="user",
            target_id=team.viewer,
            metadata={"role": "viewer"},
        )
    ]


async def test_removing_a_member_disables_the_keys_they_created(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    await world.execute(RemoveMember(actor=await world.actor(team, Role.OWNER), user_id=team.admin))
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_the_owner_cannot_be_removed(world: World) -> None:
    team = await world.team()
    with pytest.raises(OwnerProtected):
        await world.execute(
            RemoveMember(actor=await world.actor(team, Role.ADMIN), user_id=team.owner)
        )
    assert world.role_in(team.workspace, team.owner) is Role.OWNER


async def test_a_member_cannot_remove_anyone(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(
            RemoveMember(actor=await world.actor(team, Role.MEMBER), user_id=team.viewer)
        )
    assert team.viewer in world.stored(team.workspace).members


async def test_removing_a_non_member_is_member_not_found(world: World) -> None:
    team = await world.team()
    with pytest.raises(MemberNotFound):
        await world.execute(
            RemoveMember(actor=await world.actor(team, Role.ADMIN), user_id=team.outsider)
        )
    assert world.new_audit_events == []


# -- LeaveWorkspace --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.VIEWER])
async def test_anyone_but_the_owner_may_leave(world: World, role: Role) -> None:
    team = await world.team()
    await world.execute(LeaveWorkspace(actor=await world.actor(team, role)))
    assert team.of(role) not in world.stored(team.workspace).members


async def test_leaving_is_audited_as_a_removal_by_oneself(world: World) -> None:
    team = await world.team()
    await world.execute(LeaveWorkspace(actor=await world.actor(team, Role.MEMBER)))
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.MEMBER_REMOVED,
            actor_type=ActorType.USER,
            actor_id=team.member,
            workspace_id=team.workspace,
            subject_user=team.member,
            target_type="user",
            target_id=team.member,
            metadata={"role": "member", "left": True},
        )
    ]


async def test_the_owner_cannot_leave(world: World) -> None:
    team = await world.team()
    with pytest.raises(OwnerCannotLeave):
        await world.execute(LeaveWorkspace(actor=await world.actor(team, Role.OWNER)))
    assert world.role_in(team.workspace, team.owner) is Role.OWNER


async def test_nobody_leaves_their_personal_workspace(world: World) -> None:
    ada = await world.user()
    personal = await world.workspace(ada, personal=True)
    with pytest.raises(PersonalWorkspace):
        await world.execute(LeaveWorkspace(actor=await world.resolve(ada, None)))
    assert world.role_in(personal, ada) is Role.OWNER


async def test_leaving_twice_is_workspace_not_found(world: World) -> None:
    team = await world.team()
    member = await world.actor(team, Role.MEMBER)
    await world.execute(LeaveWorkspace(actor=member))
    with pytest.raises(WorkspaceNotFound):
        await world.execute(LeaveWorkspace(actor=member))


# -- TransferOwnership -----------------------------------------------------------------


async def test_the_owner_hands_ownership_to_a_member_and_stays_as_admin(world: World) -> None:
    team = await world.team()
    await world.execute(
        TransferOwnership(actor=await world.actor(team, Role.OWNER), user_id=team.member)
    )
    assert world.stored(team.workspace).owner == team.member
    assert world.role_in(team.workspace, team.owner) is Role.ADMIN


async def test_a_transfer_is_audited_with_the_previous_owner(world: World) -> None:
    team = await world.team()
    await world.execute(
        TransferOwnership(actor=await world.actor(team, Role.OWNER), user_id=team.admin)
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.OWNERSHIP_TRANSFERRED,
            actor_type=ActorType.USER,
            actor_id=team.owner,
            workspace_id=team.workspace,
            subject_user=team.admin,
            target_type="user",
            target_id=team.admin,
            metadata={"previous_owner": str(team.owner)},
        )
    ]


async def test_an_admin_cannot_transfer_ownership(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(
            TransferOwnership(actor=await world.actor(team, Role.ADMIN), user_id=team.admin)
        )
    assert world.stored(team.workspace).owner == team.owner


async def test_ownership_goes_only_to_a_member(world: World) -> None:
    team = await world.team()
    with pytest.raises(MemberNotFound):
        await world.execute(
            TransferOwnership(actor=await world.actor(team, Role.OWNER), user_id=team.outsider)
        )
    assert world.stored(team.workspace).owner == team.owner


async def test_a_personal_workspace_stays_with_its_owner(world: World) -> None:
    ada = await world.user()
    bob = await world.user("bob@example.com")
    personal = await world.workspace(ada, personal=True, members={bob: Role.ADMIN})
    with pytest.raises(PersonalWorkspace):
        await world.execute(TransferOwnership(actor=await world.resolve(ada, None), user_id=bob))
    assert world.stored(personal).owner == ada


async def test_transferring_to_oneself_changes_and_records_nothing(world: World) -> None:
    team = await world.team()
    await world.execute(
        TransferOwnership(actor=await world.actor(team, Role.OWNER), user_id=team.owner)
    )
    assert world.stored(team.workspace).owner == team.owner
    assert world.new_audit_events == []
    assert world.new_commits == 0
