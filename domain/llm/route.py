"""A route: a name usable wherever a model name is, over several targets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.identity.ids import UserId
from domain.llm.ids import CredentialId, RouteId
from domain.tenancy.ids import WorkspaceId


class Strategy(StrEnum):
    PRIORITY = "priority"  # a fallback chain, lowest priority number first
    WEIGHTED = "weighted"  # random by weight, the rest as fallbacks
    LEAST_LATENCY = "least_latency"
    LOWEST_COST = "lowest_cost"


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteTarget:
    model: str  # provider/model
    credential_id: CredentialId | None = None
    weight: int = 1
    priority: int = 0


@dataclass(slots=True, kw_only=True)
class Route:
    id: RouteId
    workspace_id: WorkspaceId
    name: str
    strategy: Strategy
    targets: tuple[RouteTarget, ...]
    fallback_on: frozenset[str]
    created_by: UserId | None
    created_at: datetime
    updated_at: datetime
