from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.llm_route_reads import RouteReader, RouteView
from domain.llm.errors import RouteNotFound
from domain.llm.ids import RouteId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class GetRoute:
    actor: WorkspaceActor
    route_id: RouteId


class GetRouteHandler:
    def __init__(self, routes: RouteReader) -> None:
        self._routes = routes

    async def execute(self, q: GetRoute) -> RouteView:
        q.actor.require(Permission.LLM_USE)
        view = await self._routes.get(q.actor.workspace_id, q.route_id)
        if view is None:
            raise RouteNotFound
        return view
