from __future__ import annotations

from dataclasses import dataclass

from application.ports.tenancy_reads import WorkspaceReader, WorkspaceView
from domain.identity.ids import UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ListWorkspaces:
    user_id: UserId


class ListWorkspacesHandler:
    """The caller's workspaces with their role in each, personal first."""

    def __init__(self, workspaces: WorkspaceReader) -> None:
        self._workspaces = workspaces

    async def execute(self, q: ListWorkspaces) -> list[WorkspaceView]:
        return await self._workspaces.list_for_user(q.user_id)
