from __future__ import annotations

from dataclasses import dataclass

from application.ports.audit import AuditLog
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.workspace import Workspace, WorkspaceName


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateWorkspace:
    user_id: UserId
    name: str


class CreateWorkspaceHandler:
    def __init__(
        self,
        workspaces: WorkspaceRepository,
        audit: AuditLog,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._workspaces = workspaces
        self._audit = audit
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: CreateWorkspace) -> WorkspaceId:
        workspace = Workspace.create(
            id=WorkspaceId(self._ids.new()),
            name=WorkspaceName.parse(cmd.name),
            owner=cmd.user_id,
            now=self._clock.now(),
        )
        await self._workspaces.add(workspace)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.WORKSPACE_CREATED,
                actor_type=ActorType.USER,
                actor_id=cmd.user_id,
                workspace_id=workspace.id,
                target_type="workspace",
                target_id=workspace.id,
                metadata={"name": workspace.name.value},
            )
        )
        await self._tx.commit()
        return workspace.id
