"""The HTTP edge of the usage report: exact USD strings and the moments it accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.common.errors import InvalidInput
from entrypoints.http.llm.usage import parse_moment, usd


@pytest.mark.parametrize(
    ("micros", "text"),
    [(0, "0.000000"), (210, "0.000210"), (1_000_000, "1.000000"), (12_345_678, "12.345678")],
)
def test_micro_dollars_become_a_decimal_string_with_six_places(micros: int, text: str) -> None:
    assert usd(micros) == text


@given(st.integers(-(10**18), 10**18))
def test_the_usd_string_is_exact(micros: int) -> None:
    text = usd(micros)
    assert len(text.partition(".")[2]) == 6
    assert Decimal(text) * 1_000_000 == micros


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-01", date(2025, 6, 1)),
        ("2025-06-01T10:30:00Z", datetime(2025, 6, 1, 10, 30, tzinfo=UTC)),
        ("2025-06-01T10:30:00", datetime(2025, 6, 1, 10, 30)),
        (
            "2025-06-01T10:30:00+02:00",
            datetime(2025, 6, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        # '+' sent unencoded in a query string arrives as a space
        (
            "2025-06-01T10:30:00 02:00",
            datetime(2025, 6, 1, 10, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
        (None, None),
        ("", None),
    ],
)
def test_iso_dates_and_datetimes_are_accepted(
    raw: str | None, expected: date | datetime | None
) -> None:
    parsed = parse_moment(raw, "from")
    assert parsed == expected
    assert type(parsed) is type(expected)


@pytest.mark.parametrize("raw", ["yesterday", "2025-13-01", "2025-06-01T25:00", "1717200000"])
def test_anything_else_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_moment(raw, "to")
    assert caught.value.field == "to"
