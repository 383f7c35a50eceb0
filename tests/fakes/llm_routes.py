"""In-memory routes behaving like the Postgres adapters, a minimal credential
store for the routes' checks, and ``RouteWorld`` wiring every route handler
to them as one process would.

``InMemoryRoutes`` is the repository, the reader and the gateway's lookup
over one table, enlisted in the ``FakeUnitOfWork`` so what a request did not
commit is rolled back.
"""

from __future__ import annotations

import builtins
from dataclasses import replace
from datetime import UTC, datetime
from typing import cast
from uuid import UUID

from application.commands.llm.create_route import CreateRoute, CreateRouteHandler
from application.commands.llm.delete_route import DeleteRoute, DeleteRouteHandler
from application.commands.llm.update_route import UpdateRoute, UpdateRouteHandler
from application.common.tenancy import WorkspaceActor
from application.llm.targets import RouteCache
from application.ports.llm_credentials import CredentialRepository
from application.ports.llm_route_reads import RouteReader, RouteView
from application.ports.llm_routes import RouteLookup, RouteRepository
from application.queries.llm.get_route import GetRoute, GetRouteHandler
from application.queries.llm.list_routes import ListRoutes, ListRoutesHandler
from domain.identity.ids import UserId
from domain.llm.credential import Credential, EncryptedSecret
from domain.llm.errors import RouteNameTaken
from domain.llm.ids import CredentialId, RouteId
from domain.llm.models import Provider
from domain.llm.route import Route, RouteTarget
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role, permissions_of
from tests.fakes.audit import RecordingAuditLog
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.transaction import FakeUnitOfWork


def _copy(route: Route) -> Route:
    return replace(route)  # targets and fallback_on are immutable values


