from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.system import Clock
from application.ports.tenancy import InvitationRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.tenancy.errors import InvitationNotFound
from domain.tenancy.ids import InvitationId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeInvitation:
    actor: WorkspaceActor
    invitation_id: InvitationId


class RevokeInvitationHandler:
    def __init__(
        self,
        invitations: InvitationRepository,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._invitations = invitations
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RevokeInvitation) -> None:
        cmd.actor.require(Permission.INVITATIONS_MANAGE)
        now = self._clock.now()
        invitation = await self._invitations.get(cmd.invitation_id)
        if (
            invitation is None
            or invitation.workspace_id != cmd.actor.workspace_id
            or not invitation.is_pending(now)
        ):
            raise InvitationNotFound
        invitation.revoke(now)
        await self._invitations.save(invitation)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.INVITATION_REVOKED,
                target_type="invitation",
                target_id=invitation.id,
                metadata={"email": invitation.email.value},
            )
        )
        await self._tx.commit()
