"""Routes: the gateway's aliases over several targets, one row each, targets as JSONB."""

from __future__ import annotations

import builtins
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import constraint_name, translated
from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import llm_routes
from application.ports.llm_route_reads import RouteReader, RouteView
from application.ports.llm_routes import RouteLookup, RouteRepository
from domain.llm.errors import RouteNameTaken
from domain.llm.ids import CredentialId, RouteId
from domain.llm.route import Route, RouteTarget, Strategy, ordered_kinds
from domain.tenancy.ids import WorkspaceId

NAME_CONSTRAINT = "uq_llm_routes_workspace_id_name"
# Rows of a strategy this version knows (a newer version may have written others).
_KNOWN_STRATEGY = llm_routes.c.strategy.in_([s.value for s in Strategy])


def _targets_json(targets: tuple[RouteTarget, ...]) -> list[dict[str, Any]]:
    return [
        {
            "model": t.model,
            "credential_id": str(t.credential_id) if t.credential_id else None,
            "weight": t.weight,
            "priority": t.priority,
        }
        for t in targets
    ]


def _targets(raw: list[dict[str, Any]]) -> tuple[RouteTarget, ...]:
    return tuple(
        RouteTarget(
            model=t["model"],
            credential_id=CredentialId(UUID(t["credential_id"]))
            if t.get("credential_id")
            else None,
            weight=int(t.get("weight", 1)),
            priority=int(t.get("priority", 0)),
        )
        for t in raw
    )


def _route(row: RowMapping) -> Route:
    return Route(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        strategy=Strategy(row["strategy"]),
        targets=_targets(row["targets"]),
        fallback_on=frozenset(row["fallback_on"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _values(route: Route) -> dict[str, Any]:
    return {
        "name": route.name,
        "strategy": route.strategy.value,
        "targets": _targets_json(route.targets),
        "fallback_on": list(ordered_kinds(route.fallback_on)),
        "updated_at": route.updated_at,
    }


class SqlRouteRepository(UnitOfWorkStatements, RouteRepository):
    async def add(self, route: Route) -> None:
        inserted = await self._execute(
            pg_insert(llm_routes)
            .values(
                id=route.id,
                workspace_id=route.workspace_id,
                created_by=route.created_by,
                created_at=route.created_at,
                **_values(route),
            )
            .on_conflict_do_nothing(constraint=NAME_CONSTRAINT)
            .returning(llm_routes.c.id)
        )
        if inserted.scalar_one_or_none() is None:
            raise RouteNameTaken(field="name")

    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> Route | None:
        row = (
            (
                await self._execute(
                    select(llm_routes)
                    .where(
                        llm_routes.c.workspace_id == workspace_id,
                        llm_routes.c.id == route_id,
                        _KNOWN_STRATEGY,
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return _route(row) if row else None

    async def save(self, route: Route) -> None:
        """Raises RouteNameTaken when a rename meets another route's name (the
        transaction is then spoilt: the command fails and nothing is kept)."""
        statement = (
            update(llm_routes)
            .where(llm_routes.c.workspace_id == route.workspace_id, llm_routes.c.id == route.id)
            .values(**_values(route))
        )
        try:
            await self._connection.execute(statement)
        except IntegrityError as exc:
            if constraint_name(exc) == NAME_CONSTRAINT:
                raise RouteNameTaken(field="name") from None
            with translated():
                raise

    async def remove(self, route: Route) -> None:
        await self._execute(
            delete(llm_routes).where(
                llm_routes.c.workspace_id == route.workspace_id, llm_routes.c.id == route.id
            )
        )


_VIEW_COLUMNS = (
    llm_routes.c.id,
    llm_routes.c.name,
    llm_routes.c.strategy,
    llm_routes.c.targets,
    llm_routes.c.fallback_on,
    llm_routes.c.created_by,
    llm_routes.c.created_at,
    llm_routes.c.updated_at,
)


def _view(row: RowMapping) -> RouteView:
    return RouteView(
        id=row["id"],
        name=row["name"],
        strategy=row["strategy"],
        targets=_targets(row["targets"]),
        fallback_on=ordered_kinds(row["fallback_on"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlRouteReader(Statements, RouteReader):
    async def list(self, workspace_id: WorkspaceId) -> builtins.list[RouteView]:
        rows = await self._execute(
            select(*_VIEW_COLUMNS)
            .where(llm_routes.c.workspace_id == workspace_id, _KNOWN_STRATEGY)
            .order_by(llm_routes.c.name, llm_routes.c.id)
        )
        return [_view(row) for row in rows.mappings()]

    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> RouteView | None:
        row = (
            (
                await self._execute(
                    select(*_VIEW_COLUMNS).where(
                        llm_routes.c.workspace_id == workspace_id,
                        llm_routes.c.id == route_id,
                        _KNOWN_STRATEGY,
                    )
                )
            )
            .mappings()
            .first()
        )
        return _view(row) if row else None


class SqlRouteLookup(RouteLookup):
    """The gateway's read, at APP scope: each call takes a pooled connection for
    one statement and gives it back (the gateway caches the answers)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_name(self, workspace_id: WorkspaceId, name: str) -> Route | None:
        with translated():
            async with self._engine.connect() as connection:
                row = (
                    (
                        await connection.execute(
                            select(llm_routes).where(
                                llm_routes.c.workspace_id == workspace_id,
                                llm_routes.c.name == name,
                                _KNOWN_STRATEGY,
                            )
                        )
                    )
                    .mappings()
                    .first()
                )
                return _route(row) if row else None

    async def of_workspace(self, workspace_id: WorkspaceId) -> builtins.list[Route]:
        with translated():
            async with self._engine.connect() as connection:
                rows = await connection.execute(
                    select(llm_routes)
                    .where(llm_routes.c.workspace_id == workspace_id, _KNOWN_STRATEGY)
                    .order_by(llm_routes.c.name, llm_routes.c.id)
                )
                return [_route(row) for row in rows.mappings()]
