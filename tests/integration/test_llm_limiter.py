"""The call limiter in Redis: exact under concurrency, all-or-nothing across
scopes, tokens/min reconciled on release, leases that lapse, retry-after
values, and agreement with the in-memory reference on random sequences."""

from __future__ import annotations

import asyncio
import time

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis

from adapters.redis.llm_limiter import RedisCallLimiter
from application.ports.llm_governance import Admission
from domain.common.errors import StorageUnavailable
from domain.llm.errors import LimitExceeded
from domain.llm.governance import Limits
from tests.fakes.llm_governance import InMemoryCallLimiter

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean")]


class Clock:
    """The time it was when made, plus an offset a test moves forward: both
    implementations see the same instant."""

    def __init__(self) -> None:
        self.start = time.time()
        self.offset = 0.0

    def __call__(self) -> float:
        return self.start + self.offset


async def test_100_concurrent_admits_take_exactly_the_free_slots(redis: Redis) -> None:
    limiter = RedisCallLimiter(redis)
    limits = Limits(max_concurrent=7)
    results = await asyncio.gather(
        *(limiter.admit((("ws:a", limits),), 10) for _ in range(100)), return_exceptions=True
    )
    admitted = [r for r in results if isinstance(r, Admission)]
    refused = [r for r in results if isinstance(r, LimitExceeded)]
    assert (len(admitted), len(refused)) == (7, 93)
    assert all("7 concurrent requests" in r.detail for r in refused)
    assert await redis.zcard("ss:llm:conc:{ws:a}") == 7
    await asyncio.gather(*(limiter.release(a, 10) for a in admitted[:3]))
    again = await asyncio.gather(
        *(limiter.admit((("ws:a", limits),), 10) for _ in range(100)), return_exceptions=True
    )
    assert sum(isinstance(r, Admission) for r in again) == 3


async def test_100_concurrent_admits_against_requests_per_minute_let_exactly_the_limit_in(
    redis: Redis,
) -> None:
    limiter = RedisCallLimiter(redis)
    limits = Limits(requests_per_minute=25)
    results = await asyncio.gather(
        *(limiter.admit((("key:k", limits),), 0) for _ in range(100)), return_exceptions=True
    )
    assert sum(isinstance(r, Admission) for r in results) == 25
    refusal = next(r for r in results if isinstance(r, LimitExceeded))
    assert "This API key's limit of 25 requests per minute" in refusal.detail
    assert 59 <= refusal.retry_after <= 60


async def test_scopes_are_all_or_nothing(redis: Redis) -> None:
    limiter = RedisCallLimiter(redis)
    workspace, key = Limits(requests_per_minute=100, max_concurrent=50), Limits(max_concurrent=2)
    scopes = (("ws:a", workspace), ("key:k", key))
    results = await asyncio.gather(
        *(limiter.admit(scopes, 0) for _ in range(20)), return_exceptions=True
    )
    assert sum(isinstance(r, Admission) for r in results) == 2
    # The refused calls were counted nowhere: not in the workspace's minute, not in its slots.
    assert await redis.zcard("ss:llm:rpm:{ws:a}") == 2
    assert await redis.zcard("ss:llm:conc:{ws:a}") == 2


async def test_tokens_per_minute_hold_the_estimate_and_release_reconciles(redis: Redis) -> None:
    clock = Clock()
    limiter = RedisCallLimiter(redis, clock=clock)
    limits = Limits(tokens_per_minute=1_000)
    scopes = (("ws:a", limits),)
    first = await limiter.admit(scopes, 600)
    with pytest.raises(LimitExceeded) as refused:
        await limiter.admit(scopes, 500)
    assert "1000 tokens per minute" in refused.value.detail
    await limiter.release(first, 150)  # the call used far less than it might have
    counted = await redis.hget("ss:llm:tpm:{ws:a}:amounts", "_sum")  # type: ignore[misc]
    assert int(counted or 0) == 150
    second = await limiter.admit(scopes, 850)
    await limiter.release(second, 900)  # and this one more: the real count stands
    with pytest.raises(LimitExceeded) as refused:
        await limiter.admit(scopes, 1)
    # The first call's 150 tokens leave the window first, 60 s after it came in.
    assert refused.value.retry_after == 60
    clock.offset = 60.5
    await limiter.admit(scopes, 100)  # 900 + 100: the first call's tokens have left


