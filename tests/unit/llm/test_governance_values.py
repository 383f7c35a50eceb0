"""Dollar amounts, budgets and limits: exact, bounded, refused clearly when wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.identity.api_key import ApiKeyId
from domain.llm.errors import BudgetExceeded, InvalidBudget, InvalidLimits
from domain.llm.governance import (
    MAX_CONCURRENT,
    MAX_LIMIT_MICROS,
    MAX_LIMIT_USD,
    MAX_REQUESTS_PER_MINUTE,
    MAX_TOKENS_PER_MINUTE,
    Budget,
    BudgetPeriod,
    Limits,
    budget_exceeded,
    budget_window,
    fits,
    format_usd,
    usd_to_micros,
)
from domain.tenancy.ids import WorkspaceId

WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
KEY = ApiKeyId(UUID("0190dddd-0000-7000-8000-000000000001"))


@pytest.mark.parametrize(
    ("amount", "micros"),
    [
        (Decimal("0"), 0),
        (Decimal("10"), 10_000_000),
        (Decimal("25.5"), 25_500_000),
        (Decimal("0.000001"), 1),
        (Decimal("1E+3"), 1_000_000_000),
        (Decimal("12.340000"), 12_340_000),
        (Decimal(MAX_LIMIT_USD), MAX_LIMIT_MICROS),
        (7, 7_000_000),
        ("0.25", 250_000),
    ],
)
def test_dollars_become_exact_micro_dollars(amount: Decimal | int | str, micros: int) -> None:
    assert usd_to_micros(amount) == micros


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (Decimal("0.0000001"), "6 decimal places"),
        (Decimal("1.1234567"), "6 decimal places"),
        (Decimal("-0.01"), "negative"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (Decimal(MAX_LIMIT_USD) + Decimal("0.000001"), "at most"),
        ("ten", "number"),
    ],
)
def test_bad_amounts_are_refused_naming_the_field(amount: Decimal | str, reason: str) -> None:
    with pytest.raises(InvalidBudget, match=reason) as error:
        usd_to_micros(amount)
    assert error.value.field == "limit_usd"


@given(st.integers(0, MAX_LIMIT_MICROS))
def test_micro_dollars_survive_the_round_trip_through_dollars(micros: int) -> None:
    text = format_usd(micros)
    assert text.startswith("$")
    assert usd_to_micros(text[1:]) == micros


@pytest.mark.parametrize(
    ("micros", "text"),
    [(0, "$0.00"), (12_500_000, "$12.50"), (125, "$0.000125"), (-1_000_000, "-$1.00")],
)
def test_dollars_read_naturally(micros: int, text: str) -> None:
    assert format_usd(micros) == text


def test_a_period_is_day_or_month() -> None:
    assert BudgetPeriod.parse("day") is BudgetPeriod.DAY
    assert BudgetPeriod.parse("month") is BudgetPeriod.MONTH
    with pytest.raises(InvalidBudget, match="day, month") as error:
        BudgetPeriod.parse("week")
    assert error.value.field == "period"


@pytest.mark.parametrize("limit", [-1, MAX_LIMIT_MICROS + 1])
def test_a_budget_outside_the_bounds_cannot_exist(limit: int) -> None:
    with pytest.raises(InvalidBudget):
        Budget(workspace_id=WORKSPACE, api_key_id=None, limit_micros=limit, period=BudgetPeriod.DAY)


def test_a_budget_names_where_its_spend_is_counted() -> None:
    ws = Budget(workspace_id=WORKSPACE, api_key_id=None, limit_micros=1, period=BudgetPeriod.DAY)
    key = Budget(workspace_id=WORKSPACE, api_key_id=KEY, limit_micros=1, period=BudgetPeriod.DAY)
    assert ws.scope == f"ws:{WORKSPACE}"
    assert key.scope == f"key:{KEY}"


@given(
    spent=st.integers(0, 10**12),
    reserved=st.integers(0, 10**12),
    amount=st.integers(0, 10**12),
    limit=st.integers(0, 10**12),
)
def test_a_call_fits_exactly_when_the_total_stays_within_the_limit(
    spent: int, reserved: int, amount: int, limit: int
) -> None:
    assert fits(spent=spent, reserved=reserved, amount=amount, limit=limit) is (
        spent + reserved + amount <= limit
    )


def test_a_limit_of_zero_refuses_any_priced_call_but_not_a_free_one() -> None:
    assert not fits(spent=0, reserved=0, amount=1, limit=0)
    assert fits(spent=0, reserved=0, amount=0, limit=0)


def test_the_refusal_says_which_budget_where_it_stands_and_when_it_resets() -> None:
    budget = Budget(
        workspace_id=WORKSPACE, api_key_id=KEY, limit_micros=10_000_000, period=BudgetPeriod.DAY
    )
    window = budget_window(budget, datetime(2025, 12, 31, 22, 0, tzinfo=UTC))
    error = budget_exceeded(window, spent=9_000_000, reserved=500_000, amount=750_000)
    assert isinstance(error, BudgetExceeded)
    assert error.code == "budget_exceeded"
    assert "This API key's daily budget of $10.00" in error.detail
    assert "$10.00" in error.detail
    assert "$9.00 spent" in error.detail
    assert "$0.50 held" in error.detail
    assert "$0.75" in error.detail
    assert "2026-01-01T00:00:00Z" in error.detail


def test_limits_are_positive_whole_numbers_or_none() -> None:
    assert Limits().unlimited
    limits = Limits(requests_per_minute=60, tokens_per_minute=100_000, max_concurrent=4)
    assert not limits.unlimited


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("requests_per_minute", 0),
        ("requests_per_minute", -5),
        ("requests_per_minute", MAX_REQUESTS_PER_MINUTE + 1),
        ("tokens_per_minute", 0),
        ("tokens_per_minute", MAX_TOKENS_PER_MINUTE + 1),
        ("max_concurrent", 0),
        ("max_concurrent", MAX_CONCURRENT + 1),
        ("max_concurrent", True),
    ],
)
def test_limits_out_of_range_are_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(InvalidLimits) as error:
        Limits(**{field: value})
    assert error.value.field == field
