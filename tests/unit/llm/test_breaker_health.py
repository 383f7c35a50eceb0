"""Per-target health: a breaker and an average latency per key, in one process."""

from __future__ import annotations

import pytest

from application.llm.health import TargetHealth, health_key
from application.llm.settings import LlmSettings
from application.ports.llm import Endpoint
from domain.llm.models import Provider


class Ticker:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def changes() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def health(ticker: Ticker, changes: list[tuple[str, str]]) -> TargetHealth:
    return TargetHealth(
        threshold=2, cooldown=30.0, monotonic=ticker, on_change=lambda k, s: changes.append((k, s))
    )


def test_an_unknown_target_is_closed_allowed_and_unmeasured(health: TargetHealth) -> None:
    assert health.allow("a")
    assert health.available("a")
    assert health.state("a") == "closed"
    assert health.latency("a") is None


def test_each_key_has_its_own_breaker(
    health: TargetHealth, ticker: Ticker, changes: list[tuple[str, str]]
) -> None:
    health.failed("a")
    health.failed("a")
    assert health.state("a") == "open"
    assert not health.allow("a")
    assert not health.available("a")
    assert health.allow("b")
    assert changes == [("a", "open")]


def test_the_breaker_cycle_is_reported_to_the_listener(
    health: TargetHealth, ticker: Ticker, changes: list[tuple[str, str]]
) -> None:
    health.failed("a")
    health.failed("a")
    ticker.now += 30.0
    assert health.available("a")  # looking does not take the probe
    assert health.state("a") == "open"
    assert health.allow("a")
    assert not health.allow("a")
    health.failed("a")
    ticker.now += 30.0
    assert health.allow("a")
    health.succeeded("a", 0.5)
    assert health.state("a") == "closed"
    assert changes == [
        ("a", "open"),
        ("a", "half_open"),
        ("a", "open"),
        ("a", "half_open"),
        ("a", "closed"),
    ]


def test_an_abandoned_probe_frees_the_target(health: TargetHealth, ticker: Ticker) -> None:
    health.failed("a")
    health.failed("a")
    ticker.now += 31.0
    assert health.allow("a")
    health.abandoned("a")
    assert health.allow("a")


def test_latency_is_an_exponentially_weighted_average(health: TargetHealth) -> None:
    health.succeeded("a", 1.0)
    assert health.latency("a") == pytest.approx(1.0)
    health.succeeded("a", 2.0)
    assert health.latency("a") == pytest.approx(1.3)
    health.succeeded("a")  # no figure: only the breaker hears of it
    health.succeeded("a", float("nan"))
    health.succeeded("a", -1.0)
    assert health.latency("a") == pytest.approx(1.3)


def test_a_failure_does_not_touch_the_latency(health: TargetHealth) -> None:
    health.succeeded("a", 0.2)
    health.failed("a")
    assert health.latency("a") == pytest.approx(0.2)


def test_the_listener_may_be_added_later(health: TargetHealth) -> None:
    seen: list[str] = []
    health.subscribe(lambda key, state: seen.append(f"{key}={state}"))
    health.failed("x")
    health.failed("x")
    assert seen == ["x=open"]


def test_past_the_bound_healthy_targets_are_forgotten_first(ticker: Ticker) -> None:
    health = TargetHealth(threshold=1, cooldown=30.0, monotonic=ticker, max_targets=4)
    health.failed("broken")
    for key in ("a", "b", "c", "d", "e"):
        health.succeeded(key, 0.1)
    snapshot = health.snapshot()
    assert len(snapshot) <= 4
    assert snapshot["broken"] == ("open", None)
    assert "e" in snapshot


def test_it_is_built_from_the_settings(ticker: Ticker) -> None:
    health = TargetHealth.from_settings(
        LlmSettings(breaker_failure_threshold=1, breaker_cooldown_seconds=5.0), monotonic=ticker
    )
    health.failed("a")
    assert not health.allow("a")
    ticker.now += 5.0
    assert health.allow("a")


def test_the_key_names_the_upstream_and_model_but_not_the_secret() -> None:
    endpoint = Endpoint(
        provider=Provider.OPENAI, base_url="https://api.openai.com/v1", api_key="sk-x"
    )
    key = health_key(endpoint, "gpt-4o-mini")
    assert key.endswith("|gpt-4o-mini")
    assert "https://api.openai.com/v1" in key
    assert "sk-x" not in key
