"""The outbox: events committed with the state, delivered at least once, even
across crashes, retried with backoff, never delivered twice concurrently.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.outbox import OutboxRelay
from adapters.postgres.tables import outbox
from adapters.postgres.unit_of_work import SqlUnitOfWork
from adapters.system import SystemClock, UuidV7Generator
from domain.common.events import Aggregate, DomainEvent
from domain.identity.events import UserRegistered
from domain.identity.ids import UserId
from tests.conftest import Servers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean")]


class Thing(Aggregate):
    pass


async def commit_events(engine: AsyncEngine, *events: DomainEvent) -> None:
    async with engine.connect() as conn:
        uow = SqlUnitOfWork(conn, UuidV7Generator(), SystemClock())
        thing = Thing()
        for event in events:
            thing.record(event)
        uow.track(thing)
        await uow.commit()


async def rows(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as conn:
        result = await conn.execute(select(outbox).order_by(outbox.c.id))
        return [dict(row) for row in result.mappings()]


def registered() -> UserRegistered:
    return UserRegistered(user_id=UserId(UUID(int=7)))


async def test_events_are_written_in_the_same_transaction_as_the_commit(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        uow = SqlUnitOfWork(conn, UuidV7Generator(), SystemClock())
        thing = Thing()
        thing.record(registered())
        uow.track(thing)
        # No commit: the connection closes and the transaction rolls back.
    assert await rows(engine) == []
    await commit_events(engine, registered())
    [row] = await rows(engine)
    assert row["topic"] == "identity.user_registered"
    assert row["payload"] == {"user_id": str(UUID(int=7))}
    assert row["delivered_at"] is None


async def test_relay_delivers_each_event_and_marks_it(engine: AsyncEngine) -> None:
    await commit_events(engine, registered(), registered())
    seen: list[tuple[UUID, DomainEvent]] = []

    async def dispatch(event_id: UUID, event: DomainEvent) -> None:
        seen.append((event_id, event))

    assert await OutboxRelay(engine, dispatch, SystemClock()).drain() == 2
    assert [event for _, event in seen] == [registered(), registered()]
    assert all(row["delivered_at"] is not None for row in await rows(engine))
    assert await OutboxRelay(engine, dispatch, SystemClock()).drain() == 0
    assert len(seen) == 2


async def test_a_failed_delivery_is_retried_later_with_backoff(engine: AsyncEngine) -> None:
    await commit_events(engine, registered())

    async def failing(event_id: UUID, event: DomainEvent) -> None:
        raise ConnectionError("smtp down")

    before = datetime.now(UTC)
    await OutboxRelay(engine, failing, SystemClock()).drain()
    [row] = await rows(engine)
    assert row["attempts"] == 1
    assert row["last_error"] == "ConnectionError"
    assert row["delivered_at"] is None
    assert row["next_attempt_at"] >= before + timedelta(seconds=1)  # type: ignore[operator]
    # Not due yet: nothing more happens now.
    assert await OutboxRelay(engine, failing, SystemClock()).drain() == 0


async def test_an_event_that_keeps_failing_is_set_aside_as_dead(engine: AsyncEngine) -> None:
    await commit_events(engine, registered())

    class DaysPass(SystemClock):
        """Each look at the clock is a day later: every retry is due at once."""

        days = 0

        def now(self) -> datetime:
            self.days += 1
            return super().now() + timedelta(days=self.days)

    async def failing(event_id: UUID, event: DomainEvent) -> None:
        raise TimeoutError

    relay = OutboxRelay(engine, failing, DaysPass(), max_attempts=3)
    for _ in range(3):
        await relay.deliver_next()
    [row] = await rows(engine)
    assert row["attempts"] == 3
    assert row["dead_at"] is not None
    assert await relay.deliver_next() is False


async def test_two_relays_never_deliver_one_event_at_the_same_time(engine: AsyncEngine) -> None:
    await commit_events(engine, *[registered() for _ in range(20)])
    delivered: list[UUID] = []

    async def slow(event_id: UUID, event: DomainEvent) -> None:
        await asyncio.sleep(0.01)
        delivered.append(event_id)

    counts = await asyncio.gather(
        OutboxRelay(engine, slow, SystemClock()).drain(),
        OutboxRelay(engine, slow, SystemClock()).drain(),
    )
    assert sum(counts) == 20
    assert len(delivered) == len(set(delivered)) == 20


CRASHING_WORKER = textwrap.dedent(
    """
    import asyncio, sys
    sys.path.insert(0, {root!r})
    from adapters.postgres.engine import create_engine
    from adapters.postgres.outbox import OutboxRelay
    from adapters.system import SystemClock

    async def hang(event_id, event):
        print("delivering", flush=True)
        await asyncio.sleep(3600)  # killed here, mid-delivery

    async def main():
        engine = create_engine({url!r}, pool_size=1)
        await OutboxRelay(engine, hang, SystemClock()).drain()

    asyncio.run(main())
    """
)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    engine: AsyncEngine, servers: Servers
) -> None:
    await commit_events(engine, registered())
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WORKER.format(root=root, url=servers.database_url)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert worker.stdout is not None
        stdout = worker.stdout

        async def started() -> None:
            while (line := await asyncio.to_thread(stdout.readline)) != b"delivering\n":
                assert line, "the worker exited before delivering"

        await asyncio.wait_for(started(), 30)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    delivered: list[DomainEvent] = []

    async def record(event_id: UUID, event: DomainEvent) -> None:
        delivered.append(event)

    relay = OutboxRelay(engine, record, SystemClock())
    for _ in range(100):  # the server notices the dead connection within moments
        if await relay.drain():
            break
        await asyncio.sleep(0.1)
    assert delivered == [registered()]
    [row] = await rows(engine)
    assert row["delivered_at"] is not None
