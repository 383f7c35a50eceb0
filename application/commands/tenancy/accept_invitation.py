from __future__ import annotations

from dataclasses import dataclass

from application.ports.audit import AuditLog
from application.ports.identity import UserRepository
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.tenancy import AccessChanges, InvitationRepository, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.errors import InvalidOneTimeToken
from domain.identity.ids import UserId
from domain.tenancy.errors import EmailNotVerified, InvitationEmailMismatch
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.workspace import Membership


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinedWorkspace:
    workspace_id: WorkspaceId
    workspace_name: str
    membership: Membership


@dataclass(frozen=True, slots=True, kw_only=True)
class AcceptInvitation:
    user_id: UserId
    token: str | None


class AcceptInvitationHandler:
    """Joins the workspace. Only the invited, verified address may accept."""

    def __init__(
        self,
        invitations: InvitationRepository,
        workspaces: WorkspaceRepository,
        users: UserRepository,
        secrets: SecretTokens,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
        access: AccessChanges,
    ) -> None:
        self._invitations = invitations
        self._workspaces = workspaces
        self._users = users
        self._secrets = secrets
        self._audit = audit
        self._clock = clock
        self._tx = tx
        self._access = access

    async def execute(self, cmd: AcceptInvitation) -> JoinedWorkspace:
        if not cmd.token:
            raise InvalidOneTimeToken
        now = self._clock.now()
        invitation = await self._invitations.by_token(self._secrets.fingerprint(cmd.token))
        if invitation is None or not invitation.is_pending(now):
            raise InvalidOneTimeToken
        user = await self._users.get(cmd.user_id)
        if user is None or user.email != invitation.email:
            raise InvitationEmailMismatch
        if not user.email_verified:
            raise EmailNotVerified
        workspace = await self._workspaces.get(invitation.workspace_id)
        if workspace is None:
            raise InvalidOneTimeToken
        membership = workspace.add_member(user.id, invitation.role, now)
        invitation.accept(now)
        await self._workspaces.save(workspace)
        await self._invitations.save(invitation)
        for action, target_type, target_id in (
            (AuditAction.INVITATION_ACCEPTED, "invitation", invitation.id),
            (AuditAction.MEMBER_ADDED, "user", user.id),
        ):
            await self._audit.record(
                AuditEvent(
                    action=action,
                    actor_type=ActorType.USER,
                    actor_id=user.id,
                    workspace_id=workspace.id,
                    subject_user=user.id,
                    target_type=target_type,
                    target_id=target_id,
                    metadata={"role": invitation.role.value},
                )
            )
        await self._tx.commit()
        await self._access.changed(workspace.id)
        return JoinedWorkspace(
            workspace_id=workspace.id, workspace_name=workspace.name.value, membership=membership
        )
