from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.tenancy_reads import MemberView, WorkspaceReader
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListMembers:
    actor: WorkspaceActor


class ListMembersHandler:
    def __init__(self, workspaces: WorkspaceReader) -> None:
        self._workspaces = workspaces

    async def execute(self, q: ListMembers) -> list[MemberView]:
        q.actor.require(Permission.MEMBERS_READ)
        return await self._workspaces.members(q.actor.workspace_id)
