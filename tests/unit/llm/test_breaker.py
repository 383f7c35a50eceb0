"""The circuit breaker, case by case."""

from __future__ import annotations

import pytest

from domain.llm.breaker import BreakerState, CircuitBreaker


def opened(threshold: int = 3, cooldown: float = 10.0, at: float = 100.0) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold, cooldown)
    for _ in range(threshold):
        breaker.failed(at)
    assert breaker.state is BreakerState.OPEN
    return breaker


def test_state_names_are_the_metric_labels() -> None:
    assert [s.value for s in BreakerState] == ["closed", "open", "half_open"]


def test_it_opens_after_threshold_consecutive_failures() -> None:
    breaker = CircuitBreaker(3, 10.0)
    breaker.failed(1.0)
    breaker.failed(2.0)
    assert (breaker.state, breaker.failures) == (BreakerState.CLOSED, 2)
    assert breaker.allow(2.5)
    breaker.failed(3.0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(3.0)


def test_a_success_in_between_resets_the_count() -> None:
    breaker = CircuitBreaker(3, 10.0)
    breaker.failed(1.0)
    breaker.failed(2.0)
    breaker.succeeded()
    assert breaker.failures == 0
    breaker.failed(3.0)
    breaker.failed(4.0)
    assert breaker.state is BreakerState.CLOSED


def test_open_it_fails_fast_until_the_cooldown_has_passed() -> None:
    breaker = opened(cooldown=10.0, at=100.0)
    assert not breaker.allow(105.0)
    assert not breaker.allow(109.999)
    assert breaker.allow(110.0)
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_lets_exactly_one_probe_through() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(111.0)
    assert not breaker.allow(111.0)
    assert not breaker.allow(115.0)
    assert not breaker.would_allow(115.0)


def test_a_successful_probe_closes_it() -> None:
    breaker = opened(at=100.0)
    breaker.allow(111.0)
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failures == 0
    assert breaker.allow(111.0)
    assert breaker.allow(111.0)


def test_a_failed_probe_opens_it_with_a_fresh_cooldown() -> None:
    breaker = opened(cooldown=10.0, at=100.0)
    breaker.allow(112.0)
    breaker.failed(113.0)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow(122.9)
    assert breaker.allow(123.0)


def test_an_abandoned_probe_lets_the_next_call_probe() -> None:
    breaker = opened(at=100.0)
    assert breaker.allow(111.0)
    breaker.abandoned()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allow(111.5)
    assert not breaker.allow(111.5)


def test_a_probe_that_never_reports_is_given_up_after_its_timeout() -> None:
    breaker = CircuitBreaker(1, 10.0, probe_timeout=5.0)
    breaker.failed(0.0)
    assert breaker.allow(10.0)
    assert not breaker.allow(14.9)
    assert breaker.allow(15.0)


def test_late_reports_while_open_change_nothing() -> None:
    breaker = opened(cooldown=10.0, at=100.0)
    breaker.succeeded()  # a call let through before it opened
    assert breaker.state is BreakerState.OPEN
    breaker.failed(108.0)
    assert breaker.state is BreakerState.OPEN
    assert breaker.allow(110.0)  # the cooldown still counts from 100


def test_would_allow_lets_no_probe_out() -> None:
    breaker = opened(at=100.0)
    assert breaker.would_allow(111.0)
    assert breaker.state is BreakerState.OPEN
    assert breaker.would_allow(111.0)
    assert breaker.allow(111.0)


@pytest.mark.parametrize(
    ("threshold", "cooldown", "probe_timeout"), [(0, 1.0, None), (1, -1.0, None), (1, 1.0, 0.0)]
)
def test_nonsense_parameters_are_refused(
    threshold: int, cooldown: float, probe_timeout: float | None
) -> None:
    with pytest.raises(ValueError, match="must"):
        CircuitBreaker(threshold, cooldown, probe_timeout)
