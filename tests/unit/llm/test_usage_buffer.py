"""The usage buffer: records leave the request path at once, are written in
batches, survive outages, stay within a memory cap, and are all written on close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from adapters.llm import usage_buffer
from adapters.llm.usage_buffer import BufferedUsageSink
from domain.llm.usage import UsageRecord
from tests.fakes.llm_usage import ScriptedWriter, usage_record


class Drops:
    def __init__(self) -> None:
        self.total = 0

    def __call__(self, count: int) -> None:
        self.total += count


def sink_for(writer: ScriptedWriter, drops: Drops | None = None, **kw: float) -> BufferedUsageSink:
    options: dict[str, float] = {
        "flush_seconds": 60.0,
        "batch_size": 5,
        "max_buffered": 1_000,
        "retry_base_seconds": 0.005,
        "retry_cap_seconds": 0.02,
        "close_timeout": 1.0,
    }
    options.update(kw)
    return BufferedUsageSink(
        writer,
        on_dropped=drops,
        flush_seconds=options["flush_seconds"],
        batch_size=int(options["batch_size"]),
        max_buffered=int(options["max_buffered"]),
        retry_base_seconds=options["retry_base_seconds"],
        retry_cap_seconds=options["retry_cap_seconds"],
        close_timeout=options["close_timeout"],
    )


async def eventually(check: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


def records(n: int) -> list[UsageRecord]:
    return [usage_record(input_tokens=i) for i in range(n)]


async def test_record_returns_at_once_even_while_the_store_hangs() -> None:
    writer = ScriptedWriter()
    writer.gate = asyncio.Event()  # every write blocks until opened
    sink = sink_for(writer)
    started = time.perf_counter()
    for r in records(50):
        sink.record(r)
    assert time.perf_counter() - started < 0.05
    await asyncio.sleep(0.02)
    assert writer.attempts == 1  # one batch is out, the rest wait in memory
    assert writer.batches == []
    assert sink.pending == 50  # the batch in flight counts until it is stored
    writer.gate.set()
    await sink.aclose()
    assert len(writer.stored) == 50


async def test_a_full_batch_is_written_without_waiting_for_the_interval() -> None:
    writer = ScriptedWriter()
    sink = sink_for(writer, flush_seconds=60)
    batch = records(5)
    for r in batch:
        sink.record(r)
    await eventually(lambda: len(writer.batches) == 1)
    assert writer.batches[0] == batch
    await sink.aclose()


async def test_a_partial_batch_is_written_after_the_flush_interval() -> None:
    writer = ScriptedWriter()
    sink = sink_for(writer, flush_seconds=0.05)
    three = records(3)
    for r in three:
        sink.record(r)
    await asyncio.sleep(0.01)
    assert writer.batches == []
    await eventually(lambda: writer.stored == three)
    await sink.aclose()


async def test_close_writes_everything_left_in_batches_of_at_most_batch_size() -> None:
    writer = ScriptedWriter()
    sink = sink_for(writer, batch_size=100, max_buffered=2_000)
    recorded = records(1_234)
    for r in recorded:
        sink.record(r)
    await sink.aclose()
    assert writer.stored == recorded
    assert max(len(b) for b in writer.batches) <= 100
    assert sink.pending == 0 and sink.dropped == 0


async def test_an_outage_keeps_the_records_and_they_are_written_after_recovery() -> None:
    writer = ScriptedWriter()
    writer.down = True
    sink = sink_for(writer, flush_seconds=0.01)
    recorded = records(12)
    for r in recorded:
        sink.record(r)
    await eventually(lambda: writer.attempts >= 4)  # retried, with backoff
    assert writer.stored == []
    assert sink.pending == 12
    writer.down = False
    await eventually(lambda: len(writer.stored) == 12)
    assert writer.stored == recorded  # in order, none twice
    await sink.aclose()
    assert sink.dropped == 0


async def test_retries_back_off_instead_of_hammering_the_database() -> None:
    writer = ScriptedWriter()
    writer.down = True
    sink = sink_for(writer, flush_seconds=0.001, retry_base_seconds=0.05, retry_cap_seconds=0.2)
    for r in records(20):
        sink.record(r)
    await asyncio.sleep(0.3)
    # Without backoff a 1 ms interval would try ~300 times; 0.05·2, 0.05·4, … caps it.
    assert 1 <= writer.attempts <= 6
    writer.down = False
    await sink.aclose()
    assert len(writer.stored) == 20


async def test_past_the_cap_the_oldest_records_are_dropped_and_counted() -> None:
    writer = ScriptedWriter()
    writer.down = True
    drops = Drops()
    sink = sink_for(writer, drops, batch_size=5, max_buffered=10, flush_seconds=0.01)
    recorded = records(25)
    for r in recorded:
        sink.record(r)
        await asyncio.sleep(0)
    await eventually(lambda: writer.attempts >= 2)
    assert drops.total == sink.dropped == 15
    writer.down = False
    await sink.aclose()
    assert writer.stored == recorded[-10:]  # the newest kept, in order


async def test_records_the_database_refuses_are_isolated_and_only_they_are_dropped() -> None:
    writer = ScriptedWriter()
    drops = Drops()
    sink = sink_for(writer, drops, batch_size=8)
    recorded = records(16)
    writer.rejected = {recorded[3].id, recorded[12].id}
    for r in recorded:
        sink.record(r)
    await sink.aclose()
    assert writer.stored == [r for r in recorded if r.id not in writer.rejected]
    assert drops.total == 2


async def test_close_gives_up_after_its_timeout_when_the_database_stays_away() -> None:
    writer = ScriptedWriter()
    writer.down = True
    drops = Drops()
    sink = sink_for(writer, drops, close_timeout=0.1)
    for r in records(7):
        sink.record(r)
    started = time.monotonic()
    await sink.aclose()
    assert time.monotonic() - started < 1.0
    assert drops.total == 7 and writer.stored == []


async def test_a_record_after_close_is_counted_as_dropped() -> None:
    writer = ScriptedWriter()
    drops = Drops()
    sink = sink_for(writer, drops)
    await sink.aclose()
    sink.record(usage_record())
    await asyncio.sleep(0.01)
    assert drops.total == 1 and writer.attempts == 0


async def test_close_waits_for_the_write_in_flight_and_loses_nothing() -> None:
    writer = ScriptedWriter()
    writer.gate = asyncio.Event()
    sink = sink_for(writer)
    recorded = records(23)
    for r in recorded:
        sink.record(r)
    await eventually(lambda: writer.attempts == 1)
    closing = asyncio.create_task(sink.aclose())
    await asyncio.sleep(0.01)
    assert not closing.done()
    writer.gate.set()
    await closing
    assert writer.stored == recorded


async def test_close_is_idempotent_and_a_sink_never_used_closes_at_once() -> None:
    writer = ScriptedWriter()
    sink = sink_for(writer)
    await sink.aclose()
    await sink.aclose()
    assert writer.attempts == 0


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        BufferedUsageSink(ScriptedWriter(), batch_size=10, max_buffered=5)
    with pytest.raises(ValueError, match="flush_seconds"):
        BufferedUsageSink(ScriptedWriter(), flush_seconds=0)


Step = tuple[str, int]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("record"), st.integers(1, 40)),
        st.tuples(st.just("record_some_refused"), st.integers(1, 40)),
        st.tuples(st.just("down"), st.just(0)),
        st.tuples(st.just("up"), st.just(0)),
        st.tuples(st.just("wait"), st.integers(0, 3)),
    ),
    max_size=25,
)


@hsettings(max_examples=40)
@given(steps)
def test_every_record_is_written_once_in_order_or_counted_as_dropped(script: list[Step]) -> None:
    async def scenario() -> None:
        writer = ScriptedWriter()
        drops = Drops()
        sink = sink_for(writer, drops, batch_size=7, max_buffered=30, flush_seconds=0.002)
        recorded: list[UsageRecord] = []
        for op, n in script:
            if op.startswith("record"):
                for i, r in enumerate(records(n)):
                    if op == "record_some_refused" and i % 3 == 0:
                        writer.rejected.add(r.id)
                    recorded.append(r)
                    sink.record(r)
            elif op == "down":
                writer.down = True
            elif op == "up":
                writer.down = False
            else:
                await asyncio.sleep(0.001 * n)
        writer.down = False
        await sink.aclose()
        stored_ids = [r.id for r in writer.stored]
        assert len(stored_ids) == len(set(stored_ids))  # none twice
        order = {r.id: i for i, r in enumerate(recorded)}
        assert [order[i] for i in stored_ids] == sorted(order[i] for i in stored_ids)
        assert len(stored_ids) + drops.total == len(recorded)
        assert not (set(stored_ids) & writer.rejected)
        if len(recorded) <= 30 and not writer.rejected:
            assert len(stored_ids) == len(recorded)  # within the cap nothing is lost

    asyncio.run(scenario())


class RecordingLog:
    """Stands in for the module's logger (a configured structlog logger is cached
    on first use, and then no longer reaches ``capture_logs``)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def _add(self, level: str, event: str, **fields: Any) -> None:
        self.entries.append({"event": event, "log_level": level, **fields})

    def error(self, event: str, **fields: Any) -> None:
        self._add("error", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._add("warning", event, **fields)


async def test_an_overflow_is_logged_once_with_its_count_not_once_per_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logs = RecordingLog()
    monkeypatch.setattr(usage_buffer, "log", logs)
    writer = ScriptedWriter()
    writer.down = True
    sink = sink_for(writer, batch_size=5, max_buffered=10)
    for r in records(60):
        sink.record(r)
    dropped = [e for e in logs.entries if e["event"] == "llm.usage_records_dropped"]
    assert sink.dropped == 50
    assert len(dropped) == 1
    assert dropped[0]["log_level"] == "error" and dropped[0]["reason"] == "overflow"
    writer.down = False
    await sink.aclose()
