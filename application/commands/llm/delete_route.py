from __future__ import annotations

from dataclasses import dataclass

from application.commands.llm.create_route import forget_routes
from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.targets import RouteCache
from application.ports.audit import AuditLog
from application.ports.llm_routes import RouteRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.llm.errors import RouteNotFound
from domain.llm.ids import RouteId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteRoute:
    actor: WorkspaceActor
    route_id: RouteId


class DeleteRouteHandler:
    """Calls naming the route fail with model_not_found from then on: at once
    in this process, within the route cache's TTL in other replicas."""

    def __init__(
        self, routes: RouteRepository, audit: AuditLog, tx: TransactionManager, cache: RouteCache
    ) -> None:
        self._routes = routes
        self._audit = audit
        self._tx = tx
        self._cache = cache

    async def execute(self, cmd: DeleteRoute) -> None:
        cmd.actor.require(Permission.LLM_MANAGE)
        route = await self._routes.get(cmd.actor.workspace_id, cmd.route_id)
        if route is None:
            raise RouteNotFound
        await self._routes.remove(route)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_ROUTE_DELETED,
                target_type="llm_route",
                target_id=route.id,
                metadata={"name": route.name},
            )
        )
        await self._tx.commit()
        forget_routes(self._cache, route.workspace_id)
