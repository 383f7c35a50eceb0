from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.identity import UserRepository
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import InvitationRepository, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.email import Email
from domain.tenancy.errors import AlreadyMember, WorkspaceNotFound
from domain.tenancy.ids import InvitationId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Permission, Role


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateInvitation:
    actor: WorkspaceActor
    email: str
    role: str


class CreateInvitationHandler:
    """Invites an address; inviting it again replaces the pending invitation."""

    def __init__(
        self,
        workspaces: WorkspaceRepository,
        invitations: InvitationRepository,
        users: UserRepository,
        audit: AuditLog,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._workspaces = workspaces
        self._invitations = invitations
        self._users = users
        self._audit = audit
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: CreateInvitation) -> Invitation:
        cmd.actor.require(Permission.INVITATIONS_MANAGE)
        role = Role.parse(cmd.role)
        email = Email.parse(cmd.email)
        workspace = await self._workspaces.get(cmd.actor.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound
        workspace.ensure_can_grant(cmd.actor.user_id, role, Permission.INVITATIONS_MANAGE)
        invitee = await self._users.get_by_email(email)
        if invitee is not None and invitee.id in workspace.members:
            raise AlreadyMember
        now = self._clock.now()
        previous = await self._invitations.pending_for(workspace.id, email, now)
        if previous is not None:
            previous.revoke(now)
            await self._invitations.save(previous)
        invitation = Invitation.create(
            id=InvitationId(self._ids.new()),
            workspace_id=workspace.id,
            email=email,
            role=role,
            invited_by=cmd.actor.user_id,
            now=now,
        )
        await self._invitations.add(invitation)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.INVITATION_CREATED,
                target_type="invitation",
                target_id=invitation.id,
                metadata={"email": email.value, "role": role.value},
            )
        )
        await self._tx.commit()
        return invitation
