from __future__ import annotations

from dataclasses import dataclass

from application.commands.llm.create_route import check_credentials, forget_routes
from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.targets import RouteCache
from application.ports.audit import AuditLog
from application.ports.llm_credentials import CredentialRepository
from application.ports.llm_routes import RouteRepository
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.llm.errors import RouteNotFound
from domain.llm.ids import RouteId
from domain.llm.route import Route, RouteTarget
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateRoute:
    """A partial change: a field left None keeps its value."""

    actor: WorkspaceActor
    route_id: RouteId
    name: str | None = None
    strategy: str | None = None
    targets: tuple[RouteTarget, ...] | None = None
    fallback_on: tuple[str, ...] | None = None


class UpdateRouteHandler:
    def __init__(
        self,
        routes: RouteRepository,
        credentials: CredentialRepository,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
        cache: RouteCache,
    ) -> None:
        self._routes = routes
        self._credentials = credentials
        self._audit = audit
        self._clock = clock
        self._tx = tx
        self._cache = cache

    async def execute(self, cmd: UpdateRoute) -> Route:
        cmd.actor.require(Permission.LLM_MANAGE)
        route = await self._routes.get(cmd.actor.workspace_id, cmd.route_id)
        if route is None:
            raise RouteNotFound
        old_name = route.name
        changed = route.update(
            now=self._clock.now(),
            name=cmd.name,
            strategy=cmd.strategy,
            targets=cmd.targets,
            fallback_on=cmd.fallback_on,
        )
        if not changed:
            return route
        if "targets" in changed:
            await check_credentials(self._credentials, route.workspace_id, route.targets)
        await self._routes.save(route)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_ROUTE_UPDATED,
                target_type="llm_route",
                target_id=route.id,
                metadata={"name": route.name, "from": old_name, "changed": ",".join(changed)},
            )
        )
        await self._tx.commit()
        forget_routes(self._cache, route.workspace_id)
        return route
