"""The workspace's gateway usage over a window, one group per model, API key,
user or UTC day, with totals (admin+: it shows every member's spending)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import get_args

from application.common.tenancy import WorkspaceActor
from application.ports.llm_usage import GroupBy, UsageGroup, UsageReader
from application.ports.system import Clock
from domain.common.errors import InvalidInput
from domain.tenancy.roles import Permission

GROUPINGS: tuple[GroupBy, ...] = get_args(GroupBy)
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True, slots=True, kw_only=True)
class GetUsageReport:
    """``since``/``until``: a datetime (naive ones are UTC) or a date (``since``
    from its first instant, ``until`` through its last). By default the 30
    days up to now."""

    actor: WorkspaceActor
    since: datetime | date | None = None
    until: datetime | date | None = None
    group_by: str = "model"


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageTotals:
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_micros: int = 0
    unknown_cost_requests: int = 0

    @classmethod
    def of(cls, groups: list[UsageGroup]) -> UsageTotals:
        return cls(
            requests=sum(g.requests for g in groups),
            errors=sum(g.errors for g in groups),
            input_tokens=sum(g.input_tokens for g in groups),
            output_tokens=sum(g.output_tokens for g in groups),
            cached_tokens=sum(g.cached_tokens for g in groups),
            cost_micros=sum(g.cost_micros for g in groups),
            unknown_cost_requests=sum(g.unknown_cost_requests for g in groups),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageReport:
    since: datetime
    until: datetime
    group_by: GroupBy
    groups: list[UsageGroup]
    totals: UsageTotals


def _instant(value: datetime | date, *, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    day = value + timedelta(days=1) if end else value  # a date ``until`` includes its day
    return datetime.combine(day, time(), tzinfo=UTC)


def usage_window(
    since: datetime | date | None, until: datetime | date | None, now: datetime
) -> tuple[datetime, datetime]:
    """The half-open window [since, until) the report covers, checked."""
    try:
        end = now if until is None else _instant(until, end=True)
        start = end - DEFAULT_WINDOW if since is None else _instant(since, end=False)
    except OverflowError:
        raise InvalidInput("The date is out of range.", field="to") from None
    if start >= end:
        raise InvalidInput("'from' must be before 'to'.", field="from")
    if end - start > MAX_WINDOW:
        raise InvalidInput(
            f"The window is longer than {MAX_WINDOW.days} days; narrow 'from' and 'to'.",
            field="from",
        )
    return start, end


def group_by_of(raw: str) -> GroupBy:
    for grouping in GROUPINGS:
        if raw == grouping:
            return grouping
    raise InvalidInput(f"group_by is one of: {', '.join(GROUPINGS)}.", field="group_by")


class GetUsageReportHandler:
    def __init__(self, usage: UsageReader, clock: Clock) -> None:
        self._usage = usage
        self._clock = clock

    async def execute(self, q: GetUsageReport) -> UsageReport:
        q.actor.require(Permission.LLM_MANAGE)
        group_by = group_by_of(q.group_by)
        since, until = usage_window(q.since, q.until, self._clock.now())
        groups = await self._usage.aggregate(q.actor.workspace_id, since, until, group_by)
        return UsageReport(
            since=since,
            until=until,
            group_by=group_by,
            groups=groups,
            totals=UsageTotals.of(groups),
        )
