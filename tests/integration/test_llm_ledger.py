"""The spend ledger in Redis: concurrent reservations never overspend, settle
reconciles, lapsed holds free themselves, windows are seeded from llm_usage,
and it agrees with the in-memory reference on random operation sequences.
Also the Postgres side the gateway reads: the policy in one statement and the
spend history."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from redis.asyncio import Redis
from sqlalchemy import event, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.llm_governance import (
    SqlGovernanceRepository,
    SqlPolicyLookup,
    SqlSpendHistory,
)
from adapters.postgres.llm_usage import SqlUsageWriter
from adapters.postgres.tables import api_keys, users, workspaces
from adapters.postgres.unit_of_work import SqlUnitOfWork
from adapters.redis.llm_ledger import RedisSpendLedger, window_key
from adapters.system import SystemClock, UuidV7Generator
from application.ports.llm_governance import Reservation, SpendHistory
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import ApiKeyId
from domain.llm.errors import BudgetExceeded
from domain.llm.governance import Budget, BudgetPeriod, BudgetWindow, Limits, Policy, budget_window
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_governance import FakeSpendHistory, InMemorySpendLedger
from tests.fakes.llm_usage import usage_record

pytestmark = [pytest.mark.integration]

A = WorkspaceId(uuid.UUID("0190ffff-0000-7000-8000-0000000000a1"))
B = WorkspaceId(uuid.UUID("0190ffff-0000-7000-8000-0000000000b2"))
KEY = ApiKeyId(uuid.UUID("0190dddd-0000-7000-8000-000000000001"))
OTHER_KEY = ApiKeyId(uuid.UUID("0190dddd-0000-7000-8000-000000000002"))


def now() -> datetime:
    return datetime.now(UTC)


def window(
    limit: int,
    *,
    key: ApiKeyId | None = None,
    period: BudgetPeriod = BudgetPeriod.DAY,
    workspace: WorkspaceId = A,
) -> BudgetWindow:
    budget = Budget(workspace_id=workspace, api_key_id=key, limit_micros=limit, period=period)
    return budget_window(budget, now())


class CountingHistory(SpendHistory):
    def __init__(self, inner: SpendHistory) -> None:
        self.inner = inner
        self.reads = 0

    async def spent_micros(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, since: datetime
    ) -> int:
        self.reads += 1
        await asyncio.sleep(0.01)  # a real query takes a while: concurrent callers overlap
        return await self.inner.spent_micros(workspace_id, api_key_id, since)


class Clock:
    """The time it was when made, plus an offset a test moves forward: both
    implementations see the same instant."""

    def __init__(self) -> None:
        self.start = time.time()
        self.offset = 0.0

    def __call__(self) -> float:
        return self.start + self.offset


@pytest.fixture
async def history(clean: None) -> FakeSpendHistory:
    return FakeSpendHistory()


# -- concurrency ---------------------------------------------------------------------------


async def test_200_concurrent_reservations_let_exactly_those_that_fit_through(
    redis: Redis, history: FakeSpendHistory
) -> None:
    history.add(A, None, now(), 65)  # already spent today
    ledger = RedisSpendLedger(redis, CountingHistory(history))
    workspace = window(1_000)
    results = await asyncio.gather(
        *(ledger.reserve((workspace,), 7) for _ in range(200)), return_exceptions=True
    )
    held = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(held) == (1_000 - 65) // 7 == 133
    assert len(refused) == 200 - 133
    [standing] = await ledger.standing((workspace,))
    assert (standing.spent_micros, standing.reserved_micros) == (65, 133 * 7)
    assert standing.spent_micros + standing.reserved_micros <= 1_000


async def test_across_two_budgets_the_tighter_one_decides_and_refusals_hold_nothing(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    workspace, key = window(10_000), window(300, key=KEY, period=BudgetPeriod.MONTH)
    results = await asyncio.gather(
        *(ledger.reserve((workspace, key), 10) for _ in range(200)), return_exceptions=True
    )
    assert sum(isinstance(r, Reservation) for r in results) == 30
    ws_standing, key_standing = await ledger.standing((workspace, key))
    assert ws_standing.reserved_micros == key_standing.reserved_micros == 300


async def test_a_refusal_names_the_budget_and_when_it_resets(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    key = window(1_000_000, key=KEY, period=BudgetPeriod.MONTH)
    await ledger.reserve((key,), 600_000)
    with pytest.raises(BudgetExceeded) as refused:
        await ledger.reserve((key,), 500_000)
    assert "This API key's monthly budget of $1.00" in refused.value.detail
    assert "$0.60 held" in refused.value.detail
    assert key.resets_at.strftime("%Y-%m-%dT00:00:00Z") in refused.value.detail


async def test_a_zero_limit_refuses_every_priced_call(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    closed = window(0)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve((closed,), 1)
    await ledger.reserve((closed,), 0)  # an unpriced call holds nothing


async def test_a_call_larger_than_the_whole_budget_is_refused_with_its_standing(
    redis: Redis, history: FakeSpendHistory
) -> None:
    history.add(A, None, now(), 40)
    ledger = RedisSpendLedger(redis, history)
    with pytest.raises(BudgetExceeded, match=r"\$0.00004 spent"):
        await ledger.reserve((window(100),), 10**18)


# -- settle and lapse ----------------------------------------------------------------------


async def test_settle_replaces_the_hold_by_the_real_cost(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    workspace, key = window(1_000), window(1_000, key=KEY)
    first = await ledger.reserve((workspace, key), 500)
    second = await ledger.reserve((workspace, key), 400)
    with pytest.raises(BudgetExceeded):
        await ledger.reserve((workspace,), 200)
    await ledger.settle(first, 120)
    assert [
        (s.spent_micros, s.reserved_micros) for s in await ledger.standing((workspace, key))
    ] == [
        (120, 400),
        (120, 400),
    ]
    await ledger.reserve((workspace,), 480)  # 120 + 400 + 480 = 1000: fits exactly
    await ledger.settle(second, 0)
    [standing] = await ledger.standing((key,))
    assert (standing.spent_micros, standing.reserved_micros) == (120, 0)


async def test_a_cost_above_the_hold_is_still_recorded_and_blocks_what_follows(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    workspace = window(100)
    held = await ledger.reserve((workspace,), 10)
    await ledger.settle(held, 150)  # the price table was wrong: the real cost counts
    [standing] = await ledger.standing((workspace,))
    assert standing.spent_micros == 150
    with pytest.raises(BudgetExceeded):
        await ledger.reserve((workspace,), 0)


async def test_holds_of_a_crashed_process_lapse_and_free_the_budget(
    redis: Redis, history: FakeSpendHistory
) -> None:
    clock = Clock()
    ledger = RedisSpendLedger(redis, history, hold_seconds=30, clock=clock)
    workspace = window(100)
    await ledger.reserve((workspace,), 100)  # never settled: the process died
    with pytest.raises(BudgetExceeded):
        await ledger.reserve((workspace,), 1)
    clock.offset = 29
    [standing] = await ledger.standing((workspace,))
    assert standing.reserved_micros == 100
    clock.offset = 30.5
    [standing] = await ledger.standing((workspace,))
    assert standing.reserved_micros == 0
    late = await ledger.reserve((workspace,), 100)
    await ledger.settle(late, 60)
    [standing] = await ledger.standing((workspace,))
    assert (standing.spent_micros, standing.reserved_micros) == (60, 0)


async def test_window_keys_expire_after_the_period_ends(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history, grace=timedelta(hours=1))
    workspace = window(100)
    await ledger.reserve((workspace,), 5)
    key = window_key(workspace)
    expected_ms = (workspace.resets_at + timedelta(hours=1)).timestamp() * 1000
    for name in (key, f"{key}:holds"):
        left_ms = await redis.pttl(name)
        assert abs(time.time() * 1000 + left_ms - expected_ms) < 2_000


# -- seeding from llm_usage ----------------------------------------------------------------


async def add_workspaces(engine: AsyncEngine, *ids: WorkspaceId) -> None:
    async with engine.begin() as conn:
        for workspace_id in ids:
            await conn.execute(
                insert(workspaces).values(
                    id=workspace_id,
                    name=str(workspace_id)[:8],
                    personal=False,
                    created_at=now(),
                    updated_at=now(),
                )
            )


async def test_a_new_window_starts_from_the_usage_records_of_its_period(
    redis: Redis, engine: AsyncEngine, clean: None
) -> None:
    await add_workspaces(engine, A, B)
    start = budget_window(
        Budget(workspace_id=A, api_key_id=None, limit_micros=1, period=BudgetPeriod.DAY), now()
    ).starts_at
    await SqlUsageWriter(engine).write(
        [
            usage_record(A, api_key_id=KEY, cost_micros=1_000, created_at=start),
            usage_record(A, api_key_id=KEY, cost_micros=250, created_at=now()),
            usage_record(A, api_key_id=KEY, cost_micros=None, created_at=now()),  # unknown cost
            usage_record(A, api_key_id=OTHER_KEY, cost_micros=40, created_at=now()),
            usage_record(A, cost_micros=5, created_at=now()),  # a user's call, no key
            usage_record(
                A, api_key_id=KEY, cost_micros=9_999, created_at=start - timedelta(seconds=1)
            ),
            usage_record(B, api_key_id=KEY, cost_micros=7_777, created_at=now()),
        ]
    )
    history = CountingHistory(SqlSpendHistory(engine))
    ledger = RedisSpendLedger(redis, history)
    workspace, key = window(10_000), window(10_000, key=KEY)

    results = await asyncio.gather(*(ledger.reserve((workspace, key), 10) for _ in range(50)))

    assert history.reads == 2  # one read per window, however many calls wanted it
    ws_standing, key_standing = await ledger.standing((workspace, key))
    assert ws_standing.spent_micros == 1_000 + 250 + 40 + 5
    assert key_standing.spent_micros == 1_000 + 250
    assert ws_standing.reserved_micros == key_standing.reserved_micros == 500
    for reservation in results:
        await ledger.settle(reservation, 1)
    assert history.reads == 2  # counters that exist cost nothing
    ws_standing, key_standing = await ledger.standing((workspace, key))
    assert (ws_standing.spent_micros, key_standing.spent_micros) == (1_345, 1_300)


async def test_a_lost_counter_is_seeded_again_before_a_settle_adds_to_it(
    redis: Redis, history: FakeSpendHistory
) -> None:
    ledger = RedisSpendLedger(redis, history)
    workspace = window(1_000)
    held = await ledger.reserve((workspace,), 100)
    history.add(A, None, now(), 300)  # recorded meanwhile; then Redis loses its data
    await redis.flushdb()
    await ledger.settle(held, 70)
    [standing] = await ledger.standing((workspace,))
    assert (standing.spent_micros, standing.reserved_micros) == (370, 0)


async def test_redis_down_fails_closed() -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    ledger = RedisSpendLedger(dead, FakeSpendHistory())
    with pytest.raises(StorageUnavailable):
        await ledger.reserve((window(100),), 1)
    await dead.aclose()


# -- agreement with the in-memory reference ------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("reserve"), st.sampled_from(["ws", "key", "both", "other"]), st.integers(0, 60)
        ),
        st.tuples(st.just("settle"), st.integers(0, 50), st.integers(0, 60)),
        st.tuples(st.just("wait"), st.integers(1, 40_000), st.just(0)),
    ),
    max_size=30,
)


@hsettings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ops=operations,
    limits=st.tuples(st.integers(0, 150), st.integers(0, 100), st.integers(0, 80)),
    seeded=st.tuples(st.integers(0, 50), st.integers(0, 50)),
)
async def test_redis_agrees_with_the_reference_ledger(
    redis: Redis,
    history: FakeSpendHistory,
    ops: list[tuple[str, str | int, int]],
    limits: tuple[int, int, int],
    seeded: tuple[int, int],
) -> None:
    await redis.flushdb()
    history.records.clear()
    history.add(A, KEY, now(), seeded[0])
    history.add(A, OTHER_KEY, now(), seeded[1])
    clock = Clock()
    real = RedisSpendLedger(redis, history, hold_seconds=60, clock=clock)
    reference = InMemorySpendLedger(history, hold_seconds=60, clock=clock)
    ws = window(limits[0], period=BudgetPeriod.MONTH)
    key = window(limits[1], key=KEY)
    other = window(limits[2], key=OTHER_KEY)
    windows = {"ws": (ws,), "key": (key,), "both": (ws, key), "other": (ws, other)}
    held: list[tuple[Reservation, Reservation]] = []
    for op, arg, amount in ops:
        if op == "wait":
            clock.offset += int(arg) / 1000
        elif op == "reserve":
            outcomes: list[Reservation | BudgetExceeded] = []
            for ledger in (real, reference):
                try:
                    outcomes.append(await ledger.reserve(windows[str(arg)], amount))
                except BudgetExceeded as refused:
                    outcomes.append(refused)
            first, second = outcomes
            if isinstance(first, Reservation) and isinstance(second, Reservation):
                held.append((first, second))
            else:
                assert isinstance(first, BudgetExceeded)
                assert isinstance(second, BudgetExceeded)
                assert first.detail == second.detail
        elif held:
            pair = held.pop(int(arg) % len(held))
            await real.settle(pair[0], amount)
            await reference.settle(pair[1], amount)
        everything = (ws, key, other)
        assert await real.standing(everything) == await reference.standing(everything)


# -- Postgres: the gateway's policy read and the recorded spend ----------------------------


async def add_key(engine: AsyncEngine, workspace: WorkspaceId, key: ApiKeyId) -> None:
    user = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            insert(users).values(
                id=user,
                email=f"{user}@example.com",
                name="Ada",
                password_hash="x",
                email_verified=True,
                created_at=now(),
                updated_at=now(),
            )
        )
        await conn.execute(
            insert(api_keys).values(
                id=key,
                workspace_id=workspace,
                name="ci",
                prefix=f"sk-ss-{str(key)[-6:]}",
                secret_hash=str(key),
                scopes=["llm:use"],
                created_by=user,
                created_at=now(),
            )
        )


async def test_the_policy_is_read_in_one_statement(engine: AsyncEngine, clean: None) -> None:
    await add_workspaces(engine, A, B)
    await add_key(engine, A, KEY)
    await add_key(engine, A, OTHER_KEY)
    await add_key(engine, B, ApiKeyId(uuid.uuid4()))
    async with engine.connect() as conn:
        repository = SqlGovernanceRepository(
            SqlUnitOfWork(conn, UuidV7Generator(), SystemClock()), UuidV7Generator(), SystemClock()
        )
        await repository.put_budget(
            Budget(workspace_id=A, api_key_id=None, limit_micros=9, period=BudgetPeriod.MONTH)
        )
        await repository.put_budget(
            Budget(workspace_id=A, api_key_id=KEY, limit_micros=5, period=BudgetPeriod.DAY)
        )
        await repository.put_budget(  # replaces the one above
            Budget(workspace_id=A, api_key_id=KEY, limit_micros=4, period=BudgetPeriod.DAY)
        )
        await repository.put_budget(
            Budget(workspace_id=A, api_key_id=OTHER_KEY, limit_micros=3, period=BudgetPeriod.DAY)
        )
        await repository.put_budget(
            Budget(workspace_id=B, api_key_id=None, limit_micros=1, period=BudgetPeriod.DAY)
        )
        await repository.put_limits(A, None, Limits(requests_per_minute=60))
        await repository.put_limits(A, KEY, Limits(tokens_per_minute=1_000, max_concurrent=2))
        await repository.put_limits(A, OTHER_KEY, Limits(max_concurrent=9))
        await repository.put_refuse_unpriced(A, True)
        await repository.put_refuse_unpriced(A, False)
        await repository.put_refuse_unpriced(A, True)
        await conn.commit()

    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    lookup = SqlPolicyLookup(engine)
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        policy = await lookup.policy(A, KEY)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert policy == Policy(
        budgets=(
            Budget(workspace_id=A, api_key_id=None, limit_micros=9, period=BudgetPeriod.MONTH),
            Budget(workspace_id=A, api_key_id=KEY, limit_micros=4, period=BudgetPeriod.DAY),
        ),
        workspace_limits=Limits(requests_per_minute=60),
        key_limits=Limits(tokens_per_minute=1_000, max_concurrent=2),
        refuse_unpriced_models=True,
    )
    user_policy = await lookup.policy(A, None)
    assert [b.api_key_id for b in user_policy.budgets] == [None]
    assert user_policy.key_limits == Limits()
    assert await lookup.policy(B, None) == Policy(
        budgets=(Budget(workspace_id=B, api_key_id=None, limit_micros=1, period=BudgetPeriod.DAY),)
    )
    assert await lookup.policy(WorkspaceId(uuid.uuid4()), None) == Policy()


async def test_removing_reports_whether_there_was_something(
    engine: AsyncEngine, clean: None
) -> None:
    await add_workspaces(engine, A)
    async with engine.connect() as conn:
        repository = SqlGovernanceRepository(
            SqlUnitOfWork(conn, UuidV7Generator(), SystemClock()), UuidV7Generator(), SystemClock()
        )
        await repository.put_budget(
            Budget(workspace_id=A, api_key_id=None, limit_micros=9, period=BudgetPeriod.DAY)
        )
        await repository.put_limits(A, None, Limits(max_concurrent=1))
        assert await repository.remove_budget(A, None)
        assert not await repository.remove_budget(A, None)
        assert await repository.remove_limits(A, None)
        assert not await repository.remove_limits(A, None)
