"""Routes (admin+ to change, member+ to read): a name usable wherever a model
name is, trying its targets by a strategy and falling back on chosen errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from application.commands.llm.create_route import CreateRoute, CreateRouteHandler
from application.commands.llm.delete_route import DeleteRoute, DeleteRouteHandler
from application.commands.llm.update_route import UpdateRoute, UpdateRouteHandler
from application.common.tenancy import WorkspaceActor
from application.ports.llm_route_reads import RouteView
from application.queries.llm.get_route import GetRoute, GetRouteHandler
from application.queries.llm.list_routes import ListRoutes, ListRoutesHandler
from domain.llm.errors import ALL_KINDS
from domain.llm.ids import CredentialId, RouteId
from domain.llm.route import RouteTarget, Strategy
from domain.tenancy.roles import Permission
from entrypoints.http.tenancy.controller import needs

# Loose bounds against oversized bodies; the domain states the real rules.
RouteName = Annotated[str, msgspec.Meta(max_length=256, examples=["fast-chat"])]
StrategyName = Annotated[
    str,
    msgspec.Meta(
        max_length=64, examples=["priority"], description=", ".join(s.value for s in Strategy)
    ),
]
ModelId = Annotated[str, msgspec.Meta(max_length=1_024, examples=["openai/gpt-4o-mini"])]
ErrorKinds = Annotated[
    list[Annotated[str, msgspec.Meta(max_length=64)]],
    msgspec.Meta(max_length=32, description=", ".join(ALL_KINDS)),
]


class TargetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: ModelId
    credential_id: UUID | None = None
    weight: int = 1
    priority: int = 0

    def to_target(self) -> RouteTarget:
        return RouteTarget(
            model=self.model,
            credential_id=CredentialId(self.credential_id) if self.credential_id else None,
            weight=self.weight,
            priority=self.priority,
        )


Targets = Annotated[list[TargetIn], msgspec.Meta(max_length=64)]


class RouteIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: RouteName
    strategy: StrategyName
    targets: Targets
    fallback_on: ErrorKinds | None = None  # None: rate_limited, server_error, timeout, overloaded


class RoutePatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    name: RouteName | msgspec.UnsetType = msgspec.UNSET
    strategy: StrategyName | msgspec.UnsetType = msgspec.UNSET
    targets: Targets | msgspec.UnsetType = msgspec.UNSET
    fallback_on: ErrorKinds | msgspec.UnsetType = msgspec.UNSET


class TargetOut(msgspec.Struct, kw_only=True):
    model: str
    credential_id: UUID | None
    weight: int
    priority: int


class RouteOut(msgspec.Struct, kw_only=True):
    id: UUID
    name: str
    strategy: str
    targets: list[TargetOut]
    fallback_on: list[str]
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, v: RouteView) -> RouteOut:
        return cls(
            id=v.id,
            name=v.name,
            strategy=v.strategy,
            targets=[
                TargetOut(
                    model=t.model,
                    credential_id=t.credential_id,
                    weight=t.weight,
                    priority=t.priority,
                )
                for t in v.targets
            ],
            fallback_on=list(v.fallback_on),
            created_by=v.created_by,
            created_at=v.created_at,
            updated_at=v.updated_at,
        )


READ = needs(Permission.LLM_USE)
MANAGE = needs(Permission.LLM_MANAGE)


class RouteController(Controller):
    path = "/api/v1/llm/routes"
    tags = ["llm routes"]

    @post("/", opt=MANAGE)
    async def create(
        self,
        data: JSONBody[RouteIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[CreateRouteHandler],
    ) -> RouteOut:
        route = await handler.execute(
            CreateRoute(
                actor=actor,
                name=data.name,
                strategy=data.strategy,
                targets=tuple(t.to_target() for t in data.targets),
                fallback_on=tuple(data.fallback_on) if data.fallback_on is not None else None,
            )
        )
        return RouteOut.of(RouteView.of(route))

    @get("/", opt=READ)
    async def list_routes(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[ListRoutesHandler]
    ) -> list[RouteOut]:
        return [RouteOut.of(v) for v in await handler.execute(ListRoutes(actor=actor))]

    @get("/{route_id:uuid}", opt=READ)
    async def get_route(
        self,
        route_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[GetRouteHandler],
    ) -> RouteOut:
        return RouteOut.of(await handler.execute(GetRoute(actor=actor, route_id=RouteId(route_id))))

    @patch("/{route_id:uuid}", opt=MANAGE)
    async def update(
        self,
        route_id: FromPath[UUID],
        data: JSONBody[RoutePatch],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[UpdateRouteHandler],
    ) -> RouteOut:
        route = await handler.execute(
            UpdateRoute(
                actor=actor,
                route_id=RouteId(route_id),
                name=_given(data.name),
                strategy=_given(data.strategy),
                targets=(
                    None
                    if isinstance(data.targets, msgspec.UnsetType)
                    else tuple(t.to_target() for t in data.targets)
                ),
                fallback_on=(
                    None
                    if isinstance(data.fallback_on, msgspec.UnsetType)
                    else tuple(data.fallback_on)
                ),
            )
        )
        return RouteOut.of(RouteView.of(route))

    @delete("/{route_id:uuid}", opt=MANAGE)
    async def remove(
        self,
        route_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[DeleteRouteHandler],
    ) -> None:
        await handler.execute(DeleteRoute(actor=actor, route_id=RouteId(route_id)))


def _given(value: str | msgspec.UnsetType) -> str | None:
    return None if isinstance(value, msgspec.UnsetType) else value
