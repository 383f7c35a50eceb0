"""Inviting by address, mailing the invitation, accepting and revoking it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest

from application.commands.tenancy.accept_invitation import AcceptInvitation, JoinedWorkspace
from application.commands.tenancy.create_invitation import CreateInvitation
from application.commands.tenancy.revoke_invitation import RevokeInvitation
from application.commands.tenancy.send_invitation_mail import SendInvitationMail
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.email import Email
from domain.identity.errors import InvalidEmail, InvalidOneTimeToken
from domain.identity.ids import UserId
from domain.tenancy.errors import (
    AlreadyMember,
    EmailNotVerified,
    InsufficientRole,
    InvalidRole,
    InvitationEmailMismatch,
    InvitationNotFound,
)
from domain.tenancy.ids import InvitationId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Role
from domain.tenancy.workspace import Membership
from tests.unit.tenancy.world import PUBLIC_URL, Team, World


async def invite(
    world: World, team: Team, email: str = "ivy@example.com", role: str = "member"
) -> Invitation:
    invitation: Invitation = await world.execute(
        CreateInvitation(actor=await world.actor(team, Role.ADMIN), email=email, role=role)
    )
    world.settle()
    return invitation


async def mailed_token(world: World, invitation_id: InvitationId) -> str:
    await world.execute(SendInvitationMail(invitation_id=invitation_id))
    world.settle()
    match = re.search(r"token=([\w-]+)", world.mailer.sent[-1].text)
    assert match
    return match.group(1)


# -- CreateInvitation ------------------------------------------------------------------


async def test_an_admin_invites_an_address_with_a_role(world: World) -> None:
    team = await world.team()
    invitation = await world.execute(
        CreateInvitation(
            actor=await world.actor(team, Role.ADMIN), email="Ivy@Example.com", role="viewer"
        )
    )
    stored = world.stored_invitation(invitation.id)
    assert stored.email == Email("ivy@example.com")
    assert stored.role is Role.VIEWER
    assert stored.invited_by == team.admin
    assert stored.workspace_id == team.workspace
    assert stored.is_pending(world.clock.now())


async def test_an_invitation_publishes_that_a_mail_is_owed(world: World) -> None:
    team = await world.team()
    await world.execute(
        CreateInvitation(
            actor=await world.actor(team, Role.ADMIN), email="ivy@example.com", role="member"
        )
    )
    assert world.topics == ["tenancy.invitation_created"]


async def test_an_invitation_is_audited_with_address_and_role(world: World) -> None:
    team = await world.team()
    invitation = await world.execute(
        CreateInvitation(
            actor=await world.actor(team, Role.ADMIN), email="ivy@example.com", role="member"
        )
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.INVITATION_CREATED,
            actor_type=ActorType.USER,
            actor_id=team.admin,
            workspace_id=team.workspace,
            target_type="invitation",
            target_id=invitation.id,
            metadata={"email": "ivy@example.com", "role": "member"},
        )
    ]


async def test_inviting_an_address_again_replaces_the_pending_invitation(world: World) -> None:
    team = await world.team()
    first = await invite(world, team)
    world.clock.advance(minutes=1)
    second = await invite(world, team, role="viewer")
    assert world.stored_invitation(first.id).revoked_at == world.clock.now()
    pending = await world.invitations.pending_for(
        team.workspace, Email("ivy@example.com"), world.clock.now()
    )
    assert pending is not None
    assert pending.id == second.id


async def test_a_member_cannot_invite(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(
            CreateInvitation(
                actor=await world.actor(team, Role.MEMBER), email="ivy@example.com", role="viewer"
            )
        )
    assert world.tables.invitations == {}


async def test_a_member_cannot_be_invited_again(world: World) -> None:
    team = await world.team()
    with pytest.raises(AlreadyMember):
        await world.execute(
            CreateInvitation(
                actor=await world.actor(team, Role.ADMIN), email="mia@example.com", role="admin"
            )
        )
    assert world.tables.invitations == {}


async def test_nobody_is_invited_as_owner(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidRole):
        await world.execute(
            CreateInvitation(
                actor=await world.actor(team, Role.OWNER), email="ivy@example.com", role="owner"
            )
        )
    assert world.tables.invitations == {}


async def test_an_unknown_role_is_not_invited(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidRole):
        await world.execute(
            CreateInvitation(
                actor=await world.actor(team, Role.ADMIN), email="ivy@example.com", role="boss"
            )
        )


async def test_an_invalid_address_is_not_invited(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidEmail):
        await world.execute(
            CreateInvitation(actor=await world.actor(team, Role.ADMIN), email="ivy", role="member")
        )
    assert world.new_audit_events == []


# -- SendInvitationMail ----------------------------------------------------------------


async def test_the_invitation_mail_carries_a_token_only_its_hash_is_kept(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    message = world.mailer.sent[-1]
    assert message.to == "ivy@example.com"
    assert "Team" in message.subject
    assert f"{PUBLIC_URL}/invitations/accept?token={token}" in message.text
    assert world.tables.invitations[invitation.id].token_hash == world.secrets.fingerprint(token)


async def test_no_mail_goes_out_for_a_revoked_invitation(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    await world.execute(
        RevokeInvitation(actor=await world.actor(team, Role.ADMIN), invitation_id=invitation.id)
    )
    await world.execute(SendInvitationMail(invitation_id=invitation.id))
    assert world.mailer.sent == []


async def test_no_mail_goes_out_for_an_expired_invitation(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    world.clock.advance(days=7)
    await world.execute(SendInvitationMail(invitation_id=invitation.id))
    assert world.mailer.sent == []


async def test_no_mail_goes_out_for_an_unknown_invitation(world: World) -> None:
    await world.execute(SendInvitationMail(invitation_id=InvitationId(world.ids.new())))
    assert world.mailer.sent == []


# -- AcceptInvitation ------------------------------------------------------------------


async def test_the_invited_verified_user_joins_with_the_role(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team, role="viewer")
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    world.clock.advance(hours=2)
    joined = await world.execute(AcceptInvitation(user_id=ivy, token=token))
    assert joined == JoinedWorkspace(
        workspace_id=team.workspace,
        workspace_name="Team",
        membership=Membership(user_id=ivy, role=Role.VIEWER, joined_at=world.clock.now()),
    )
    assert world.role_in(team.workspace, ivy) is Role.VIEWER
    assert world.stored_invitation(invitation.id).accepted_at == world.clock.now()


async def test_accepting_is_audited_as_acceptance_and_new_member(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    await world.execute(AcceptInvitation(user_id=ivy, token=token))
    by_ivy = AuditEvent(
        action=AuditAction.INVITATION_ACCEPTED,
        actor_type=ActorType.USER,
        actor_id=ivy,
        workspace_id=team.workspace,
        subject_user=ivy,
        target_type="invitation",
        target_id=invitation.id,
        metadata={"role": "member"},
    )
    assert world.new_audit_events == [
        by_ivy,
        replace(by_ivy, action=AuditAction.MEMBER_ADDED, target_type="user", target_id=ivy),
    ]
    assert world.secrets_in_audit(token, world.secrets.fingerprint(token)) == []


async def test_an_invitation_is_accepted_only_once(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    await world.execute(AcceptInvitation(user_id=ivy, token=token))
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
async def test_a_missing_or_unknown_token_is_refused(world: World, token: str | None) -> None:
    ivy = await world.user("ivy@example.com")
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))


async def test_an_expired_invitation_cannot_be_accepted(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    world.clock.advance(days=7)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))
    assert ivy not in world.stored(team.workspace).members


async def test_a_revoked_invitation_cannot_be_accepted(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    await world.execute(
        RevokeInvitation(actor=await world.actor(team, Role.ADMIN), invitation_id=invitation.id)
    )
    ivy = await world.user("ivy@example.com")
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))


async def test_a_replaced_invitations_token_no_longer_works(world: World) -> None:
    team = await world.team()
    first = await invite(world, team)
    old_token = await mailed_token(world, first.id)
    await invite(world, team)
    ivy = await world.user("ivy@example.com")
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=old_token))


async def test_someone_else_cannot_accept_the_invitation(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    with pytest.raises(InvitationEmailMismatch):
        await world.execute(AcceptInvitation(user_id=team.outsider, token=token))
    assert team.outsider not in world.stored(team.workspace).members
    assert world.stored_invitation(invitation.id).is_pending(world.clock.now())


async def test_an_unknown_user_cannot_accept(world: World) -> None:
    team = await world.team()
    token = await mailed_token(world, (await invite(world, team)).id)
    with pytest.raises(InvitationEmailMismatch):
        await world.execute(AcceptInvitation(user_id=UserId(world.ids.new()), token=token))


async def test_an_unverified_address_cannot_accept(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com", verified=False)
    with pytest.raises(EmailNotVerified):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))
    assert ivy not in world.stored(team.workspace).members


async def test_accepting_after_joining_otherwise_is_already_member(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    world.stored(team.workspace).add_member(ivy, Role.VIEWER, world.clock.now())
    await world.commit_givens()
    with pytest.raises(AlreadyMember):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))
    assert world.role_in(team.workspace, ivy) is Role.VIEWER


async def test_an_invitation_to_a_deleted_workspace_cannot_be_accepted(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    token = await mailed_token(world, invitation.id)
    ivy = await world.user("ivy@example.com")
    del world.database.workspaces[team.workspace]
    await world.commit_givens()
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(AcceptInvitation(user_id=ivy, token=token))


# -- RevokeInvitation ------------------------------------------------------------------


async def test_an_admin_revokes_a_pending_invitation(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    world.clock.advance(minutes=3)
    await world.execute(
        RevokeInvitation(actor=await world.actor(team, Role.ADMIN), invitation_id=invitation.id)
    )
    assert world.stored_invitation(invitation.id).revoked_at == world.clock.now()


async def test_revoking_is_audited_with_the_address(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    await world.execute(
        RevokeInvitation(actor=await world.actor(team, Role.OWNER), invitation_id=invitation.id)
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.INVITATION_REVOKED,
            actor_type=ActorType.USER,
            actor_id=team.owner,
            workspace_id=team.workspace,
            target_type="invitation",
            target_id=invitation.id,
            metadata={"email": "ivy@example.com"},
        )
    ]


async def test_another_workspaces_invitation_is_not_found(world: World) -> None:
    team = await world.team()
    other = await world.workspace(team.outsider, name="Elsewhere")
    theirs = await world.invitation(other, team.outsider)
    with pytest.raises(InvitationNotFound):
        await world.execute(
            RevokeInvitation(actor=await world.actor(team, Role.OWNER), invitation_id=theirs.id)
        )
    assert world.stored_invitation(theirs.id).revoked_at is None


async def test_revoking_twice_is_invitation_not_found(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    admin = await world.actor(team, Role.ADMIN)
    await world.execute(RevokeInvitation(actor=admin, invitation_id=invitation.id))
    with pytest.raises(InvitationNotFound):
        await world.execute(RevokeInvitation(actor=admin, invitation_id=invitation.id))


async def test_an_expired_invitation_is_not_revoked(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    world.clock.advance(days=7, seconds=1)
    with pytest.raises(InvitationNotFound):
        await world.execute(
            RevokeInvitation(actor=await world.actor(team, Role.ADMIN), invitation_id=invitation.id)
        )


async def test_a_member_cannot_revoke_an_invitation(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    with pytest.raises(InsufficientRole):
        await world.execute(
            RevokeInvitation(
                actor=await world.actor(team, Role.MEMBER), invitation_id=invitation.id
            )
        )
    assert world.stored_invitation(invitation.id).revoked_at is None


async def test_an_invitation_expires_seven_days_after_it_was_made(world: World) -> None:
    team = await world.team()
    invitation = await invite(world, team)
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
