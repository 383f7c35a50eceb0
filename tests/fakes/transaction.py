"""A unit of work in memory: events are "published" on commit, and uncommitted
changes to enlisted stores can be rolled back, as a database connection closed
without a commit would.
"""

from __future__ import annotations

from typing import Protocol

from application.ports.transaction import TransactionManager
from domain.common.errors import StorageUnavailable
from domain.common.events import Aggregate, DomainEvent


class Transactional(Protocol):
    """An in-memory store whose state a unit of work can save and restore."""

    def snapshot(self) -> object: ...

    def restore(self, snapshot: object) -> None: ...


class FakeUnitOfWork(TransactionManager):
    def __init__(self) -> None:
        self.published: list[DomainEvent] = []
        self.commits = 0
        self.rollbacks = 0
        self.releases = 0
        self.fail_next = 0
        self._tracked: list[Aggregate] = []
        self._stores: list[tuple[Transactional, object]] = []

    def track(self, aggregate: Aggregate) -> None:
        if all(tracked is not aggregate for tracked in self._tracked):
            self._tracked.append(aggregate)

    def enlist(self, store: Transactional) -> None:
        if all(enlisted is not store for enlisted, _ in self._stores):
            self._stores.append((store, store.snapshot()))

    async def commit(self) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise StorageUnavailable("The database is unavailable; try again.")
        events = [event for aggregate in self._tracked for event in aggregate.pull_events()]
        self._tracked.clear()
        self.published.extend(events)
        self.commits += 1
        self._stores = [(store, store.snapshot()) for store, _ in self._stores]

    async def release(self) -> None:
        if self._tracked:
            raise RuntimeError("release() with changes not committed")
        self.releases += 1

    def rollback(self) -> None:
        """What leaving the request without a commit does: undo, forget tracked events."""
        for store, snapshot in self._stores:
            store.restore(snapshot)
        self._tracked.clear()
        self.rollbacks += 1

    def drain(self) -> list[DomainEvent]:
        """The events published so far; the list starts empty again."""
        events, self.published = self.published, []
        return events

    @property
    def topics(self) -> list[str]:
        return [event.topic for event in self.published]
