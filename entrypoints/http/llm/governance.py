"""Budgets, limits and LLM settings of a workspace and its API keys (admin+).

Budgets are in USD at this edge (exact decimals, at most 6 places) and in
integer micro-dollars inside; amounts come back as decimal strings, like the
usage report's.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, delete, get, put
from litestar.params import FromPath, JSONBody

from application.commands.llm.remove_budget import RemoveBudget, RemoveBudgetHandler
from application.commands.llm.remove_limits import RemoveLimits, RemoveLimitsHandler
from application.commands.llm.set_budget import SetBudget, SetBudgetHandler
from application.commands.llm.set_limits import SetLimits, SetLimitsHandler
from application.commands.llm.update_llm_settings import (
    UpdateLlmSettings,
    UpdateLlmSettingsHandler,
)
from application.common.tenancy import WorkspaceActor
from application.queries.llm.get_llm_settings import GetLlmSettings, GetLlmSettingsHandler
from application.queries.llm.list_budgets import BudgetStatus, ListBudgets, ListBudgetsHandler
from application.queries.llm.list_limits import LimitsStatus, ListLimits, ListLimitsHandler
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import MAX_LIMIT_USD, BudgetPeriod
from domain.tenancy.roles import Permission
from entrypoints.http.llm.usage import usd
from entrypoints.http.tenancy.controller import needs

MANAGE = needs(Permission.LLM_MANAGE)

LimitUsd = Annotated[
    Decimal,
    msgspec.Meta(
        description=f"US dollars, 0 to {MAX_LIMIT_USD}, at most 6 decimal places "
        "(0 refuses every priced call).",
        examples=[25.5],
    ),
]
Period = Annotated[
    str,
    msgspec.Meta(
        max_length=16,
        examples=["month"],
        description="One of: " + ", ".join(p.value for p in BudgetPeriod) + " (UTC).",
    ),
]
PerMinute = Annotated[int, msgspec.Meta(description="A positive whole number, or null for none.")]


class BudgetIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    limit_usd: LimitUsd
    period: Period


class BudgetOut(msgspec.Struct, kw_only=True):
    scope: str  # workspace | api_key
    api_key_id: UUID | None
    api_key_name: str | None
    limit_usd: str
    period: str
    spent_usd: str
    reserved_usd: str  # held by calls running now
    remaining_usd: str
    period_started_at: datetime
    resets_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: BudgetStatus) -> BudgetOut:
        remaining = max(0, s.limit_micros - s.spent_micros - s.reserved_micros)
        return cls(
            scope="api_key" if s.api_key_id is not None else "workspace",
            api_key_id=s.api_key_id,
            api_key_name=s.api_key_name,
            limit_usd=usd(s.limit_micros),
            period=s.period.value,
            spent_usd=usd(s.spent_micros),
            reserved_usd=usd(s.reserved_micros),
            remaining_usd=usd(remaining),
            period_started_at=s.period_started_at,
            resets_at=s.resets_at,
            updated_at=s.updated_at,
        )


class LimitsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    requests_per_minute: PerMinute | None = None
    tokens_per_minute: PerMinute | None = None
    max_concurrent: PerMinute | None = None


class LimitsOut(msgspec.Struct, kw_only=True):
    scope: str  # workspace | api_key
    api_key_id: UUID | None
    api_key_name: str | None
    requests_per_minute: int | None
    tokens_per_minute: int | None
    max_concurrent: int | None
    default: bool  # the operator's defaults: the workspace set none of its own
    updated_at: datetime | None

    @classmethod
    def of(cls, s: LimitsStatus) -> LimitsOut:
        return cls(
            scope="api_key" if s.api_key_id is not None else "workspace",
            api_key_id=s.api_key_id,
            api_key_name=s.api_key_name,
            requests_per_minute=s.limits.requests_per_minute,
            tokens_per_minute=s.limits.tokens_per_minute,
            max_concurrent=s.limits.max_concurrent,
            default=s.default,
            updated_at=s.updated_at,
        )


class LlmSettingsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    refuse_unpriced_models: bool


class LlmSettingsOut(msgspec.Struct, kw_only=True):
    refuse_unpriced_models: bool


class BudgetController(Controller):
    path = "/api/v1/llm/budgets"
    tags = ["llm governance"]

    @get("/", opt=MANAGE)
    async def list_budgets(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[ListBudgetsHandler]
    ) -> list[BudgetOut]:
        return [BudgetOut.of(s) for s in await handler.execute(ListBudgets(actor=actor))]

    async def _set(
        self,
        api_key_id: UUID | None,
        data: BudgetIn,
        actor: WorkspaceActor,
        handler: SetBudgetHandler,
        read: ListBudgetsHandler,
    ) -> BudgetOut:
        key = ApiKeyId(api_key_id) if api_key_id is not None else None
        await handler.execute(
            SetBudget(actor=actor, api_key_id=key, limit_usd=data.limit_usd, period=data.period)
        )
        found = await read.execute(ListBudgets(actor=actor))
        return BudgetOut.of(next(s for s in found if s.api_key_id == key))

    @put("/workspace", opt=MANAGE)
    async def set_workspace_budget(
        self,
        data: JSONBody[BudgetIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[SetBudgetHandler],
        read: FromDishka[ListBudgetsHandler],
    ) -> BudgetOut:
        return await self._set(None, data, actor, handler, read)

    @put("/api-keys/{api_key_id:uuid}", opt=MANAGE)
    async def set_key_budget(
        self,
        api_key_id: FromPath[UUID],
        data: JSONBody[BudgetIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[SetBudgetHandler],
        read: FromDishka[ListBudgetsHandler],
    ) -> BudgetOut:
        return await self._set(api_key_id, data, actor, handler, read)

    @delete("/workspace", opt=MANAGE)
    async def remove_workspace_budget(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[RemoveBudgetHandler]
    ) -> None:
        await handler.execute(RemoveBudget(actor=actor, api_key_id=None))

    @delete("/api-keys/{api_key_id:uuid}", opt=MANAGE)
    async def remove_key_budget(
        self,
        api_key_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RemoveBudgetHandler],
    ) -> None:
        await handler.execute(RemoveBudget(actor=actor, api_key_id=ApiKeyId(api_key_id)))


class LimitsController(Controller):
    path = "/api/v1/llm/limits"
    tags = ["llm governance"]

    @get("/", opt=MANAGE)
    async def list_limits(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[ListLimitsHandler]
    ) -> list[LimitsOut]:
        return [LimitsOut.of(s) for s in await handler.execute(ListLimits(actor=actor))]

    async def _set(
        self,
        api_key_id: UUID | None,
        data: LimitsIn,
        actor: WorkspaceActor,
        handler: SetLimitsHandler,
        read: ListLimitsHandler,
    ) -> LimitsOut:
        key = ApiKeyId(api_key_id) if api_key_id is not None else None
        await handler.execute(
            SetLimits(
                actor=actor,
                api_key_id=key,
                requests_per_minute=data.requests_per_minute,
                tokens_per_minute=data.tokens_per_minute,
                max_concurrent=data.max_concurrent,
            )
        )
        found = await read.execute(ListLimits(actor=actor))
        return LimitsOut.of(next(s for s in found if s.api_key_id == key))

    @put("/workspace", opt=MANAGE)
    async def set_workspace_limits(
        self,
        data: JSONBody[LimitsIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[SetLimitsHandler],
        read: FromDishka[ListLimitsHandler],
    ) -> LimitsOut:
        return await self._set(None, data, actor, handler, read)

    @put("/api-keys/{api_key_id:uuid}", opt=MANAGE)
    async def set_key_limits(
        self,
        api_key_id: FromPath[UUID],
        data: JSONBody[LimitsIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[SetLimitsHandler],
        read: FromDishka[ListLimitsHandler],
    ) -> LimitsOut:
        return await self._set(api_key_id, data, actor, handler, read)

    @delete("/workspace", opt=MANAGE)
    async def remove_workspace_limits(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[RemoveLimitsHandler]
    ) -> None:
        await handler.execute(RemoveLimits(actor=actor, api_key_id=None))

    @delete("/api-keys/{api_key_id:uuid}", opt=MANAGE)
    async def remove_key_limits(
        self,
        api_key_id: FromPath[UUID],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[RemoveLimitsHandler],
    ) -> None:
        await handler.execute(RemoveLimits(actor=actor, api_key_id=ApiKeyId(api_key_id)))


class LlmSettingsController(Controller):
    path = "/api/v1/llm/settings"
    tags = ["llm governance"]

    @get("/", opt=MANAGE)
    async def get_settings(
        self, actor: FromDishka[WorkspaceActor], handler: FromDishka[GetLlmSettingsHandler]
    ) -> LlmSettingsOut:
        view = await handler.execute(GetLlmSettings(actor=actor))
        return LlmSettingsOut(refuse_unpriced_models=view.refuse_unpriced_models)

    @put("/", opt=MANAGE)
    async def update_settings(
        self,
        data: JSONBody[LlmSettingsIn],
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[UpdateLlmSettingsHandler],
    ) -> LlmSettingsOut:
        await handler.execute(
            UpdateLlmSettings(actor=actor, refuse_unpriced_models=data.refuse_unpriced_models)
        )
        return LlmSettingsOut(refuse_unpriced_models=data.refuse_unpriced_models)
