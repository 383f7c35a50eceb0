"""The outbox relay: delivers committed events to their handlers, at least once.

Each event is claimed with ``FOR UPDATE SKIP LOCKED`` inside a transaction
that stays open while its handler runs, so any number of workers share the
work, and a worker that dies mid-delivery releases the row for another.
A failed delivery is retried with exponential backoff and jitter; after
``max_attempts`` the row is set aside as dead for an operator to inspect.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import cache
from uuid import UUID

import msgspec
import structlog
from prometheus_client import Counter
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

import domain.files.file
import domain.identity.events
import domain.tenancy.events  # noqa: F401
from adapters.postgres.tables import outbox
from application.ports.system import Clock
from domain.common.events import DomainEvent

Dispatch = Callable[[UUID, DomainEvent], Awaitable[None]]

log = structlog.get_logger(__name__)

OUTBOX_EVENTS = Counter(
    "synapscale_outbox_events_total",
    "Outbox events handled by the relay, by topic and outcome.",
    ["topic", "outcome"],
)


@cache
def _event_types() -> dict[str, type[DomainEvent]]:
    found: dict[str, type[DomainEvent]] = {}
    pending: list[type[DomainEvent]] = [DomainEvent]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # ``dataclass(slots=True)`` replaces the class it decorates; keep the
        # one the module exports, not the discarded original.
        if getattr(sys.modules[cls.__module__], cls.__qualname__, None) is cls:
            found[cls.topic] = cls
    found.pop(DomainEvent.topic, None)
    return found


def decode_event(topic: str, payload: object) -> DomainEvent:
    return msgspec.convert(payload, _event_types()[topic])


def backoff(attempt: int, *, base: float = 2.0, cap: float = 3600.0) -> timedelta:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] seconds, at least 1 s."""
    ceiling = min(cap, base * 2 ** min(attempt, 20))
    return timedelta(seconds=max(1.0, random.uniform(0, ceiling)))  # noqa: S311 - jitter


class OutboxRelay:
    def __init__(
        self, engine: AsyncEngine, dispatch: Dispatch, clock: Clock, *, max_attempts: int = 12
    ) -> None:
        self._engine = engine
        self._dispatch = dispatch
        self._clock = clock
        self._max_attempts = max_attempts

    async def deliver_next(self) -> bool:
        """Deliver one due event; False when none is due."""
        async with self._engine.connect() as conn, conn.begin():
            row = (
                (
                    await conn.execute(
                        select(outbox.c.id, outbox.c.topic, outbox.c.payload, outbox.c.attempts)
                        .where(
                            outbox.c.delivered_at.is_(None),
                            outbox.c.dead_at.is_(None),
                            outbox.c.next_attempt_at <= self._clock.now(),
                        )
                        .order_by(outbox.c.next_attempt_at, outbox.c.id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return False
            try:
                await self._dispatch(row["id"], decode_event(row["topic"], row["payload"]))
            except Exception as exc:  # noqa: BLE001 - any failure is retried later
                attempts = row["attempts"] + 1
                dead = attempts >= self._max_attempts
                now = self._clock.now()
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row["id"])
                    .values(
                        attempts=attempts,
                        next_attempt_at=now + backoff(attempts),
                        last_error=type(exc).__name__,
                        dead_at=now if dead else None,
                    )
                )
                OUTBOX_EVENTS.labels(row["topic"], "dead" if dead else "retry").inc()
                log.warning(
                    "outbox.delivery_failed",
                    event_id=str(row["id"]),
                    topic=row["topic"],
                    attempts=attempts,
                    dead=dead,
                    error=type(exc).__name__,
                )
                return True
            await conn.execute(
                update(outbox)
                .where(outbox.c.id == row["id"])
                .values(delivered_at=self._clock.now(), attempts=row["attempts"] + 1)
            )
            OUTBOX_EVENTS.labels(row["topic"], "delivered").inc()
            return True

    async def drain(self, limit: int = 500) -> int:
        """Deliver due events until none is left or ``limit`` is reached."""
        delivered = 0
        while delivered < limit and await self.deliver_next():
            delivered += 1
        return delivered
