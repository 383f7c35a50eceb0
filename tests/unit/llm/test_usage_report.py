"""The usage report: who may read it, the window it covers, its groups and totals."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from application.common.tenancy import WorkspaceActor
from application.queries.llm.usage_report import GetUsageReport, GetUsageReportHandler
from domain.common.errors import InvalidInput
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role, permissions_of
from tests.fakes.llm_usage import NOW, MemoryUsage, api_key, usage_record
from tests.fakes.system import FakeClock

WORKSPACE = WorkspaceId(uuid.uuid4())


def actor(role: Role = Role.ADMIN, workspace: WorkspaceId = WORKSPACE) -> WorkspaceActor:
    return WorkspaceActor(
        workspace_id=workspace,
        user_id=UserId(uuid.uuid4()),
        role=role,
        permissions=permissions_of(role),
    )


def handler(usage: MemoryUsage) -> GetUsageReportHandler:
    return GetUsageReportHandler(usage, FakeClock(NOW))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
async def test_admins_and_owners_read_the_report(role: Role) -> None:
    usage = MemoryUsage()
    usage.record(usage_record(WORKSPACE, created_at=NOW - timedelta(hours=1)))
    report = await handler(usage).execute(GetUsageReport(actor=actor(role)))
    assert report.totals.requests == 1


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_members_and_viewers_may_not_read_it(role: Role) -> None:
    usage = MemoryUsage()
    with pytest.raises(InsufficientRole):
        await handler(usage).execute(GetUsageReport(actor=actor(role)))
    assert usage.queries == []


async def test_by_default_it_covers_the_30_days_up_to_now() -> None:
    usage = MemoryUsage()
    report = await handler(usage).execute(GetUsageReport(actor=actor()))
    assert (report.since, report.until) == (NOW - timedelta(days=30), NOW)
    assert usage.queries == [(WORKSPACE, NOW - timedelta(days=30), NOW, "model")]


async def test_dates_cover_whole_utc_days_and_naive_times_are_utc() -> None:
    usage = MemoryUsage()
    run = handler(usage).execute
    report = await run(
        GetUsageReport(actor=actor(), since=date(2025, 6, 1), until=date(2025, 6, 10))
    )
    assert report.since == datetime(2025, 6, 1, tzinfo=UTC)
    assert report.until == datetime(2025, 6, 11, tzinfo=UTC)  # the 10th included
    report = await run(GetUsageReport(actor=actor(), since=datetime(2025, 6, 1, 8, 30)))
    assert report.since == datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    paris = timezone(timedelta(hours=2))
    report = await run(
        GetUsageReport(actor=actor(), until=datetime(2025, 6, 2, 2, 0, tzinfo=paris))
    )
    assert report.until == datetime(2025, 6, 2, 0, 0, tzinfo=UTC)
    assert report.since == report.until - timedelta(days=30)


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        (datetime(2025, 6, 2, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC), "from"),
        (datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC), "from"),
        (NOW + timedelta(days=1), None, "from"),  # from in the future, to defaults to now
        (date(2024, 1, 1), date(2025, 1, 1), "from"),  # 367 days
        (None, date(9999, 12, 31), "to"),
    ],
)
async def test_a_bad_window_is_refused_and_names_its_field(
    since: datetime | date | None, until: datetime | date | None, field: str
) -> None:
    usage = MemoryUsage()
    with pytest.raises(InvalidInput) as caught:
        await handler(usage).execute(GetUsageReport(actor=actor(), since=since, until=until))
    assert caught.value.field == field
    assert usage.queries == []


async def test_a_window_of_exactly_366_days_is_accepted() -> None:
    usage = MemoryUsage()
    report = await handler(usage).execute(
        GetUsageReport(actor=actor(), since=date(2024, 1, 1), until=date(2024, 12, 31))
    )
    assert report.until - report.since == timedelta(days=366)


async def test_an_unknown_grouping_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        await handler(MemoryUsage()).execute(GetUsageReport(actor=actor(), group_by="provider"))
    assert caught.value.field == "group_by"


async def test_unknown_costs_are_counted_apart_and_never_as_zero() -> None:
    usage = MemoryUsage()
    at = NOW - timedelta(hours=1)
    usage.record(usage_record(WORKSPACE, created_at=at, cost_micros=1_000))
    usage.record(usage_record(WORKSPACE, created_at=at, cost_micros=None))
    usage.record(usage_record(WORKSPACE, created_at=at, cost_micros=None, status="timeout"))
    report = await handler(usage).execute(GetUsageReport(actor=actor()))
    [group] = report.groups
    assert group.cost_micros == 1_000
    assert group.unknown_cost_requests == 1  # the failed call is an error, not unpriced
    assert group.errors == 1 and group.requests == 3


async def test_another_workspaces_records_never_appear() -> None:
    usage = MemoryUsage()
    usage.record(usage_record(WorkspaceId(uuid.uuid4()), created_at=NOW - timedelta(hours=1)))
    report = await handler(usage).execute(GetUsageReport(actor=actor()))
    assert report.groups == [] and report.totals.requests == 0


records = st.lists(
    st.builds(
        lambda model, key, cost, status, hours, tokens: usage_record(
            WORKSPACE,
            model=model,
            api_key_id=key,
            cost_micros=cost,
            status=status,
            created_at=NOW - timedelta(hours=hours),
            input_tokens=tokens,
        ),
        st.sampled_from(["openai/a", "anthropic/b", None]),
        st.sampled_from([None, api_key(uuid.UUID(int=1)), api_key(uuid.UUID(int=2))]),
        st.one_of(st.none(), st.integers(0, 10**9)),
        st.sampled_from(["ok", "ok", "rate_limited"]),
        st.integers(0, 24 * 40),
        st.integers(0, 10**6),
    ),
    max_size=30,
)


@hsettings(max_examples=50)
@given(records, st.sampled_from(["model", "api_key", "user", "day"]))
async def test_totals_are_the_sums_of_the_groups_and_of_the_records_in_the_window(
    seeded: list[object], group_by: str
) -> None:
    usage = MemoryUsage()
    for r in seeded:
        usage.record(r)  # type: ignore[arg-type]
    report = await handler(usage).execute(GetUsageReport(actor=actor(), group_by=group_by))
    inside = [r for r in usage.records if report.since <= r.created_at < report.until]
    assert report.totals.requests == sum(g.requests for g in report.groups) == len(inside)
    assert report.totals.cost_micros == sum(r.cost_micros or 0 for r in inside)
    assert report.totals.input_tokens == sum(r.input_tokens for r in inside)
    assert report.totals.unknown_cost_requests == sum(
        r.cost_micros is None and r.status == "ok" for r in inside
    )
    keys = [g.key for g in report.groups]
    assert len(keys) == len(set(keys))
