from __future__ import annotations

import builtins
from typing import cast
from uuid import UUID

from application.ports.audit import AuditEntryView, AuditFilter, AuditLog, AuditReader
from application.ports.system import Clock, IdGenerator
from domain.audit.entry import AuditAction, AuditEvent
from tests.fakes.transaction import FakeUnitOfWork


class RecordingAuditLog(AuditLog):
    """``record`` joins the unit of work (a rollback takes the entry back);
    ``record_now`` is kept at once, whatever happens to the request after."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._sequence = 0
        self._in_transaction: list[tuple[int, AuditEvent]] = []
        self._durable: list[tuple[int, AuditEvent]] = []
        uow.enlist(self)

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    async def record(self, event: AuditEvent) -> None:
        self._in_transaction.append((self._next(), event))

    async def record_now(self, event: AuditEvent) -> None:
        self._durable.append((self._next(), event))

    def snapshot(self) -> object:
        return list(self._in_transaction)

    def restore(self, snapshot: object) -> None:
        self._in_transaction = list(cast(list[tuple[int, AuditEvent]], snapshot))

    @property
    def entries(self) -> list[AuditEvent]:
        return [event for _, event in sorted(self._in_transaction + self._durable)]

    @property
    def actions(self) -> list[AuditAction]:
        return [event.action for event in self.entries]


class InMemoryAuditLog(AuditLog, AuditReader):
    """Like SqlAuditLog with SqlAuditReader: each entry gets an id and a time
    when it is recorded; ``record`` entries become visible when the unit of
    work commits (a rollback drops them), ``record_now`` entries at once.
    Reads are newest first (by id), with the SQL filters.

    FakeUnitOfWork snapshots its stores after every commit, which is when
    pending entries are kept. Enlist it (``uow.enlist(log)``) in one open
    unit of work at a time: one per request, as each request has its own.
    """

    def __init__(
        self,
        uow: FakeUnitOfWork,
        ids: IdGenerator,
        clock: Clock,
        *,
        client_address: str | None = None,
        user_agent: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self._ids = ids
        self._clock = clock
        self._origin = (client_address, user_agent, request_id)
        self._kept: list[tuple[AuditEntryView, AuditEvent]] = []
        self._pending: list[tuple[AuditEntryView, AuditEvent]] = []
        uow.enlist(self)

    def _entry(self, event: AuditEvent) -> tuple[AuditEntryView, AuditEvent]:
        client_address, user_agent, request_id = self._origin
        view = AuditEntryView(
            id=self._ids.new(),
            occurred_at=self._clock.now(),
            workspace_id=event.workspace_id,
            actor_type=event.actor_type.value,
            actor_id=event.actor_id,
            action=event.action.value,
            target_type=event.target_type,
            target_id=event.target_id,
            client_address=client_address,
            user_agent=user_agent,
            request_id=request_id,
            metadata=dict(event.metadata),
        )
        return view, event

    async def record(self, event: AuditEvent) -> None:
        self._pending.append(self._entry(event))

    async def record_now(self, event: AuditEvent) -> None:
        self._kept.append(self._entry(event))

    # -- the unit of work -------------------------------------------------------------

    def snapshot(self) -> object:
        """Called on enlisting and after each commit: pending entries are kept."""
        self._kept.extend(self._pending)
        self._kept.sort(key=lambda entry: entry[0].id)
        self._pending = []
        return None

    def restore(self, snapshot: object) -> None:
        self._pending = []

    # -- AuditReader ------------------------------------------------------------------

    async def list(
        self, where: AuditFilter, *, after: UUID | None, limit: int
    ) -> builtins.list[AuditEntryView]:
        def matches(view: AuditEntryView, event: AuditEvent) -> bool:
            return (
                (where.workspace_id is None or view.workspace_id == where.workspace_id)
                and (where.subject_user is None or event.subject_user == where.subject_user)
                and (where.action is None or view.action == where.action)
                and (where.actor_id is None or view.actor_id == where.actor_id)
                and (where.since is None or view.occurred_at >= where.since)
                and (where.until is None or view.occurred_at < where.until)
                and (after is None or view.id < after)
            )

        found = [view for view, event in self._kept if matches(view, event)]
        found.sort(key=lambda view: view.id, reverse=True)
        return found[:limit]

    # -- what tests look at -----------------------------------------------------------

    @property
    def events(self) -> builtins.list[AuditEvent]:
        """Every kept entry as it was recorded, oldest first."""
        return [event for _, event in self._kept]

    @property
    def actions(self) -> builtins.list[AuditAction]:
        return [event.action for event in self.events]

    @property
    def pending(self) -> builtins.list[AuditEvent]:
        return [event for _, event in self._pending]
