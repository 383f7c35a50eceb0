from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.tenancy import AccessChanges, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.tenancy.errors import WorkspaceNotFound


@dataclass(frozen=True, slots=True, kw_only=True)
class LeaveWorkspace:
    actor: WorkspaceActor


class LeaveWorkspaceHandler:
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

    async def execute(self, cmd: LeaveWorkspace) -> None:
        workspace = await self._workspaces.get(cmd.actor.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound
        role = workspace.leave(cmd.actor.user_id)
        await self._workspaces.save(workspace)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.MEMBER_REMOVED,
                subject_user=cmd.actor.user_id,
                target_type="user",
                target_id=cmd.actor.user_id,
                metadata={"role": role.value, "left": True},
            )
        )
        await self._tx.commit()
        await self._access.changed(cmd.actor.workspace_id)
