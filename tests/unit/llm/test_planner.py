"""The order in which a call tries its targets, for each strategy."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.llm.health import TargetHealth
from application.llm.routing import (
    Option,
    attempt_order,
    order_candidates,
    plan_targets,
    weighted_pick,
)
from application.llm.targets import Candidate
from domain.llm.models import Capabilities, ModelInfo, ModelName, Price
from domain.llm.route import RouteTarget, Strategy


def never(_: float = 0.0) -> float:
    raise AssertionError("no random draw expected")


def models(targets: list[RouteTarget]) -> list[str]:
    return [t.model for t in targets]


class Health:
    """Scripted latencies and breakers, keyed by model."""

    def __init__(
        self, latencies: dict[str, float] | None = None, shut: set[str] | None = None
    ) -> None:
        self.latencies = latencies or {}
        self.shut = shut or set()

    def latency(self, key: str) -> float | None:
        return self.latencies.get(key)

    def available(self, key: str) -> bool:
        return key not in self.shut


def by_model(target: RouteTarget) -> str:
    return target.model


def no_price(_: str) -> Price | None:
    return None


# -- priority ------------------------------------------------------------------------------


def test_priority_goes_by_ascending_number_and_keeps_declared_order_in_ties() -> None:
    targets = [
        RouteTarget(model="openai/b", priority=5),
        RouteTarget(model="openai/a", priority=-1),
        RouteTarget(model="openai/c", priority=5),
        RouteTarget(model="openai/d", priority=0),
    ]
    ordered = plan_targets(targets, Strategy.PRIORITY, price_of=no_price, rng=never)
    assert models(ordered) == ["openai/a", "openai/d", "openai/b", "openai/c"]


def test_a_single_target_is_its_own_plan() -> None:
    only = [RouteTarget(model="openai/gpt-4o")]
    assert plan_targets(only, Strategy.WEIGHTED, price_of=no_price, rng=never) == only


# -- weighted ------------------------------------------------------------------------------


def test_weighted_picks_the_first_by_weight_and_the_rest_by_descending_weight() -> None:
    targets = [
        RouteTarget(model="openai/light", weight=1),
        RouteTarget(model="openai/heavy", weight=6),
        RouteTarget(model="openai/middle", weight=3),
    ]
    # a draw of 0.05 lands on "light" (the first tenth)
    ordered = plan_targets(targets, Strategy.WEIGHTED, price_of=no_price, rng=lambda: 0.05)
    assert models(ordered) == ["openai/light", "openai/heavy", "openai/middle"]
    ordered = plan_targets(targets, Strategy.WEIGHTED, price_of=no_price, rng=lambda: 0.5)
    assert models(ordered) == ["openai/heavy", "openai/middle", "openai/light"]


def test_weighted_first_picks_follow_the_weights() -> None:
    targets = [
        RouteTarget(model="openai/a", weight=1),
        RouteTarget(model="openai/b", weight=3),
        RouteTarget(model="openai/c", weight=6),
    ]
    rng = random.Random(20250301)
    draws = 20_000
    firsts = Counter(
        plan_targets(targets, Strategy.WEIGHTED, price_of=no_price, rng=rng.random)[0].model
        for _ in range(draws)
    )
    assert firsts["openai/a"] / draws == pytest.approx(0.1, abs=0.015)
    assert firsts["openai/b"] / draws == pytest.approx(0.3, abs=0.015)
    assert firsts["openai/c"] / draws == pytest.approx(0.6, abs=0.015)


@pytest.mark.parametrize(
    ("draw", "index"), [(0.0, 0), (0.0999, 0), (0.1, 1), (0.3999, 1), (0.4, 2), (0.99999, 2)]
)
def test_a_draw_lands_on_the_index_whose_share_holds_it(draw: float, index: int) -> None:
    assert weighted_pick([1, 3, 6], draw) == index


# -- least latency -------------------------------------------------------------------------


def test_least_latency_tries_unmeasured_targets_first_then_the_fastest() -> None:
    targets = [
        RouteTarget(model="openai/slow"),
        RouteTarget(model="openai/new"),
        RouteTarget(model="openai/fast"),
        RouteTarget(model="openai/newer"),
    ]
    health = Health({"openai/slow": 2.0, "openai/fast": 0.3})
    ordered = plan_targets(
        targets, Strategy.LEAST_LATENCY, price_of=no_price, key_of=by_model, health=health
    )
    assert models(ordered) == ["openai/new", "openai/newer", "openai/fast", "openai/slow"]


def test_least_latency_reads_target_health_averages() -> None:
    health = TargetHealth(threshold=3, cooldown=30.0, monotonic=lambda: 0.0)
    health.succeeded("openai/a", 0.9)
    health.succeeded("openai/b", 0.1)
    targets = [RouteTarget(model="openai/a"), RouteTarget(model="openai/b")]
    ordered = plan_targets(
        targets, Strategy.LEAST_LATENCY, price_of=no_price, key_of=by_model, health=health
    )
    assert models(ordered) == ["openai/b", "openai/a"]


# -- lowest cost ---------------------------------------------------------------------------


def test_lowest_cost_goes_by_input_plus_output_price_with_unpriced_last() -> None:
    prices = {
        "openai/dear": Price(input_per_mtok=2.5, output_per_mtok=10.0),
        "openai/cheap": Price(input_per_mtok=0.15, output_per_mtok=0.6),
        "openai/mid": Price(input_per_mtok=3.0, output_per_mtok=1.0),
    }
    targets = [
        RouteTarget(model="openai/unknown"),
        RouteTarget(model="openai/dear"),
        RouteTarget(model="openai/cheap"),
        RouteTarget(model="openai/mid"),
    ]
    ordered = plan_targets(targets, Strategy.LOWEST_COST, price_of=prices.get, rng=never)
    assert models(ordered) == ["openai/cheap", "openai/mid", "openai/dear", "openai/unknown"]


# -- breakers ------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", list(Strategy))
def test_targets_whose_breaker_is_open_go_last(strategy: Strategy) -> None:
    targets = [
        RouteTarget(model="openai/a", priority=0, weight=1000),
        RouteTarget(model="openai/b", priority=1, weight=1),
        RouteTarget(model="openai/c", priority=2, weight=1),
    ]
    health = Health({"openai/a": 0.01, "openai/b": 1.0, "openai/c": 2.0}, shut={"openai/a"})
    ordered = plan_targets(
        targets,
        strategy,
        price_of=no_price,
        key_of=by_model,
        health=health,
        rng=random.Random(1).random,
    )
    assert ordered[-1].model == "openai/a"
    assert sorted(models(ordered)) == ["openai/a", "openai/b", "openai/c"]


def test_when_every_breaker_is_open_the_strategys_order_stands() -> None:
    targets = [
        RouteTarget(model="openai/b", priority=2),
        RouteTarget(model="openai/a", priority=1),
    ]
    health = Health(shut={"openai/a", "openai/b"})
    ordered = plan_targets(
        targets, Strategy.PRIORITY, price_of=no_price, key_of=by_model, health=health
    )
    assert models(ordered) == ["openai/a", "openai/b"]


def test_without_keys_the_health_is_not_consulted() -> None:
    targets = [RouteTarget(model="openai/a"), RouteTarget(model="openai/b")]
    health = Health({"openai/a": 9.0, "openai/b": 0.1}, shut={"openai/b"})
    ordered = plan_targets(targets, Strategy.LEAST_LATENCY, price_of=no_price, health=health)
    assert models(ordered) == ["openai/a", "openai/b"]


# -- every strategy ------------------------------------------------------------------------

options = st.builds(
    Option,
    weight=st.integers(1, 1000),
    priority=st.integers(-1000, 1000),
    latency=st.none() | st.floats(0, 60),
    cost=st.none() | st.floats(0, 200),
    available=st.booleans(),
)


@given(
    st.lists(options, min_size=1, max_size=16),
    st.sampled_from(list(Strategy)),
    st.floats(0, 1, exclude_max=True),
)
def test_every_target_is_planned_exactly_once_with_available_ones_first(
    opts: list[Option], strategy: Strategy, draw: float
) -> None:
    order = attempt_order(opts, strategy, lambda: draw)
    assert sorted(order) == list(range(len(opts)))
    flags = [opts[i].available for i in order]
    assert flags == sorted(flags, reverse=True)


@given(st.lists(options, min_size=1, max_size=16))
def test_priority_order_is_never_decreasing_among_available_targets(opts: list[Option]) -> None:
    order = [i for i in attempt_order(opts, Strategy.PRIORITY, never) if opts[i].available]
    priorities = [opts[i].priority for i in order]
    assert priorities == sorted(priorities)


# -- the gateway's candidates --------------------------------------------------------------


def candidate(
    model: str, price: Price | None = None, *, weight: int = 1, priority: int | None = None
) -> Candidate:
    """A route's candidate; with no priority given, a direct model (no route target)."""
    name = ModelName.require(model)
    info = ModelInfo(name=name, capabilities=Capabilities(), price=price)
    target = (
        RouteTarget(model=model, weight=weight, priority=priority) if priority is not None else None
    )
    return Candidate(info=info, target=target)


def test_candidates_are_priced_from_their_catalogue_entries() -> None:
    dear = candidate("openai/dear", Price(input_per_mtok=5, output_per_mtok=15), priority=0)
    cheap = candidate("openai/cheap", Price(input_per_mtok=0.1, output_per_mtok=0.4), priority=0)
    unpriced = candidate("openai/free-or-not")
    ordered = order_candidates([unpriced, dear, cheap], Strategy.LOWEST_COST)
    assert ordered == (cheap, dear, unpriced)


def test_candidates_use_the_health_under_the_key_given() -> None:
    health = TargetHealth(threshold=1, cooldown=30.0, monotonic=lambda: 0.0)
    first = candidate("openai/a", priority=0)
    second = candidate("openai/b", priority=1)
    health.failed("upstream|a")
    ordered = order_candidates(
        [first, second],
        Strategy.PRIORITY,
        health,
        key_of=lambda c: f"upstream|{c.name.model}",
    )
    assert ordered == (second, first)
    assert health.state("upstream|a") == "open"  # planning let no probe out


def test_a_direct_model_without_a_route_target_is_planned_alone() -> None:
    only = candidate("anthropic/claude-sonnet-4-5")
    assert order_candidates([only], Strategy.PRIORITY) == (only,)
