from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.llm_route_reads import RouteReader, RouteView
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListRoutes:
    actor: WorkspaceActor


class ListRoutesHandler:
    """The workspace's routes by name: members and up may see what they can call."""

    def __init__(self, routes: RouteReader) -> None:
        self._routes = routes

    async def execute(self, q: ListRoutes) -> list[RouteView]:
        q.actor.require(Permission.LLM_USE)
        return await self._routes.list(q.actor.workspace_id)