async def test_a_request_larger_than_the_whole_token_limit_says_so(redis: Redis) -> None:
    limiter = RedisCallLimiter(redis)
    with pytest.raises(LimitExceeded, match="more than the workspace's limit of 100 tokens"):
        await limiter.admit((("ws:a", Limits(tokens_per_minute=100)),), 101)


async def test_slots_of_a_crashed_process_lapse(redis: Redis) -> None:
    clock = Clock()
    limiter = RedisCallLimiter(redis, lease_seconds=30, clock=clock)
    scopes = (("ws:a", Limits(max_concurrent=1)),)
    await limiter.admit(scopes, 0)  # never released: the process died
    with pytest.raises(LimitExceeded) as refused:
        await limiter.admit(scopes, 0)
    assert refused.value.retry_after == 1
    clock.offset = 31
    await limiter.admit(scopes, 0)


async def test_no_limits_touch_nothing(redis: Redis) -> None:
    limiter = RedisCallLimiter(redis)
    admission = await limiter.admit((("ws:a", Limits()),), 10)
    assert admission.scopes == ()
    await limiter.release(admission, 5)
    assert await redis.keys("ss:llm:*") == []


async def test_redis_down_fails_closed() -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisCallLimiter(dead)
    with pytest.raises(StorageUnavailable):
        await limiter.admit((("ws:a", Limits(max_concurrent=1)),), 0)
    await dead.aclose()


operations = st.lists(
    st.one_of(
        st.tuples(st.just("admit"), st.sampled_from(["ws", "both"]), st.integers(0, 40)),
        st.tuples(st.just("release"), st.integers(0, 100), st.integers(0, 50)),
        st.tuples(st.just("wait"), st.integers(1, 30_000), st.just(0)),
    ),
    max_size=40,
)
optional = st.one_of(st.none(), st.integers(1, 5))


@hsettings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations,
    workspace=st.builds(
        Limits,
        requests_per_minute=optional,
        tokens_per_minute=st.one_of(st.none(), st.integers(1, 90)),
        max_concurrent=optional,
    ),
    key=st.builds(
        Limits,
        requests_per_minute=optional,
        tokens_per_minute=st.one_of(st.none(), st.integers(1, 60)),
        max_concurrent=optional,
    ),
)
async def test_redis_agrees_with_the_reference_limiter(
    redis: Redis,
    ops: list[tuple[str, str | int, int]],
    workspace: Limits,
    key: Limits,
) -> None:
    await redis.flushdb()
    clock = Clock()
    real = RedisCallLimiter(redis, lease_seconds=45, clock=clock)
    reference = InMemoryCallLimiter(lease_seconds=45, clock=clock)
    scopes = {"ws": (("ws:a", workspace),), "both": (("ws:a", workspace), ("key:k", key))}
    live: list[tuple[Admission, Admission]] = []
    for op, arg, amount in ops:
        if op == "wait":
            clock.offset += int(arg) / 1000
            continue
        if op == "release":
            if live:
                pair = live.pop(int(arg) % len(live))
                await real.release(pair[0], amount)
                await reference.release(pair[1], amount)
            continue
        outcomes: list[Admission | LimitExceeded] = []
        for limiter in (real, reference):
            try:
                outcomes.append(await limiter.admit(scopes[str(arg)], amount))
            except LimitExceeded as refused:
                outcomes.append(refused)
        first, second = outcomes
        if isinstance(first, Admission) and isinstance(second, Admission):
            assert first.scopes == second.scopes
            live.append((first, second))
        else:
            assert isinstance(first, LimitExceeded)
            assert isinstance(second, LimitExceeded)
            assert first.retry_after == second.retry_after
