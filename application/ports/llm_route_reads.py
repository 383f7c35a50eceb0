"""Reads of routes for their API: views straight from storage."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.identity.ids import UserId
from domain.llm.ids import RouteId
from domain.llm.route import Route, RouteTarget, ordered_kinds
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteView:
    id: RouteId
    name: str
    strategy: str
    targets: tuple[RouteTarget, ...]
    fallback_on: tuple[str, ...]  # in the canonical order of error kinds
    created_by: UserId | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, route: Route) -> RouteView:
        return cls(
            id=route.id,
            name=route.name,
            strategy=route.strategy.value,
            targets=route.targets,
            fallback_on=ordered_kinds(route.fallback_on),
            created_by=route.created_by,
            created_at=route.created_at,
            updated_at=route.updated_at,
        )


class RouteReader(Protocol):
    @abstractmethod
    async def list(self, workspace_id: WorkspaceId) -> list[RouteView]:
        """The workspace's routes by name."""

    @abstractmethod
    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> RouteView | None: ...
