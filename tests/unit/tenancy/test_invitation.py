"""An invitation's life: pending for seven days, until accepted or revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.tenancy.events import InvitationCreated
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import INVITATION_LIFETIME, Invitation
from domain.tenancy.roles import Role

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def invitation() -> Invitation:
    return Invitation.create(
        id=InvitationId(UUID(int=1)),
        workspace_id=WorkspaceId(UUID(int=2)),
        email=Email.parse("ivy@example.com"),
        role=Role.MEMBER,
        invited_by=UserId(UUID(int=3)),
        now=NOW,
    )


def test_an_invitation_lasts_seven_days() -> None:
    assert timedelta(days=7) == INVITATION_LIFETIME
    assert invitation().expires_at == NOW + timedelta(days=7)


def test_creating_an_invitation_records_that_a_mail_is_owed() -> None:
    created = invitation()
    assert created.pull_events() == [
        InvitationCreated(workspace_id=WorkspaceId(UUID(int=2)), invitation_id=created.id)
    ]


def test_a_new_invitation_is_pending() -> None:
    assert invitation().is_pending(NOW)


def test_an_invitation_is_pending_until_just_before_it_expires() -> None:
    created = invitation()
    assert created.is_pending(created.expires_at - timedelta(microseconds=1))
    assert not created.is_pending(created.expires_at)


def test_an_accepted_invitation_is_no_longer_pending() -> None:
    accepted = invitation()
    accepted.accept(NOW + timedelta(hours=1))
    assert accepted.accepted_at == NOW + timedelta(hours=1)
    assert not accepted.is_pending(NOW + timedelta(hours=2))


def test_a_revoked_invitation_is_no_longer_pending() -> None:
    revoked = invitation()
    revoked.revoke(NOW + timedelta(hours=1))
    assert revoked.revoked_at == NOW + timedelta(hours=1)
    assert not revoked.is_pending(NOW + timedelta(hours=2))
