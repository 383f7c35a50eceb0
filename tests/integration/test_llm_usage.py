"""Usage accounting in PostgreSQL: the buffered sink writes every record exactly
once, survives an outage, and the SQL aggregate agrees with a plain Python one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, target
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.usage_buffer import BufferedUsageSink
from adapters.postgres.engine import create_engine
from adapters.postgres.llm_usage import SqlUsageReader, SqlUsageWriter
from adapters.postgres.tables import llm_usage, workspaces
from application.ports.llm_usage import GroupBy, UsageGroup
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.llm.usage import Attempt, UsageRecord
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_usage import NOW, aggregate, usage_record

pytestmark = pytest.mark.integration

A = WorkspaceId(uuid.UUID("0190ffff-0000-7000-8000-0000000000a1"))
B = WorkspaceId(uuid.UUID("0190ffff-0000-7000-8000-0000000000b2"))


async def add_workspaces(engine: AsyncEngine, *ids: WorkspaceId) -> None:
    async with engine.begin() as conn:
        for workspace_id in ids:
            await conn.execute(
                insert(workspaces).values(
                    id=workspace_id,
                    name=str(workspace_id)[:8],
                    personal=False,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )


@pytest.fixture
async def two_workspaces(engine: AsyncEngine, clean: None) -> None:
    await add_workspaces(engine, A, B)


async def row_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(llm_usage))).scalar_one())


class CountingWriter(SqlUsageWriter):
    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self.sizes: list[int] = []

    async def write(self, records: Sequence[UsageRecord]) -> None:
        await super().write(records)
        self.sizes.append(len(records))


async def test_ten_thousand_records_recorded_then_closed_are_exactly_ten_thousand_rows(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    writer = CountingWriter(engine)
    sink = BufferedUsageSink(writer, flush_seconds=0.05)
    ids = set()
    for i in range(10_000):
        record = usage_record(A if i % 2 else B, input_tokens=i)
        ids.add(record.id)
        sink.record(record)
        if i % 1_000 == 0:
            await asyncio.sleep(0)  # let the writer run alongside, as requests would
    await sink.aclose()
    assert await row_count(engine) == 10_000
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(llm_usage.c.id))).scalars())
    assert stored == ids
    assert sum(writer.sizes) == 10_000
    assert max(writer.sizes) <= 500  # one multi-row INSERT per batch of at most 500
    assert len(writer.sizes) >= 20


async def test_a_record_is_stored_field_for_field(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    record = usage_record(
        A,
        api_key_id=ApiKeyId(uuid.uuid4()),
        route_id=None,
        route_name="smart",
        requested_model="smart",
        model="anthropic/claude-sonnet-4-5",
        provider="anthropic",
        stream=True,
        attempts=(
            Attempt(model="openai/gpt-4o", error="rate_limited"),
            Attempt(model="anthropic/claude-sonnet-4-5", error=None),
        ),
        cost_micros=None,
        ttft_ms=42,
    )
    await SqlUsageWriter(engine).write([record])
    async with engine.connect() as conn:
        row = (await conn.execute(select(llm_usage))).mappings().one()
    assert row["attempts"] == 2
    assert row["fallback_path"] == [
        {"model": "openai/gpt-4o", "error": "rate_limited"},
        {"model": "anthropic/claude-sonnet-4-5", "error": None},
    ]
    assert row["cost_micros"] is None  # unknown, not 0
    assert (row["route_name"], row["requested_model"], row["model"]) == (
        "smart",
        "smart",
        "anthropic/claude-sonnet-4-5",
    )
    assert row["stream"] is True and row["ttft_ms"] == 42
    assert row["created_at"] == record.created_at


async def test_writing_the_same_batch_twice_stores_each_record_once(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    batch = [usage_record(A) for _ in range(5)]
    writer = SqlUsageWriter(engine)
    await writer.write(batch)
    await writer.write(batch)  # a retry after a commit whose answer was lost
    assert await row_count(engine) == 5


async def test_records_survive_a_database_outage_and_are_written_after_recovery(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    sink = BufferedUsageSink(
        SqlUsageWriter(engine), flush_seconds=0.02, retry_base_seconds=0.01, retry_cap_seconds=0.05
    )
    first = [usage_record(A) for _ in range(300)]
    async with engine.begin() as conn:  # every INSERT now fails
        await conn.execute(text("ALTER TABLE llm_usage RENAME TO llm_usage_away"))
    try:
        for record in first:
            sink.record(record)
        await asyncio.sleep(0.3)  # several flushes fail meanwhile
        assert sink.pending == 300 and sink.written == 0 and sink.dropped == 0
        with pytest.raises(StorageUnavailable):
            await sink.flush()
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE llm_usage_away RENAME TO llm_usage"))
    later = [usage_record(B) for _ in range(50)]
    for record in later:
        sink.record(record)
    for _ in range(200):
        if await row_count(engine) == 350:
            break
        await asyncio.sleep(0.02)
    await sink.aclose()
    assert await row_count(engine) == 350
    assert sink.dropped == 0


async def test_an_unreachable_server_keeps_the_records_until_close_gives_up(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    dead = create_engine("postgresql://nobody@127.0.0.1:1/nothing", pool_size=1)
    dropped: list[int] = []
    sink = BufferedUsageSink(
        SqlUsageWriter(dead),
        flush_seconds=0.02,
        retry_base_seconds=0.01,
        retry_cap_seconds=0.05,
        close_timeout=0.3,
        on_dropped=dropped.append,
    )
    for _ in range(20):
        sink.record(usage_record(A))
    await asyncio.sleep(0.2)
    assert sink.pending == 20
    await sink.aclose()
    await dead.dispose()
    assert sum(dropped) == 20  # counted and logged, never silently


async def test_records_of_a_deleted_workspace_are_set_aside_and_the_others_written(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    gone = WorkspaceId(uuid.uuid4())  # never existed: the foreign key refuses it
    keep = [usage_record(A) for _ in range(40)]
    refused = [usage_record(gone) for _ in range(3)]
    dropped: list[int] = []
    sink = BufferedUsageSink(SqlUsageWriter(engine), batch_size=16, on_dropped=dropped.append)
    for record in keep[:10] + refused[:1] + keep[10:30] + refused[1:] + keep[30:]:
        sink.record(record)
    await sink.aclose()
    async with engine.connect() as conn:
        stored = set((await conn.execute(select(llm_usage.c.id))).scalars())
    assert stored == {r.id for r in keep}
    assert sum(dropped) == 3


# --- the aggregate ----------------------------------------------------------------------

MODELS = ["openai/gpt-4o", "openai/GPT_4", "anthropic/claude-3.5", "ollama/llama3.2", "a-b/c", None]
KEYS = [None, ApiKeyId(uuid.UUID(int=7)), ApiKeyId(uuid.UUID(int=2**100))]
USERS = [None, UserId(uuid.UUID(int=3)), UserId(uuid.uuid4())]
START = NOW - timedelta(days=10)

records = st.lists(
    st.builds(
        lambda workspace, model, key, user, cost, status, minutes, latency, tokens: usage_record(
            workspace,
            model=model,
            requested_model=model or "smart-route",
            api_key_id=key,
            user_id=user,
            cost_micros=cost,
            status=status,
            created_at=START + timedelta(minutes=minutes),
            latency_ms=latency,
            input_tokens=tokens,
            output_tokens=tokens // 3,
            cached_tokens=tokens // 5,
        ),
        st.sampled_from([A, A, A, B]),
        st.sampled_from(MODELS),
        st.sampled_from(KEYS),
        st.sampled_from(USERS),
        st.one_of(st.none(), st.integers(0, 5 * 10**9)),
        st.sampled_from(["ok", "ok", "ok", "rate_limited", "timeout"]),
        st.integers(0, 60 * 24 * 10),
        st.integers(0, 120_000),
        st.integers(0, 2_000_000),
    ),
    min_size=5,
    max_size=80,
)


def comparable(groups: list[UsageGroup]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        row = {k: v for k, v in asdict(g).items() if not k.startswith("latency")}
        row["p50"] = None if g.latency_p50_ms is None else round(g.latency_p50_ms, 6)
        row["p95"] = None if g.latency_p95_ms is None else round(g.latency_p95_ms, 6)
        out.append(row)
    return out


@pytest.fixture
async def aggregate_workspaces(engine: AsyncEngine, clean: None) -> None:
    await add_workspaces(engine, A, B)


@hsettings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seeded=records,
    group_by=st.sampled_from(["model", "api_key", "user", "day"]),
    since_minutes=st.integers(0, 60 * 24 * 2),
    span_minutes=st.integers(1, 60 * 24 * 10),
)
async def test_the_sql_aggregate_matches_a_python_computation(
    engine: AsyncEngine,
    aggregate_workspaces: None,
    seeded: list[UsageRecord],
    group_by: GroupBy,
    since_minutes: int,
    span_minutes: int,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM llm_usage"))
    if seeded:
        await SqlUsageWriter(engine).write(seeded)
    since = START + timedelta(minutes=since_minutes)
    until = since + timedelta(minutes=span_minutes)
    async with engine.connect() as conn:
        found = await SqlUsageReader(conn).aggregate(A, since, until, group_by)
    expected = aggregate(seeded, A, since, until, group_by)
    assert comparable(found) == comparable(expected)
    target(float(sum(g.requests for g in expected)))  # prefer windows holding records


async def test_unknown_costs_are_counted_apart_and_never_summed_as_zero(
    engine: AsyncEngine, two_workspaces: None
) -> None:
    at = NOW - timedelta(hours=1)
    await SqlUsageWriter(engine).write(
        [
            usage_record(A, model="x/priced", cost_micros=1_500, created_at=at),
            usage_record(A, model="x/priced", cost_micros=None, created_at=at),
            usage_record(A, model="x/unpriced", cost_micros=None, created_at=at),
            usage_record(A, model="x/unpriced", cost_micros=None, created_at=at, status="timeout"),
            usage_record(B, model="x/priced", cost_micros=99, created_at=at),
        ]
    )
    async with engine.connect() as conn:
        groups = await SqlUsageReader(conn).aggregate(A, at, NOW, "model")
    by_key = {g.key: g for g in groups}
    assert list(by_key) == ["x/priced", "x/unpriced"]
    assert (by_key["x/priced"].cost_micros, by_key["x/priced"].unknown_cost_requests) == (1_500, 1)
    unpriced = by_key["x/unpriced"]
    assert (unpriced.cost_micros, unpriced.unknown_cost_requests, unpriced.errors) == (0, 1, 1)


async def test_days_are_utc_days(engine: AsyncEngine, two_workspaces: None) -> None:
    await SqlUsageWriter(engine).write(
        [
            usage_record(A, created_at=datetime(2025, 6, 1, 23, 59, 59, tzinfo=UTC)),
            usage_record(A, created_at=datetime(2025, 6, 2, 0, 0, 0, tzinfo=UTC)),
            usage_record(A, created_at=datetime(2025, 6, 2, 1, 0, 0, tzinfo=UTC)),
        ]
    )
    async with engine.connect() as conn:
        await conn.execute(text("SET TIME ZONE 'America/Los_Angeles'"))
        groups = await SqlUsageReader(conn).aggregate(
            A, datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 3, tzinfo=UTC), "day"
        )
    assert [(g.key, g.requests) for g in groups] == [("2025-06-01", 1), ("2025-06-02", 2)]
