"""Backoff between retries of one target: full jitter, Retry-After, the deadline."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.llm.retry import RetryPolicy
from application.llm.settings import LlmSettings


def policy(draw: float = 0.5, **fields: float) -> RetryPolicy:
    values: dict[str, float] = {"base": 0.2, "cap": 5.0, "max_attempts_per_target": 4}
    values.update(fields)
    return RetryPolicy(
        base=values["base"],
        cap=values["cap"],
        max_attempts_per_target=int(values["max_attempts_per_target"]),
        rng=lambda: draw,
    )


def test_the_ceiling_doubles_from_base_up_to_the_cap() -> None:
    retry = policy()
    assert [retry.ceiling(n) for n in range(7)] == pytest.approx(
        [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )
    assert retry.ceiling(10_000) == 5.0


def test_full_jitter_scales_the_ceiling_by_the_draw() -> None:
    assert policy(draw=0.0).next_delay(0, None, 60.0) == 0.0
    assert policy(draw=0.5).next_delay(1, None, 60.0) == pytest.approx(0.2)
    assert policy(draw=0.999).next_delay(2, None, 60.0) == pytest.approx(0.7992)


def test_retry_after_is_a_floor() -> None:
    assert policy(draw=0.1).next_delay(0, 3.0, 60.0) == 3.0
    assert policy(draw=1.0, max_attempts_per_target=9).next_delay(5, 0.5, 60.0) == 5.0


def test_a_retry_after_beyond_the_cap_is_still_honoured() -> None:
    assert policy().next_delay(0, 30.0, 60.0) == 30.0


def test_no_retry_when_the_wait_would_reach_the_deadline() -> None:
    assert policy().next_delay(0, 30.0, 29.0) is None
    assert policy().next_delay(0, 30.0, 30.0) is None
    assert policy(draw=0.5).next_delay(3, None, 0.0) is None
    assert policy().next_delay(0, math.inf, 1e9) is None


def test_no_retry_once_the_targets_attempts_are_spent() -> None:
    retry = policy(max_attempts_per_target=2)
    assert retry.next_delay(0, None, 60.0) is not None
    assert retry.next_delay(1, None, 60.0) is None
    assert policy(max_attempts_per_target=1).next_delay(0, None, 60.0) is None


def test_a_nan_retry_after_is_ignored() -> None:
    assert policy(draw=0.5).next_delay(0, math.nan, 60.0) == pytest.approx(0.1)


def test_it_is_built_from_the_settings() -> None:
    retry = RetryPolicy.from_settings(
        LlmSettings(backoff_base_seconds=0.1, backoff_max_seconds=2.0, max_attempts_per_target=3)
    )
    assert (retry.base, retry.cap, retry.max_attempts_per_target) == (0.1, 2.0, 3)


@pytest.mark.parametrize(
    ("base", "cap", "attempts"), [(0.0, 1.0, 1), (1.0, 0.5, 1), (0.1, 1.0, 0), (math.inf, 1, 1)]
)
def test_nonsense_parameters_are_refused(base: float, cap: float, attempts: int) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(base=base, cap=cap, max_attempts_per_target=attempts)


# -- properties ----------------------------------------------------------------------------

policies = st.builds(
    RetryPolicy,
    base=st.floats(0.001, 2.0),
    cap=st.floats(2.0, 60.0),
    max_attempts_per_target=st.integers(1, 10),
    rng=st.floats(0, 1, exclude_max=True).map(lambda d: lambda: d),
)
retry_afters = st.none() | st.floats(0, 120)


@given(policies, st.integers(0, 100), retry_afters, st.floats(0, 300))
def test_a_delay_is_within_the_jitter_bounds_or_the_retry_after(
    retry: RetryPolicy, attempt: int, retry_after: float | None, remaining: float
) -> None:
    delay = retry.next_delay(attempt, retry_after, remaining)
    if delay is None:
        return
    ceiling = min(retry.cap, retry.base * 2 ** min(attempt, 64))
    assert 0 <= delay <= max(ceiling, retry_after or 0.0)
    if retry_after is not None:
        assert delay >= retry_after
    assert delay < remaining


@given(policies, st.integers(0, 100), retry_afters, st.floats(0, 300))
def test_none_exactly_when_out_of_attempts_or_past_the_deadline(
    retry: RetryPolicy, attempt: int, retry_after: float | None, remaining: float
) -> None:
    delay = retry.next_delay(attempt, retry_after, remaining)
    out_of_attempts = attempt + 1 >= retry.max_attempts_per_target
    if retry_after is not None and retry_after >= remaining:
        assert delay is None
    if out_of_attempts:
        assert delay is None
    if delay is None and not out_of_attempts:
        # the draw it made would have reached the deadline
        assert max(retry.backoff(attempt), retry_after or 0.0) >= remaining


def test_seeded_jitter_spreads_over_the_whole_interval() -> None:
    rng = random.Random(4)
    retry = RetryPolicy(base=1.0, cap=1.0, max_attempts_per_target=2, rng=rng.random)
    delays = [retry.next_delay(0, None, 10.0) for _ in range(2_000)]
    values = [d for d in delays if d is not None]
    assert len(values) == 2_000
    assert min(values) < 0.05
    assert max(values) > 0.95
    assert sum(values) / len(values) == pytest.approx(0.5, abs=0.03)
