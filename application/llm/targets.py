"""From the name a caller gave to the targets that may serve the call, in order."""

from __future__ import annotations

from dataclasses import dataclass

from application.common.cache import TtlCache
from application.ports.llm import ModelCatalogue
from application.ports.llm_routes import RouteLookup
from domain.llm.chat import Requirements
from domain.llm.errors import FALLBACK_KINDS, ModelLacksCapability, ModelNotFound
from domain.llm.ids import CredentialId
from domain.llm.models import ModelInfo, ModelName
from domain.llm.route import Route, RouteTarget, Strategy
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    info: ModelInfo
    credential_id: CredentialId | None = None
    target: RouteTarget | None = None

    @property
    def name(self) -> ModelName:
        return self.info.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    requested: str
    route: Route | None
    strategy: Strategy
    candidates: tuple[Candidate, ...]  # capable ones, in declared order
    fallback_on: frozenset[str]


class RouteCache(TtlCache[tuple[WorkspaceId, str], Route | None]):
    """Routes by (workspace, name), per process: the gateway reads one per call."""


class ResolveTargets:
    def __init__(self, catalogue: ModelCatalogue, routes: RouteLookup, cache: RouteCache) -> None:
        self._catalogue = catalogue
        self._routes = routes
        self._cache = cache

    async def execute(self, workspace_id: WorkspaceId, requested: str, needs: Requirements) -> Plan:
        direct = ModelName.parse(requested)
        if direct is not None:
            route = None
            targets: tuple[RouteTarget, ...] = (RouteTarget(model=requested),)
        else:
            route = await self._cache.get_or_load(
                (workspace_id, requested), lambda: self._routes.by_name(workspace_id, requested)
            )
            if route is None:
                raise ModelNotFound(
                    f"No model or route named {requested!r}: use 'provider/model' "
                    "(see GET /api/v1/llm/models) or a route's name.",
                    field="model",
                )
            targets = route.targets
        capable: list[Candidate] = []
        lacking: list[str] = []
        for target in targets:
            info = self._catalogue.lookup(ModelName.require(target.model))
            missing = info.capabilities.missing(needs)
            if missing:
                lacking.append(f"{target.model} lacks {', '.join(missing)}")
                continue
            capable.append(Candidate(info=info, credential_id=target.credential_id, target=target))
        if not capable:
            raise ModelLacksCapability(
                "No target can serve this request: " + "; ".join(lacking) + ".", field="model"
            )
        return Plan(
            requested=requested,
            route=route,
            strategy=route.strategy if route else Strategy.PRIORITY,
            candidates=tuple(capable),
            fallback_on=route.fallback_on if route else frozenset(FALLBACK_KINDS),
        )
