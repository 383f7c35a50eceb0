"""The providers a workspace can call, where their keys come from, and how
their targets are doing in this process."""

from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.endpoints import EndpointResolver
from application.llm.health import TargetHealth
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetState:
    model: str
    breaker: str  # closed | half_open | open
    latency_ms: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderView:
    provider: str
    source: str  # workspace | operator
    credential_ids: tuple[str, ...]
    status: str  # healthy | degraded (a breaker not closed) | unknown (no call yet)
    targets: tuple[TargetState, ...]


class ListProviders:
    def __init__(self, endpoints: EndpointResolver, health: TargetHealth) -> None:
        self._endpoints = endpoints
        self._health = health

    async def execute(self, actor: WorkspaceActor) -> list[ProviderView]:
        actor.require(Permission.LLM_USE)
        snapshot = self._health.snapshot()
        views = []
        for available in await self._endpoints.available(actor.workspace_id):
            owners = (
                [str(c) for c in available.credential_ids]
                if available.source == "workspace"
                else ["operator"]
            )
            prefixes = tuple(f"{available.provider.value}:{owner}:" for owner in owners)
            targets = tuple(
                TargetState(
                    model=key.rpartition("|")[2],
                    breaker=state,
                    latency_ms=None if latency is None else round(latency * 1000, 1),
                )
                for key, (state, latency) in sorted(snapshot.items())
                if key.startswith(prefixes)
            )
            status = (
                "unknown"
                if not targets
                else "healthy"
                if all(t.breaker == "closed" for t in targets)
                else "degraded"
            )
            views.append(
                ProviderView(
                    provider=available.provider.value,
                    source=available.source,
                    credential_ids=tuple(str(c) for c in available.credential_ids),
                    status=status,
                    targets=targets,
                )
            )
        return views
