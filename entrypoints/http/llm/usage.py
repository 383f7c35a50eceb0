"""``GET /api/v1/llm/usage``: what the workspace's gateway calls used and cost (admin+)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from dishka.integrations.litestar import FromDishka
from litestar import Controller, get
from litestar.params import QueryParameter

from application.common.tenancy import WorkspaceActor
from application.ports.llm_usage import UsageGroup
from application.queries.llm.usage_report import (
    GROUPINGS,
    GetUsageReport,
    GetUsageReportHandler,
    UsageReport,
    UsageTotals,
)
from domain.common.errors import InvalidInput
from domain.tenancy.roles import Permission
from entrypoints.http.tenancy.controller import needs

MOMENT = (
    "An ISO 8601 datetime (UTC unless it has an offset) or date. A date 'from' "
    "starts at its first instant, a date 'to' includes its whole day."
)
Since = Annotated[
    str | None,
    QueryParameter(name="from", max_length=64, description=MOMENT + " Default: 'to' less 30 days."),
]
Until = Annotated[
    str | None, QueryParameter(name="to", max_length=64, description=MOMENT + " Default: now.")
]
GroupingParam = Annotated[
    str,
    QueryParameter(
        name="group_by", max_length=16, description="One of: " + ", ".join(GROUPINGS) + "."
    ),
]


def usd(micros: int) -> str:
    """Integer micro-dollars as an exact decimal string with 6 places."""
    whole, fraction = divmod(abs(micros), 1_000_000)
    return f"{'-' if micros < 0 else ''}{whole}.{fraction:06d}"


def parse_moment(raw: str | None, field: str) -> datetime | date | None:
    if raw is None or raw == "":
        return None
    text = raw.strip()
    if len(text) <= 10:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    for candidate in (text, _plus_restored(text)):
        try:
            return datetime.fromisoformat(candidate)
        except ValueError:
            continue
    raise InvalidInput(
        f"{raw[:64]!r} is not an ISO 8601 datetime or date (e.g. 2025-01-31T12:00:00Z).",
        field=field,
    )


def _plus_restored(text: str) -> str:
    """An unencoded '+' of a UTC offset arrives as a space ('...T10:00:00 01:00')."""
    head, space, tail = text.rpartition(" ")
    return f"{head}+{tail}" if space and "T" in head else text


class LatencyOut(msgspec.Struct, kw_only=True):
    p50: float | None
    p95: float | None


class UsageTotalsOut(msgspec.Struct, kw_only=True):
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: str
    unknown_cost_requests: int

    @classmethod
    def of(cls, t: UsageTotals) -> UsageTotalsOut:
        return cls(
            requests=t.requests,
            errors=t.errors,
            input_tokens=t.input_tokens,
            output_tokens=t.output_tokens,
            cached_tokens=t.cached_tokens,
            cost_usd=usd(t.cost_micros),
            unknown_cost_requests=t.unknown_cost_requests,
        )


class UsageGroupOut(msgspec.Struct, kw_only=True):
    key: str | None
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: str
    unknown_cost_requests: int
    latency_ms: LatencyOut

    @classmethod
    def of(cls, g: UsageGroup) -> UsageGroupOut:
        return cls(
            key=g.key,
            requests=g.requests,
            errors=g.errors,
            input_tokens=g.input_tokens,
            output_tokens=g.output_tokens,
            cached_tokens=g.cached_tokens,
            cost_usd=usd(g.cost_micros),
            unknown_cost_requests=g.unknown_cost_requests,
            latency_ms=LatencyOut(p50=g.latency_p50_ms, p95=g.latency_p95_ms),
        )


class UsageReportOut(msgspec.Struct, kw_only=True, rename={"since": "from", "until": "to"}):
    since: datetime
    until: datetime
    group_by: str
    groups: list[UsageGroupOut]
    totals: UsageTotalsOut

    @classmethod
    def of(cls, r: UsageReport) -> UsageReportOut:
        return cls(
            since=r.since,
            until=r.until,
            group_by=r.group_by,
            groups=[UsageGroupOut.of(g) for g in r.groups],
            totals=UsageTotalsOut.of(r.totals),
        )


class UsageController(Controller):
    path = "/api/v1/llm/usage"
    tags = ["llm usage"]

    @get("/", opt=needs(Permission.LLM_MANAGE))
    async def report(
        self,
        actor: FromDishka[WorkspaceActor],
        handler: FromDishka[GetUsageReportHandler],
        since: Since = None,
        until: Until = None,
        group_by: GroupingParam = "model",
    ) -> UsageReportOut:
        """Requests, errors, tokens, cost in USD (the calls whose price is
        unknown counted apart, never as $0) and latency p50/p95, per group."""
        report = await handler.execute(
            GetUsageReport(
                actor=actor,
                since=parse_moment(since, "from"),
                until=parse_moment(until, "to"),
                group_by=group_by,
            )
        )
        return UsageReportOut.of(report)
