from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.common.tenancy import WorkspaceActor
from application.ports.llm_governance import SpendLedger
from application.ports.llm_governance_reads import GovernanceReader
from application.ports.system import Clock
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import BudgetPeriod, budget_window
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListBudgets:
    actor: WorkspaceActor


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetStatus:
    api_key_id: ApiKeyId | None  # None: the workspace's own budget
    api_key_name: str | None
    limit_micros: int
    period: BudgetPeriod
    spent_micros: int
    reserved_micros: int  # held by calls running now
    period_started_at: datetime
    resets_at: datetime
    updated_at: datetime


class ListBudgetsHandler:
    """Each budget of the workspace with where its current period stands, read
    from the ledger every call enforces against (admins only: it shows spend)."""

    def __init__(self, reader: GovernanceReader, ledger: SpendLedger, clock: Clock) -> None:
        self._reader = reader
        self._ledger = ledger
        self._clock = clock

    async def execute(self, q: ListBudgets) -> list[BudgetStatus]:
        q.actor.require(Permission.LLM_MANAGE)
        stored = await self._reader.budgets(q.actor.workspace_id)
        if not stored:
            return []
        now = self._clock.now()
        windows = tuple(budget_window(s.budget, now) for s in stored)
        standings = await self._ledger.standing(windows)
        return [
            BudgetStatus(
                api_key_id=s.budget.api_key_id,
                api_key_name=s.api_key_name,
                limit_micros=s.budget.limit_micros,
                period=s.budget.period,
                spent_micros=standing.spent_micros,
                reserved_micros=standing.reserved_micros,
                period_started_at=window.starts_at,
                resets_at=window.resets_at,
                updated_at=s.updated_at,
            )
            for s, window, standing in zip(stored, windows, standings, strict=True)
        ]
