"""The call gate: limits and budget hold taken together and given back
together. The same contract against Redis (one Lua script each way) and the
sequential gate over the in-memory limiter and ledger."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from adapters.redis.llm_gate import RedisCallGate
from adapters.redis.llm_ledger import RedisSpendLedger, window_key
from adapters.redis.llm_limiter import RedisCallLimiter
from application.ports.llm_governance import CallGate, CallLimiter, SpendLedger
from domain.llm.errors import BudgetExceeded, LimitExceeded
from domain.llm.governance import Budget, BudgetPeriod, BudgetWindow, Limits, budget_window
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_governance import (
    FakeSpendHistory,
    InMemoryCallLimiter,
    InMemorySpendLedger,
    SequentialGate,
)

pytestmark = [pytest.mark.integration]

WS = WorkspaceId(uuid.UUID("0190eeee-0000-7000-8000-0000000000c3"))
SCOPE = f"ws:{WS}"


def window(limit: int) -> BudgetWindow:
    budget = Budget(workspace_id=WS, api_key_id=None, limit_micros=limit, period=BudgetPeriod.DAY)
    return budget_window(budget, datetime.now(UTC))


def scopes(**limits: int) -> tuple[tuple[str, Limits], ...]:
    return ((SCOPE, Limits(**limits)),)


@dataclass
class Gate:
    gate: CallGate
    limiter: CallLimiter
    ledger: SpendLedger
    history: FakeSpendHistory
    redis: Redis | None


@pytest.fixture(params=["redis", "sequential"])
async def gate(request: pytest.FixtureRequest, clean: None) -> AsyncIterator[Gate]:
    history = FakeSpendHistory()
    if request.param == "redis":
        redis: Redis = request.getfixturevalue("redis")
        limiter = RedisCallLimiter(redis)
        ledger = RedisSpendLedger(redis, history)
        yield Gate(RedisCallGate(redis, limiter, ledger), limiter, ledger, history, redis)
    else:
        memory_limiter = InMemoryCallLimiter(clock=time.time)
        memory_ledger = InMemorySpendLedger(history, clock=time.time)
        yield Gate(
            SequentialGate(memory_limiter, memory_ledger),
            memory_limiter,
            memory_ledger,
            history,
            None,
        )


async def test_an_admitted_call_holds_a_slot_and_its_worst_case(gate: Gate) -> None:
    budget = window(1_000)
    admission, reservation = await gate.gate.admit(scopes(max_concurrent=1), 10, (budget,), 300)
    assert admission is not None and reservation is not None
    [standing] = await gate.ledger.standing((budget,))
    assert (standing.spent_micros, standing.reserved_micros) == (0, 300)
    with pytest.raises(LimitExceeded):  # the one slot is taken
        await gate.gate.admit(scopes(max_concurrent=1), 10, (budget,), 1)
    await gate.gate.settle(admission, reservation, 12, 120)
    [standing] = await gate.ledger.standing((budget,))
    assert (standing.spent_micros, standing.reserved_micros) == (120, 0)
    again = await gate.gate.admit(scopes(max_concurrent=1), 10, (budget,), 1)  # slot free again
    assert again[0] is not None


async def test_a_call_refused_by_its_limits_holds_no_money(gate: Gate) -> None:
    budget = window(1_000)
    await gate.gate.admit(scopes(requests_per_minute=1), 10, (budget,), 100)
    with pytest.raises(LimitExceeded):
        await gate.gate.admit(scopes(requests_per_minute=1), 10, (budget,), 100)
    [standing] = await gate.ledger.standing((budget,))
    assert standing.reserved_micros == 100  # the first call's only


async def test_a_call_refused_by_its_budget_takes_no_slot_and_no_tokens(gate: Gate) -> None:
    gate.history.add(WS, None, datetime.now(UTC), 950)
    budget = window(1_000)
    limits = scopes(max_concurrent=1, tokens_per_minute=100)
    with pytest.raises(BudgetExceeded):
        await gate.gate.admit(limits, 60, (budget,), 2_000)  # can never fit
    with pytest.raises(BudgetExceeded):
        await gate.gate.admit(limits, 60, (budget,), 100)  # does not fit what is spent
    admission, reservation = await gate.gate.admit(limits, 60, (budget,), 50)
    assert admission is not None and reservation is not None  # slot and tokens were free


async def test_a_window_without_a_counter_is_seeded_from_the_usage_records(gate: Gate) -> None:
    gate.history.add(WS, None, datetime.now(UTC), 700)
    budget = window(1_000)
    with pytest.raises(BudgetExceeded):
        await gate.gate.admit(scopes(max_concurrent=5), 1, (budget,), 400)
    admission, reservation = await gate.gate.admit(scopes(max_concurrent=5), 1, (budget,), 300)
    [standing] = await gate.ledger.standing((budget,))
    assert (standing.spent_micros, standing.reserved_micros) == (700, 300)
    if gate.redis is not None:  # the counter is lost before the call settles
        await gate.redis.delete(window_key(budget))
        gate.history.add(WS, None, datetime.now(UTC), 50)
    await gate.gate.settle(admission, reservation, 1, 100)
    [standing] = await gate.ledger.standing((budget,))
    assert standing.reserved_micros == 0
    assert standing.spent_micros == (850 if gate.redis is not None else 800)


async def admitted_of(
    gate: Gate, limits: tuple[tuple[str, Limits], ...], budget: BudgetWindow, calls: int
) -> int:
    """How many of ``calls`` concurrent admissions holding 100 each get in."""

    async def one() -> bool:
        try:
            await gate.gate.admit(limits, 1, (budget,), 100)
        except (LimitExceeded, BudgetExceeded):
            return False
        return True

    return sum(await asyncio.gather(*(one() for _ in range(calls))))


async def test_concurrent_calls_take_exactly_what_limits_and_budget_allow(gate: Gate) -> None:
    budget = window(1_000)
    assert await admitted_of(gate, scopes(max_concurrent=7), budget, 50) == 7  # the budget: 10
    [standing] = await gate.ledger.standing((budget,))
    assert standing.reserved_micros == 700
    # More slots: now the 300 left in the budget decide.
    assert await admitted_of(gate, scopes(max_concurrent=20), budget, 50) == 3


async def test_nothing_to_count_or_hold_gives_nothing(gate: Gate) -> None:
    assert await gate.gate.admit((), 5, (), 0) == (None, None)
    admission, reservation = await gate.gate.admit(scopes(max_concurrent=1), 5, (), 0)
    assert admission is not None and reservation is None
    await gate.gate.settle(admission, None, 5, 0)
    assert (await gate.gate.admit(scopes(max_concurrent=1), 5, (), 0))[0] is not None
