"""Budgets, limits and workspace LLM settings in PostgreSQL; and what the usage
records say was spent, to seed the Redis ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    Text,
    and_,
    cast,
    delete,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import translated
from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import api_keys, llm_budgets, llm_limits, llm_settings, llm_usage
from adapters.postgres.unit_of_work import SqlUnitOfWork
from application.ports.llm_governance import GovernanceRepository, PolicyLookup, SpendHistory
from application.ports.llm_governance_reads import GovernanceReader, StoredBudget, StoredLimits
from application.ports.system import Clock, IdGenerator
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Budget, BudgetPeriod, Limits, Policy
from domain.tenancy.ids import WorkspaceId

BUDGET_SCOPE = "uq_llm_budgets_workspace_id_api_key_id"
LIMITS_SCOPE = "uq_llm_limits_workspace_id_api_key_id"
# Rows of a period this version knows (a newer version may have written others).
_KNOWN_PERIOD = llm_budgets.c.period.in_([p.value for p in BudgetPeriod])


def _limits(row: Any) -> Limits:
    return Limits(
        requests_per_minute=row.requests_per_minute,
        tokens_per_minute=row.tokens_per_minute,
        max_concurrent=row.max_concurrent,
    )


def _scope(column: Any, api_key_id: ApiKeyId | None) -> Any:
    return column.is_(None) if api_key_id is None else column == api_key_id


class SqlGovernanceRepository(UnitOfWorkStatements, GovernanceRepository):
    def __init__(self, uow: SqlUnitOfWork, ids: IdGenerator, clock: Clock) -> None:
        super().__init__(uow)
        self._ids = ids
        self._clock = clock

    async def put_budget(self, budget: Budget) -> None:
        now = self._clock.now()
        statement = pg_insert(llm_budgets).values(
            id=self._ids.new(),
            workspace_id=budget.workspace_id,
            api_key_id=budget.api_key_id,
            limit_micros=budget.limit_micros,
            period=budget.period.value,
            created_at=now,
            updated_at=now,
        )
        await self._execute(
            statement.on_conflict_do_update(
                constraint=BUDGET_SCOPE,
                set_={
                    "limit_micros": statement.excluded.limit_micros,
                    "period": statement.excluded.period,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    async def remove_budget(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> bool:
        removed = await self._execute(
            delete(llm_budgets)
            .where(
                llm_budgets.c.workspace_id == workspace_id,
                _scope(llm_budgets.c.api_key_id, api_key_id),
            )
            .returning(llm_budgets.c.id)
        )
        return removed.first() is not None

    async def put_limits(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, limits: Limits
    ) -> None:
        statement = pg_insert(llm_limits).values(
            id=self._ids.new(),
            workspace_id=workspace_id,
            api_key_id=api_key_id,
            requests_per_minute=limits.requests_per_minute,
            tokens_per_minute=limits.tokens_per_minute,
            max_concurrent=limits.max_concurrent,
            updated_at=self._clock.now(),
        )
        await self._execute(
            statement.on_conflict_do_update(
                constraint=LIMITS_SCOPE,
                set_={
                    "requests_per_minute": statement.excluded.requests_per_minute,
                    "tokens_per_minute": statement.excluded.tokens_per_minute,
                    "max_concurrent": statement.excluded.max_concurrent,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )

    async def remove_limits(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> bool:
        removed = await self._execute(
            delete(llm_limits)
            .where(
                llm_limits.c.workspace_id == workspace_id,
                _scope(llm_limits.c.api_key_id, api_key_id),
            )
            .returning(llm_limits.c.id)
        )
        return removed.first() is not None

    async def put_refuse_unpriced(self, workspace_id: WorkspaceId, refuse: bool) -> None:
        statement = pg_insert(llm_settings).values(
            workspace_id=workspace_id, refuse_unpriced_models=refuse, updated_at=self._clock.now()
        )
        await self._execute(
            statement.on_conflict_do_update(
                index_elements=[llm_settings.c.workspace_id],
                set_={
                    "refuse_unpriced_models": statement.excluded.refuse_unpriced_models,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


class SqlGovernanceReader(Statements, GovernanceReader):
    async def budgets(self, workspace_id: WorkspaceId) -> list[StoredBudget]:
        rows = await self._execute(
            select(llm_budgets, api_keys.c.name.label("api_key_name"))
            .select_from(llm_budgets.outerjoin(api_keys, api_keys.c.id == llm_budgets.c.api_key_id))
            .where(llm_budgets.c.workspace_id == workspace_id, _KNOWN_PERIOD)
            .order_by(llm_budgets.c.api_key_id.asc().nulls_first())
        )
        return [
            StoredBudget(
                budget=Budget(
                    workspace_id=row.workspace_id,
                    api_key_id=row.api_key_id,
                    limit_micros=row.limit_micros,
                    period=BudgetPeriod(row.period),
                ),
                api_key_name=row.api_key_name,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    async def limits(self, workspace_id: WorkspaceId) -> list[StoredLimits]:
        rows = await self._execute(
            select(llm_limits, api_keys.c.name.label("api_key_name"))
            .select_from(llm_limits.outerjoin(api_keys, api_keys.c.id == llm_limits.c.api_key_id))
            .where(llm_limits.c.workspace_id == workspace_id)
            .order_by(llm_limits.c.api_key_id.asc().nulls_first())
        )
        return [
            StoredLimits(
                api_key_id=row.api_key_id,
                api_key_name=row.api_key_name,
                limits=_limits(row),
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    async def refuse_unpriced(self, workspace_id: WorkspaceId) -> bool:
        found = (
            await self._execute(
                select(llm_settings.c.refuse_unpriced_models).where(
                    llm_settings.c.workspace_id == workspace_id
                )
            )
        ).scalar_one_or_none()
        return bool(found)


def _policy_statement(workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Any:
    """Budgets, limits and settings of the caller as rows of one UNION ALL."""

    def applies(column: Any) -> Any:
        if api_key_id is None:
            return column.is_(None)
        return or_(column.is_(None), column == api_key_id)

    no_key = cast(null(), UUID(as_uuid=True))
    no_int = cast(null(), Integer)
    budgets = select(
        literal("budget", Text).label("kind"),
        llm_budgets.c.api_key_id,
        llm_budgets.c.limit_micros,
        llm_budgets.c.period,
        no_int.label("requests_per_minute"),
        no_int.label("tokens_per_minute"),
        no_int.label("max_concurrent"),
        cast(null(), Boolean).label("refuse_unpriced_models"),
    ).where(
        llm_budgets.c.workspace_id == workspace_id,
        applies(llm_budgets.c.api_key_id),
        _KNOWN_PERIOD,
    )
    limits = select(
        literal("limits", Text),
        llm_limits.c.api_key_id,
        cast(null(), BigInteger),
        cast(null(), Text),
        llm_limits.c.requests_per_minute,
        llm_limits.c.tokens_per_minute,
        llm_limits.c.max_concurrent,
        cast(null(), Boolean),
    ).where(llm_limits.c.workspace_id == workspace_id, applies(llm_limits.c.api_key_id))
    settings = select(
        literal("settings", Text),
        no_key,
        cast(null(), BigInteger),
        cast(null(), Text),
        no_int,
        no_int,
        no_int,
        llm_settings.c.refuse_unpriced_models,
    ).where(llm_settings.c.workspace_id == workspace_id)
    return union_all(budgets, limits, settings)


class SqlPolicyLookup(PolicyLookup):
    """The gateway's read, at APP scope: one statement on a pooled connection
    (the gateway caches the answer, application.llm.policy)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def policy(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Policy:
        with translated():
            async with self._engine.connect() as connection:
                rows = (await connection.execute(_policy_statement(workspace_id, api_key_id))).all()
        budgets: list[Budget] = []
        workspace_limits = key_limits = Limits()
        refuse = False
        for row in rows:
            if row.kind == "budget":
                budgets.append(
                    Budget(
                        workspace_id=workspace_id,
                        api_key_id=row.api_key_id,
                        limit_micros=row.limit_micros,
                        period=BudgetPeriod(row.period),
                    )
                )
            elif row.kind == "limits":
                if row.api_key_id is None:
                    workspace_limits = _limits(row)
                else:
                    key_limits = _limits(row)
            else:
                refuse = bool(row.refuse_unpriced_models)
        budgets.sort(key=lambda b: b.api_key_id is not None)  # the workspace's first
        return Policy(
            budgets=tuple(budgets),
            workspace_limits=workspace_limits,
            key_limits=key_limits,
            refuse_unpriced_models=refuse,
        )


class SqlSpendHistory(SpendHistory):
    """The recorded cost since a time, in micro-dollars (calls of unknown cost add nothing)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def spent_micros(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, since: datetime
    ) -> int:
        conditions = [llm_usage.c.workspace_id == workspace_id, llm_usage.c.created_at >= since]
        if api_key_id is not None:
            conditions.append(llm_usage.c.api_key_id == api_key_id)
        with translated():
            async with self._engine.connect() as connection:
                total = await connection.scalar(
                    select(func.coalesce(func.sum(llm_usage.c.cost_micros), 0)).where(
                        and_(*conditions)
                    )
                )
        return int(total or 0)
