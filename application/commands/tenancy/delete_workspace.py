from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.tenancy import AccessChanges, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.tenancy.errors import WorkspaceNotFound
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteWorkspace:
    actor: WorkspaceActor


class DeleteWorkspaceHandler:
    """Deletes the workspace and, through foreign keys, everything in it.

    The audit entries stay: they record what happened, including this.
    """

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

    async def execute(self, cmd: DeleteWorkspace) -> None:
        cmd.actor.require(Permission.WORKSPACE_DELETE)
        workspace = await self._workspaces.get(cmd.actor.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound
        workspace.delete(cmd.actor.user_id)
        await self._workspaces.save(workspace)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.WORKSPACE_DELETED,
                target_type="workspace",
                target_id=workspace.id,
                metadata={"name": workspace.name.value},
            )
        )
        await self._tx.commit()
        await self._access.changed(cmd.actor.workspace_id)
