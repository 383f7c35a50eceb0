"""Worker-side: mint the invitation's token and mail it (see SendAccountMail for why here)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from application.common.identity import IdentitySettings
from application.ports.mail import Mailer, MailMessage
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.tenancy import InvitationRepository, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.tenancy.ids import InvitationId


@dataclass(frozen=True, slots=True, kw_only=True)
class SendInvitationMail:
    invitation_id: InvitationId


class SendInvitationMailHandler:
    def __init__(
        self,
        invitations: InvitationRepository,
        workspaces: WorkspaceRepository,
        secrets: SecretTokens,
        mailer: Mailer,
        settings: IdentitySettings,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._invitations = invitations
        self._workspaces = workspaces
        self._secrets = secrets
        self._mailer = mailer
        self._settings = settings
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: SendInvitationMail) -> None:
        invitation = await self._invitations.get(cmd.invitation_id)
        if invitation is None or not invitation.is_pending(self._clock.now()):
            return
        workspace = await self._workspaces.get(invitation.workspace_id)
        if workspace is None:
            return
        token = self._secrets.generate()
        await self._invitations.set_token(invitation.id, self._secrets.fingerprint(token))
        await self._tx.commit()
        link = f"{self._settings.public_url}/invitations/accept?token={quote(token)}"
        product = self._settings.product_name
        await self._mailer.send(
            MailMessage(
                to=invitation.email.value,
                subject=f"You are invited to {workspace.name.value} on {product}",
                text=(
                    f"You have been invited to join the workspace {workspace.name.value} "
                    f"as {invitation.role.value}.\n\n"
                    f"Accept within 7 days, signed in with this address:\n\n{link}\n\n"
                    f"Or send this token to POST /api/v1/invitations/accept:\n\n{token}\n"
                ),
            )
        )
