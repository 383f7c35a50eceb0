"""Ports for routes."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from domain.llm.ids import RouteId
from domain.llm.route import Route
from domain.tenancy.ids import WorkspaceId


class RouteRepository(Protocol):
    @abstractmethod
    async def add(self, route: Route) -> None:
        """Raises RouteNameTaken when the workspace already has a route of that name."""

    @abstractmethod
    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> Route | None: ...

    @abstractmethod
    async def save(self, route: Route) -> None: ...

    @abstractmethod
    async def remove(self, route: Route) -> None: ...


class RouteLookup(Protocol):
    @abstractmethod
    async def by_name(self, workspace_id: WorkspaceId, name: str) -> Route | None: ...

    @abstractmethod
    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Route]: ...
