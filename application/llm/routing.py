"""The planner: in which order a call tries its targets.

Strategies (ties always keep the declared order):
- ``priority``: ascending priority number, a fallback chain;
- ``weighted``: the first target drawn at random by weight, the others after
  it by descending weight, as fallbacks;
- ``least_latency``: targets never measured first (so they get measured),
  then ascending average latency;
- ``lowest_cost``: ascending input + output price per million tokens,
  unpriced targets last.

Targets whose circuit breaker would refuse a call now go last, in the same
strategy's order among themselves: they are not dropped. The attempt loop
asks the breaker again when their turn comes, so they fail fast and cost
nothing, unless their cool-down has passed by then, when they serve as the
probe. When every target's breaker is open the order is the strategy's.

Pure: the health figures, prices and the random draw are passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from application.llm.targets import Candidate
from domain.llm.models import Price
from domain.llm.route import RouteTarget, Strategy

T = TypeVar("T")
Draw = Callable[[], float]  # uniform in [0, 1)


class HealthView(Protocol):
    """What the planner reads of ``TargetHealth``."""

    def latency(self, key: str) -> float | None: ...

    def available(self, key: str) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """What the planner knows of one target."""

    weight: int = 1
    priority: int = 0
    latency: float | None = None  # average seconds; None: never measured
    cost: float | None = None  # USD per million input + output tokens; None: unpriced
    available: bool = True  # its breaker would let a call through now


def unit_cost(price: Price | None) -> float | None:
    return None if price is None else price.input_per_mtok + price.output_per_mtok


def weighted_pick(weights: Sequence[int], draw: float) -> int:
    """The index ``draw`` in [0, 1) lands on, each index with odds weight/total."""
    total = sum(weights)
    point = min(max(draw, 0.0), 1.0) * total
    running = 0
    for index, weight in enumerate(weights):
        running += weight
        if point < running:
            return index
    return len(weights) - 1


def _by_strategy(
    indices: list[int], options: Sequence[Option], strategy: Strategy, rng: Draw
) -> list[int]:
    if strategy is Strategy.PRIORITY:
        return sorted(indices, key=lambda i: options[i].priority)
    if strategy is Strategy.LEAST_LATENCY:

        def measured(i: int) -> tuple[bool, float]:
            latency = options[i].latency
            return (latency is not None, latency or 0.0)

        return sorted(indices, key=measured)
    if strategy is Strategy.LOWEST_COST:

        def priced(i: int) -> tuple[bool, float]:
            cost = options[i].cost
            return (cost is None, cost or 0.0)

        return sorted(indices, key=priced)
    # weighted
    if not indices:
        return []
    first = indices[weighted_pick([max(options[i].weight, 0) for i in indices], rng())]
    rest = sorted((i for i in indices if i != first), key=lambda i: -options[i].weight)
    return [first, *rest]


def attempt_order(
    options: Sequence[Option], strategy: Strategy, rng: Draw = random.random
) -> list[int]:
    """Indices into ``options`` in the order to try them; a permutation."""
    ready = [i for i, o in enumerate(options) if o.available]
    shut = [i for i, o in enumerate(options) if not o.available]
    return _by_strategy(ready, options, strategy, rng) + _by_strategy(shut, options, strategy, rng)


def plan(
    items: Sequence[T],
    strategy: Strategy,
    *,
    target_of: Callable[[T], RouteTarget],
    price_of: Callable[[T], Price | None],
    key_of: Callable[[T], str | None] | None = None,
    health: HealthView | None = None,
    rng: Draw = random.random,
) -> list[T]:
    """``items`` (route targets, or anything carrying one) in attempt order.
    ``key_of`` names an item's health key; without it, or without ``health``,
    no latency is known and every target counts as available."""

    def option(item: T) -> Option:
        target = target_of(item)
        key = key_of(item) if key_of is not None and health is not None else None
        return Option(
            weight=target.weight,
            priority=target.priority,
            latency=health.latency(key) if health is not None and key is not None else None,
            cost=unit_cost(price_of(item)),
            available=health.available(key) if health is not None and key is not None else True,
        )

    if len(items) <= 1:
        return list(items)
    options = [option(item) for item in items]
    return [items[i] for i in attempt_order(options, strategy, rng)]


def plan_targets(
    targets: Sequence[RouteTarget],
    strategy: Strategy,
    *,
    price_of: Callable[[str], Price | None],
    key_of: Callable[[RouteTarget], str | None] | None = None,
    health: HealthView | None = None,
    rng: Draw = random.random,
) -> list[RouteTarget]:
    """A route's targets in attempt order; ``price_of`` looks a model up by name."""
    return plan(
        targets,
        strategy,
        target_of=lambda t: t,
        price_of=lambda t: price_of(t.model),
        key_of=key_of,
        health=health,
        rng=rng,
    )


def order_candidates(
    candidates: Sequence[Candidate],
    strategy: Strategy,
    health: HealthView | None = None,
    *,
    key_of: Callable[[Candidate], str | None] | None = None,
    rng: Draw = random.random,
) -> tuple[Candidate, ...]:
    """The gateway's candidates in attempt order, priced by their catalogue
    entries. Pass ``key_of`` giving the same key the attempt loop uses with
    ``health`` (``health_key(endpoint, model)``) for latencies and breakers to count."""
    return tuple(
        plan(
            candidates,
            strategy,
            target_of=lambda c: c.target or RouteTarget(model=str(c.name)),
            price_of=lambda c: c.info.price,
            key_of=key_of,
            health=health,
            rng=rng,
        )
    )
