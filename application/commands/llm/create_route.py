from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.targets import RouteCache
from application.ports.audit import AuditLog
from application.ports.llm_credentials import CredentialRepository
from application.ports.llm_routes import RouteRepository
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.llm.errors import InvalidRoute
from domain.llm.ids import RouteId
from domain.llm.models import ModelName
from domain.llm.route import Route, RouteTarget
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateRoute:
    actor: WorkspaceActor
    name: str
    strategy: str
    targets: tuple[RouteTarget, ...]
    fallback_on: tuple[str, ...] | None = None  # None: the default kinds


async def check_credentials(
    credentials: CredentialRepository,
    workspace_id: WorkspaceId,
    targets: Sequence[RouteTarget],
) -> None:
    """Every credential a target names is one of the workspace's, for the
    target's provider (a key is never sent to another provider)."""
    for index, target in enumerate(targets):
        if target.credential_id is None:
            continue
        field = f"targets[{index}].credential_id"
        credential = await credentials.get(workspace_id, target.credential_id)
        if credential is None:
            raise InvalidRoute(f"{field} is not a credential of this workspace.", field=field)
        provider = ModelName.require(target.model).provider
        if credential.provider is not provider:
            raise InvalidRoute(
                f"{field} is a {credential.provider.value} credential; "
                f"targets[{index}].model is a {provider.value} model.",
                field=field,
            )


def forget_routes(cache: RouteCache, workspace_id: WorkspaceId) -> None:
    """This process sees the change at once; other replicas within the cache's TTL."""
    cache.invalidate_where(lambda key, _: key[0] == workspace_id)


class CreateRouteHandler:
    def __init__(
        self,
        routes: RouteRepository,
        credentials: CredentialRepository,
        audit: AuditLog,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
        cache: RouteCache,
    ) -> None:
        self._routes = routes
        self._credentials = credentials
        self._audit = audit
        self._ids = ids
        self._clock = clock
        self._tx = tx
        self._cache = cache

    async def execute(self, cmd: CreateRoute) -> Route:
        cmd.actor.require(Permission.LLM_MANAGE)
        route = Route.create(
            id=RouteId(self._ids.new()),
            workspace_id=cmd.actor.workspace_id,
            name=cmd.name,
            strategy=cmd.strategy,
            targets=cmd.targets,
            fallback_on=cmd.fallback_on,
            created_by=cmd.actor.user_id,
            now=self._clock.now(),
        )
        await check_credentials(self._credentials, route.workspace_id, route.targets)
        await self._routes.add(route)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_ROUTE_CREATED,
                target_type="llm_route",
                target_id=route.id,
                metadata={
                    "name": route.name,
                    "strategy": route.strategy.value,
                    "targets": len(route.targets),
                },
            )
        )
        await self._tx.commit()
        forget_routes(self._cache, route.workspace_id)
        return route
