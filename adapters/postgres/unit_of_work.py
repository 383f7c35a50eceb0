from __future__ import annotations

import msgspec
from sqlalchemy import insert

from adapters.postgres.engine import SqlConnection
from adapters.postgres.errors import translated
from adapters.postgres.tables import outbox
from application.ports.system import Clock, IdGenerator
from application.ports.transaction import TransactionManager
from domain.common.events import Aggregate, DomainEvent


def encode_event(event: DomainEvent) -> dict[str, object]:
    payload = msgspec.to_builtins(event)
    assert isinstance(payload, dict)
    return payload


class SqlUnitOfWork(TransactionManager):
    """One connection, one transaction: repositories write through it, and
    commit adds the events their aggregates recorded to the outbox first.
    """

    def __init__(self, connection: SqlConnection, ids: IdGenerator, clock: Clock) -> None:
        self.connection = connection
        self._ids = ids
        self._clock = clock
        self._tracked: list[Aggregate] = []

    def track(self, aggregate: Aggregate) -> None:
        if all(tracked is not aggregate for tracked in self._tracked):
            self._tracked.append(aggregate)

    async def commit(self) -> None:
        events = [event for aggregate in self._tracked for event in aggregate.pull_events()]
        self._tracked.clear()
        now = self._clock.now()
        with translated():
            if events:
                await self.connection.execute(
                    insert(outbox),
                    [
                        {
                            "id": self._ids.new(),
                            "topic": event.topic,
                            "payload": encode_event(event),
                            "created_at": now,
                            "next_attempt_at": now,
                        }
                        for event in events
                    ],
                )
            await self.connection.commit()

    async def release(self) -> None:
        if self._tracked:
            raise RuntimeError("release() with changes not committed")
        await self.connection.rollback()
