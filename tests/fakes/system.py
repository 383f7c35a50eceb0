"""Deterministic time and ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from application.ports.system import Clock, IdGenerator

DEFAULT_START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock(Clock):
    """Stands still until told to move."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("time only moves forward")
        self._now += step
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when


class SequentialIds(IdGenerator):
    """Strictly increasing UUIDs shaped like version 7, so "newest first" orders hold."""

    def __init__(self, start: int = 1) -> None:
        self._next = start

    def new(self) -> UUID:
        value = self._next
        self._next += 1
        return UUID(f"01900000-0000-7000-8000-{value:012x}")
