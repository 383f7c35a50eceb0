"""Budget periods are UTC calendar days and months: [start, reset)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.llm.governance import Budget, BudgetPeriod, budget_window, period_bounds
from domain.tenancy.ids import WorkspaceId

WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))


def at(year: int, month: int, day: int, *time: int) -> datetime:
    hour, minute, second, micro = (*time, 0, 0, 0, 0)[:4]
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2025, 3, 1, 9, 0), at(2025, 3, 1), at(2025, 3, 2)),
        (at(2025, 3, 1, 0, 0), at(2025, 3, 1), at(2025, 3, 2)),
        (at(2025, 3, 1, 23, 59, 59, 999_999), at(2025, 3, 1), at(2025, 3, 2)),
        (at(2025, 12, 31, 18, 0), at(2025, 12, 31), at(2026, 1, 1)),
        (at(2024, 2, 28, 12, 0), at(2024, 2, 28), at(2024, 2, 29)),
        (at(2024, 2, 29, 12, 0), at(2024, 2, 29), at(2024, 3, 1)),
        (at(2025, 2, 28, 12, 0), at(2025, 2, 28), at(2025, 3, 1)),
    ],
)
def test_a_day_runs_from_utc_midnight_to_the_next(
    now: datetime, start: datetime, reset: datetime
) -> None:
    assert period_bounds(BudgetPeriod.DAY, now) == (start, reset)


@pytest.mark.parametrize(
    ("now", "start", "reset"),
    [
        (at(2025, 3, 15, 9, 0), at(2025, 3, 1), at(2025, 4, 1)),
        (at(2025, 3, 1, 0, 0), at(2025, 3, 1), at(2025, 4, 1)),
        (at(2025, 12, 31, 23, 59, 59), at(2025, 12, 1), at(2026, 1, 1)),
        (at(2026, 1, 1, 0, 0), at(2026, 1, 1), at(2026, 2, 1)),
        (at(2024, 2, 29, 23, 0), at(2024, 2, 1), at(2024, 3, 1)),
        (at(2025, 1, 31, 12, 0), at(2025, 1, 1), at(2025, 2, 1)),
    ],
)
def test_a_month_runs_from_its_first_day_to_the_next_months(
    now: datetime, start: datetime, reset: datetime
) -> None:
    assert period_bounds(BudgetPeriod.MONTH, now) == (start, reset)


def test_another_time_zone_is_read_as_the_same_instant_in_utc() -> None:
    tokyo = timezone(timedelta(hours=9))
    # 2025-04-01 08:00 in Tokyo is still March 31 in UTC.
    now = datetime(2025, 4, 1, 8, 0, tzinfo=tokyo)
    assert period_bounds(BudgetPeriod.DAY, now) == (at(2025, 3, 31), at(2025, 4, 1))
    assert period_bounds(BudgetPeriod.MONTH, now) == (at(2025, 3, 1), at(2025, 4, 1))


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        period_bounds(BudgetPeriod.DAY, datetime(2025, 3, 1))


def test_a_budget_window_carries_its_budget_and_bounds() -> None:
    budget = Budget(
        workspace_id=WORKSPACE, api_key_id=None, limit_micros=5, period=BudgetPeriod.MONTH
    )
    window = budget_window(budget, at(2025, 12, 24, 18, 0))
    assert window.budget is budget
    assert (window.starts_at, window.resets_at) == (at(2025, 12, 1), at(2026, 1, 1))


instants = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(9998, 12, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]),
)


@given(now=instants, period=st.sampled_from(list(BudgetPeriod)))
def test_every_instant_lies_in_exactly_one_window_that_ends_where_the_next_begins(
    now: datetime, period: BudgetPeriod
) -> None:
    start, reset = period_bounds(period, now)
    assert start.tzinfo is UTC
    assert reset.tzinfo is UTC
    assert start <= now < reset
    assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
    assert (reset.hour, reset.minute, reset.second, reset.microsecond) == (0, 0, 0, 0)
    # Contiguous: the next window starts at this one's reset, the previous ends at its start.
    assert period_bounds(period, reset)[0] == reset
    assert period_bounds(period, start - timedelta(microseconds=1))[1] == start
    if period is BudgetPeriod.DAY:
        assert reset - start == timedelta(days=1)
    else:
        assert start.day == 1
        assert reset.day == 1
        assert timedelta(days=28) <= reset - start <= timedelta(days=31)
        assert (reset.year * 12 + reset.month) - (start.year * 12 + start.month) == 1


@given(year=st.integers(1971, 9998))
def test_february_has_29_days_exactly_in_leap_years(year: int) -> None:
    start, reset = period_bounds(BudgetPeriod.MONTH, at(year, 2, 10))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert (reset - start).days == (29 if leap else 28)
