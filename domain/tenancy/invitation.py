from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.common.events import Aggregate
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.tenancy.events import InvitationCreated
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.roles import Role

INVITATION_LIFETIME = timedelta(days=7)


@dataclass(kw_only=True, eq=False)
class Invitation(Aggregate):
    id: InvitationId
    workspace_id: WorkspaceId
    email: Email
    role: Role
    invited_by: UserId
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def create(
        cls,
        *,
        id: InvitationId,
        workspace_id: WorkspaceId,
        email: Email,
        role: Role,
        invited_by: UserId,
        now: datetime,
    ) -> Invitation:
        invitation = cls(
            id=id,
            workspace_id=workspace_id,
            email=email,
            role=role,
            invited_by=invited_by,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        invitation.record(InvitationCreated(workspace_id=workspace_id, invitation_id=id))
        return invitation

    def is_pending(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at

    def accept(self, now: datetime) -> None:
        self.accepted_at = now

    def revoke(self, now: datetime) -> None:
        self.revoked_at = now
