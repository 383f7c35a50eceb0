"""Which use case each outbox event triggers. Events without a subscriber are
simply marked delivered.
"""

from __future__ import annotations

from uuid import UUID

from dishka import AsyncContainer

from application.commands.files.release_blobs import ReleaseBlobs, ReleaseBlobsHandler
from application.commands.identity.send_account_mail import SendAccountMail, SendAccountMailHandler
from application.commands.tenancy.send_invitation_mail import (
    SendInvitationMail,
    SendInvitationMailHandler,
)
from domain.common.events import DomainEvent
from domain.files.file import BlobsReleased
from domain.identity.events import EmailVerificationRequested, PasswordResetRequested
from domain.identity.one_time_token import TokenPurpose
from domain.tenancy.events import InvitationCreated, WorkspaceDeleted


class EventDispatcher:
    def __init__(self, container: AsyncContainer) -> None:
        self._container = container

    async def __call__(self, event_id: UUID, event: DomainEvent) -> None:
        async with self._container() as request:
            match event:
                case EmailVerificationRequested(user_id=user_id):
                    mail = await request.get(SendAccountMailHandler)
                    await mail.execute(
                        SendAccountMail(user_id=user_id, purpose=TokenPurpose.VERIFY_EMAIL)
                    )
                case PasswordResetRequested(user_id=user_id):
                    mail = await request.get(SendAccountMailHandler)
                    await mail.execute(
                        SendAccountMail(user_id=user_id, purpose=TokenPurpose.RESET_PASSWORD)
                    )
                case InvitationCreated(invitation_id=invitation_id):
                    invite = await request.get(SendInvitationMailHandler)
                    await invite.execute(SendInvitationMail(invitation_id=invitation_id))
                case BlobsReleased(keys=keys):
                    blobs = await request.get(ReleaseBlobsHandler)
                    await blobs.execute(ReleaseBlobs(keys=keys))
                case WorkspaceDeleted(workspace_id=workspace_id):
                    blobs = await request.get(ReleaseBlobsHandler)
                    await blobs.execute(ReleaseBlobs(workspace_id=workspace_id))
