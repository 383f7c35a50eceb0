from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.tenancy_reads import WorkspaceReader, WorkspaceView
from domain.tenancy.errors import WorkspaceNotFound
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class GetWorkspace:
    actor: WorkspaceActor


class GetWorkspaceHandler:
    def __init__(self, workspaces: WorkspaceReader) -> None:
        self._workspaces = workspaces

    async def execute(self, q: GetWorkspace) -> WorkspaceView:
        q.actor.require(Permission.WORKSPACE_READ)
        view = await self._workspaces.get_for_user(q.actor.workspace_id, q.actor.user_id)
        if view is None:
            raise WorkspaceNotFound
        return view
