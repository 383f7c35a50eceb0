"""Domain events and the aggregates that record them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Something that happened. ``topic`` names it on the outbox.

    Events travel through the outbox table and job queue, so they carry ids
    and plain values only: never a password, token or key.
    """

    topic: ClassVar[str] = "event"


@dataclass(kw_only=True, eq=False)
class Aggregate:
    _events: list[DomainEvent] = field(default_factory=list, init=False, repr=False)

    def record(self, event: DomainEvent) -> None:
        self._events.append(event)

    def pull_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events