class InMemoryRoutes(RouteRepository, RouteLookup):
    """Like the SQL adapters: names unique per workspace, every read scoped to
    the workspace asked for, lists by name. ``lookups`` counts the gateway's reads;
    ``RouteViews`` is the reader over the same rows."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self.rows: dict[RouteId, Route] = {}
        self.lookups = 0
        uow.enlist(self)

    def snapshot(self) -> object:
        return {k: _copy(v) for k, v in self.rows.items()}

    def restore(self, snapshot: object) -> None:
        self.rows = {k: _copy(v) for k, v in cast(dict[RouteId, Route], snapshot).items()}

    def in_workspace(self, workspace_id: WorkspaceId) -> builtins.list[Route]:
        return sorted(
            (r for r in self.rows.values() if r.workspace_id == workspace_id),
            key=lambda r: (r.name, r.id),
        )

    def _name_taken(self, route: Route) -> bool:
        return any(
            r.name == route.name and r.id != route.id for r in self.in_workspace(route.workspace_id)
        )

    # repository

    async def add(self, route: Route) -> None:
        if self._name_taken(route):
            raise RouteNameTaken(field="name")
        self.rows[route.id] = _copy(route)

    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> Route | None:
        found = self.rows.get(route_id)
        return _copy(found) if found and found.workspace_id == workspace_id else None

    async def save(self, route: Route) -> None:
        found = self.rows.get(route.id)
        if found is None or found.workspace_id != route.workspace_id:
            return
        if self._name_taken(route):
            raise RouteNameTaken(field="name")
        self.rows[route.id] = _copy(route)

    async def remove(self, route: Route) -> None:
        found = self.rows.get(route.id)
        if found is not None and found.workspace_id == route.workspace_id:
            del self.rows[route.id]

    # lookup

    async def by_name(self, workspace_id: WorkspaceId, name: str) -> Route | None:
        self.lookups += 1
        return next((_copy(r) for r in self.in_workspace(workspace_id) if r.name == name), None)

    async def of_workspace(self, workspace_id: WorkspaceId) -> builtins.list[Route]:
        self.lookups += 1
        return [_copy(r) for r in self.in_workspace(workspace_id)]


class RouteViews(RouteReader):
    """Like SqlRouteReader, over the rows of an ``InMemoryRoutes``."""

    def __init__(self, routes: InMemoryRoutes) -> None:
        self._routes = routes

    async def list(self, workspace_id: WorkspaceId) -> builtins.list[RouteView]:
        return [RouteView.of(r) for r in self._routes.in_workspace(workspace_id)]

    async def get(self, workspace_id: WorkspaceId, route_id: RouteId) -> RouteView | None:
        found = await self._routes.get(workspace_id, route_id)
        return RouteView.of(found) if found else None


class StoredCredentials(CredentialRepository):
    """Just enough of a credential store for the routes' checks."""

    def __init__(self) -> None:
        self.rows: dict[CredentialId, Credential] = {}

    def put(self, workspace_id: WorkspaceId, provider: Provider, number: int) -> CredentialId:
        credential_id = CredentialId(UUID(f"0190cccc-0000-7000-8000-{number:012x}"))
        self.rows[credential_id] = Credential(
            id=credential_id,
            workspace_id=workspace_id,
            provider=provider,
            name=f"{provider.value}-{number}",
            secret=EncryptedSecret(key_id="k1", nonce=b"n" * 12, ciphertext=b"sealed"),
            last4="",
            base_url=None,
            created_by=None,
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        return credential_id

    async def add(self, credential: Credential) -> None:
        self.rows[credential.id] = credential

    async def get(
        self, workspace_id: WorkspaceId, credential_id: CredentialId
    ) -> Credential | None:
        found = self.rows.get(credential_id)
        return found if found and found.workspace_id == workspace_id else None

    async def remove(self, credential: Credential) -> None:
        self.rows.pop(credential.id, None)


class RouteWorld:
    """The route handlers as one process would run them, over fakes."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = FakeClock()
        self.ids = SequentialIds()
        self.audit = RecordingAuditLog(self.uow)
        self.routes = InMemoryRoutes(self.uow)
        self.views = RouteViews(self.routes)
        self.credentials = StoredCredentials()
        self.cache = RouteCache(ttl=60.0)
        self.workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
        self.other_workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000b"))
        self.admin = UserId(UUID("0190eeee-0000-7000-8000-000000000001"))

    def actor(
        self, role: Role = Role.ADMIN, workspace: WorkspaceId | None = None
    ) -> WorkspaceActor:
        return WorkspaceActor(
            workspace_id=workspace or self.workspace,
            user_id=self.admin,
            role=role,
            permissions=permissions_of(role),
        )

    async def create(self, cmd: CreateRoute) -> Route:
        handler = CreateRouteHandler(
            self.routes, self.credentials, self.audit, self.ids, self.clock, self.uow, self.cache
        )
        try:
            return await handler.execute(cmd)
        finally:
            self.uow.rollback()  # what the request did not commit

    async def add(
        self,
        name: str = "fast",
        *models: str,
        strategy: str = "priority",
        workspace: WorkspaceId | None = None,
    ) -> Route:
        targets = tuple(RouteTarget(model=m) for m in (models or ("openai/gpt-4o-mini",)))
        return await self.create(
            CreateRoute(
                actor=self.actor(workspace=workspace),
                name=name,
                strategy=strategy,
                targets=targets,
            )
        )

    async def update(self, cmd: UpdateRoute) -> Route:
        handler = UpdateRouteHandler(
            self.routes, self.credentials, self.audit, self.clock, self.uow, self.cache
        )
        try:
            return await handler.execute(cmd)
        finally:
            self.uow.rollback()

    async def delete(self, cmd: DeleteRoute) -> None:
        handler = DeleteRouteHandler(self.routes, self.audit, self.uow, self.cache)
        try:
            await handler.execute(cmd)
        finally:
            self.uow.rollback()

    async def list(self, role: Role = Role.ADMIN) -> builtins.list[RouteView]:
        return await ListRoutesHandler(self.views).execute(ListRoutes(actor=self.actor(role)))

    async def get(self, route_id: RouteId, role: Role = Role.ADMIN) -> RouteView:
        return await GetRouteHandler(self.views).execute(
            GetRoute(actor=self.actor(role), route_id=route_id)
        )
