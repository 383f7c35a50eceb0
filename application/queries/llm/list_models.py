"""What a caller can name as a model: the catalogue's models of every provider
the workspace can reach, and the workspace's routes."""

from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.endpoints import EndpointResolver
from application.ports.llm import ModelCatalogue
from application.ports.llm_routes import RouteLookup
from domain.llm.models import Capabilities, ModelName, Price
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelView:
    id: str
    kind: str  # "model" | "route"
    provider: str | None
    capabilities: Capabilities | None
    price: Price | None
    source: str  # "workspace" | "operator" | "route"


class ListModels:
    def __init__(
        self, endpoints: EndpointResolver, catalogue: ModelCatalogue, routes: RouteLookup
    ) -> None:
        self._endpoints = endpoints
        self._catalogue = catalogue
        self._routes = routes

    async def execute(self, actor: WorkspaceActor) -> list[ModelView]:
        actor.require(Permission.LLM_USE)
        views = []
        for available in await self._endpoints.available(actor.workspace_id):
            for info in self._catalogue.models(available.provider):
                views.append(
                    ModelView(
                        id=str(info.name),
                        kind="model",
                        provider=available.provider.value,
                        capabilities=info.capabilities,
                        price=info.price,
                        source=available.source,
                    )
                )
        for route in await self._routes.of_workspace(actor.workspace_id):
            first = ModelName.parse(route.targets[0].model) if route.targets else None
            views.append(
                ModelView(
                    id=route.name,
                    kind="route",
                    provider=None,
                    capabilities=self._catalogue.lookup(first).capabilities if first else None,
                    price=None,
                    source="route",
                )
            )
        return views
