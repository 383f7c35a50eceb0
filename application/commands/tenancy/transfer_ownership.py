from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.tenancy import AccessChanges, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.ids import UserId
from domain.tenancy.errors import WorkspaceNotFound
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferOwnership:
    actor: WorkspaceActor
    user_id: UserId


class TransferOwnershipHandler:
    """The new owner must be a member; the old owner stays on as admin."""

    def __init__(
        self,
        workspaces: WorkspaceRepository,
        audit: AuditLog,
        tx: TransactionManager,
        access: AccessChanges,
    ) -> None:
        self._workspaces = workspaces
        self._audit = audit
        self._tx = tx
        self._access = access

    async def execute(self, cmd: TransferOwnership) -> None:
        cmd.actor.require(Permission.OWNERSHIP_TRANSFER)
        workspace = await self._workspaces.get(cmd.actor.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound
        if cmd.user_id == cmd.actor.user_id:
            workspace.role_of(cmd.user_id)
            return
        workspace.transfer_ownership(cmd.actor.user_id, cmd.user_id)
        await self._workspaces.save(workspace)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.OWNERSHIP_TRANSFERRED,
                subject_user=cmd.user_id,
                target_type="user",
                target_id=cmd.user_id,
                metadata={"previous_owner": str(cmd.actor.user_id)},
            )
        )
        await self._tx.commit()
        await self._access.changed(cmd.actor.workspace_id)
