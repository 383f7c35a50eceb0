"""The ledger's and the limiter's arithmetic, on random operation sequences,
against a plain log of what happened (the in-memory fakes are the reference
the Redis adapters are held to in tests/integration)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.ports.llm_governance import Admission, Reservation
from domain.identity.api_key import ApiKeyId
from domain.llm.errors import BudgetExceeded, LimitExceeded
from domain.llm.governance import Budget, BudgetPeriod, Limits, budget_window
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_governance import FakeSpendHistory, InMemoryCallLimiter, InMemorySpendLedger

WORKSPACE = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
KEY = ApiKeyId(UUID("0190dddd-0000-7000-8000-000000000001"))
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
HOLD = 100.0


class Clock:
    def __init__(self) -> None:
        self.t = NOW.timestamp()

    def __call__(self) -> float:
        return self.t


# -- the ledger ----------------------------------------------------------------------------

ledger_ops = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.sampled_from(["ws", "key", "both"]), st.integers(0, 60)),
        st.tuples(st.just("settle"), st.integers(0, 30), st.integers(0, 60)),
        st.tuples(st.just("wait"), st.integers(1, 80), st.just(0)),
    ),
    max_size=40,
)


@given(
    ops=ledger_ops,
    ws_limit=st.integers(0, 150),
    key_limit=st.integers(0, 100),
    seeded=st.integers(0, 40),
)
def test_the_ledger_holds_all_or_nothing_and_never_lets_holds_pass_the_limit(
    ops: list[tuple[str, object, int]], ws_limit: int, key_limit: int, seeded: int
) -> None:
    clock = Clock()
    history = FakeSpendHistory()
    history.add(WORKSPACE, KEY, NOW, seeded)  # recorded before: counts against both
    ledger = InMemorySpendLedger(history, clock=clock, hold_seconds=HOLD)
    ws = budget_window(
        Budget(
            workspace_id=WORKSPACE,
            api_key_id=None,
            limit_micros=ws_limit,
            period=BudgetPeriod.MONTH,
        ),
        NOW,
    )
    key = budget_window(
        Budget(
            workspace_id=WORKSPACE, api_key_id=KEY, limit_micros=key_limit, period=BudgetPeriod.DAY
        ),
        NOW,
    )
    windows = {"ws": (ws,), "key": (key,), "both": (ws, key)}
    # The log: settled spend and live holds (token -> amount, taken at, windows).
    spent = {"ws": seeded, "key": seeded}
    holds: dict[str, tuple[int, float, tuple[str, ...]]] = {}
    reservations: list[Reservation] = []

    def reserved(name: str) -> int:
        return sum(a for a, at, names in holds.values() if name in names and at + HOLD > clock.t)

    async def run() -> None:
        for op, arg, amount in ops:
            if op == "wait":
                clock.t += amount or arg  # type: ignore[operator]
                continue
            if op == "reserve":
                names: tuple[str, ...] = ("ws", "key") if arg == "both" else (str(arg),)
                limits = {"ws": ws_limit, "key": key_limit}
                fits = all(spent[n] + reserved(n) + amount <= limits[n] for n in names)
                try:
                    reservation = await ledger.reserve(windows[str(arg)], amount)
                except BudgetExceeded:
                    assert not fits
                else:
                    assert fits
                    holds[reservation.token] = (amount, clock.t, names)
                    reservations.append(reservation)
            else:
                if not reservations:
                    continue
                reservation = reservations.pop(int(arg) % len(reservations))  # type: ignore[call-overload]
                _, _, held = holds.pop(reservation.token)
                await ledger.settle(reservation, amount)
                for n in held:
                    spent[n] += amount
            for name, window in (("ws", ws), ("key", key)):
                [standing] = await ledger.standing((window,))
                assert standing.spent_micros == spent[name]
                assert standing.reserved_micros == reserved(name)

    asyncio.run(run())


async def test_a_window_is_seeded_once_from_history_and_a_new_period_starts_from_its_records() -> (
    None
):
    clock = Clock()
    history = FakeSpendHistory()
    history.add(WORKSPACE, None, datetime(2025, 3, 9, tzinfo=UTC), 7)  # yesterday
    history.add(WORKSPACE, None, datetime(2025, 3, 10, tzinfo=UTC), 5)  # today
    ledger = InMemorySpendLedger(history, clock=clock)
    budget = Budget(
        workspace_id=WORKSPACE, api_key_id=None, limit_micros=10, period=BudgetPeriod.DAY
    )
    window = budget_window(budget, NOW)
    reservation = await ledger.reserve((window,), 5)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve((window,), 1)
    await ledger.settle(reservation, 2)
    [standing] = await ledger.standing((window,))
    assert (standing.spent_micros, standing.reserved_micros) == (7, 0)
    assert history.reads == 1


# -- the limiter ---------------------------------------------------------------------------


@dataclass
class Call:
    admission: Admission
    at: float
    tokens: int
    released: bool = False


limiter_ops = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), st.integers(0, 40)),
        st.tuples(st.just("release"), st.integers(0, 1000)),
        st.tuples(st.just("wait"), st.integers(1, 30_000)),  # milliseconds
    ),
    max_size=60,
)


@given(
    ops=limiter_ops,
    rpm=st.one_of(st.none(), st.integers(1, 6)),
    tpm=st.one_of(st.none(), st.integers(1, 80)),
    conc=st.one_of(st.none(), st.integers(1, 3)),
    actual=st.integers(0, 50),
)
def test_the_limiter_admits_exactly_what_the_limits_allow(
    ops: list[tuple[str, int]], rpm: int | None, tpm: int | None, conc: int | None, actual: int
) -> None:
    clock = Clock()
    lease = 45.0
    limiter = InMemoryCallLimiter(clock=clock, lease_seconds=lease)
    limits = Limits(requests_per_minute=rpm, tokens_per_minute=tpm, max_concurrent=conc)
    calls: list[Call] = []

    def in_window(call: Call) -> bool:
        return clock.t - call.at < 60

    async def run() -> None:
        for op, value in ops:
            if op == "wait":
                clock.t += value / 1000
            elif op == "release":
                live = [c for c in calls if not c.released]
                if live:
                    call = live[value % len(live)]
                    call.released = True
                    await limiter.release(call.admission, actual)
                    call.tokens = actual
            else:
                recent = [c for c in calls if in_window(c)]
                running = [c for c in calls if not c.released and c.at + lease > clock.t]
                expected = not (
                    (rpm is not None and len(recent) >= rpm)
                    or (tpm is not None and sum(c.tokens for c in recent) + value > tpm)
                    or (conc is not None and len(running) >= conc)
                )
                if not expected:
                    with pytest.raises(LimitExceeded) as refused:
                        await limiter.admit((("ws:a", limits),), value)
                    assert 1 <= refused.value.retry_after <= 60
                    if rpm is not None and len(recent) >= rpm:
                        oldest = min(c.at for c in recent)
                        wait = max(1, math.ceil(round((oldest + 60 - clock.t) * 1000) / 1000))
                        assert refused.value.retry_after == wait
                    continue
                admission = await limiter.admit((("ws:a", limits),), value)
                calls.append(Call(admission=admission, at=clock.t, tokens=value))

    if limits.unlimited:
        return
    asyncio.run(run())


async def test_scopes_are_all_or_nothing() -> None:
    limiter = InMemoryCallLimiter(clock=Clock())
    ws, key = Limits(requests_per_minute=5), Limits(requests_per_minute=1)
    await limiter.admit((("ws:a", ws), ("key:k", key)), 0)
    with pytest.raises(LimitExceeded):
        await limiter.admit((("ws:a", ws), ("key:k", key)), 0)
    assert limiter.usage("ws:a")[0] == 1  # the refused call counted nowhere


async def test_release_replaces_the_estimate_with_the_real_count() -> None:
    limiter = InMemoryCallLimiter(clock=Clock())
    limits = Limits(tokens_per_minute=100, max_concurrent=1)
    admission = await limiter.admit((("ws:a", limits),), 90)
    assert limiter.usage("ws:a") == (0, 90, 1)
    await limiter.release(admission, 30)
    assert limiter.usage("ws:a") == (0, 30, 0)
    await limiter.admit((("ws:a", limits),), 70)
