"""Budgets and limits: what a workspace or one of its API keys may spend and send."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.identity.api_key import ApiKeyId
from domain.tenancy.ids import WorkspaceId


class BudgetPeriod(StrEnum):
    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    workspace_id: WorkspaceId
    api_key_id: ApiKeyId | None  # None: the workspace's own budget
    limit_micros: int
    period: BudgetPeriod


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetWindow:
    """A budget's current period, UTC: [starts_at, resets_at)."""

    budget: Budget
    starts_at: datetime
    resets_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Everything that governs one caller's calls, read once per request (cached briefly)."""

    budgets: tuple[Budget, ...] = ()  # the workspace's and the key's, when set
    workspace_limits: Limits = Limits()
    key_limits: Limits = Limits()
    refuse_unpriced_models: bool = False
