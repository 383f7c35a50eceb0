from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.system import Clock
from application.ports.tenancy import WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.tenancy.errors import WorkspaceNotFound
from domain.tenancy.roles import Permission
from domain.tenancy.workspace import WorkspaceName


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameWorkspace:
    actor: WorkspaceActor
    name: str


class RenameWorkspaceHandler:
    def __init__(
        self, workspaces: WorkspaceRepository, audit: AuditLog, clock: Clock, tx: TransactionManager
    ) -> None:
        self._workspaces = workspaces
        self._audit = audit
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RenameWorkspace) -> None:
        cmd.actor.require(Permission.WORKSPACE_RENAME)
        name = WorkspaceName.parse(cmd.name)
        workspace = await self._workspaces.get(cmd.actor.workspace_id)
        if workspace is None:
            raise WorkspaceNotFound
        old = workspace.name.value
        workspace.rename(cmd.actor.user_id, name, self._clock.now())
        await self._workspaces.save(workspace)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.WORKSPACE_RENAMED,
                target_type="workspace",
                target_id=workspace.id,
                metadata={"from": old, "to": name.value},
            )
        )
        await self._tx.commit()
