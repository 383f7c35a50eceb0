from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prometheus_client import Counter
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import translated
from adapters.postgres.statements import Statements
from adapters.postgres.tables import audit_log
from adapters.postgres.unit_of_work import SqlUnitOfWork
from application.ports.audit import AuditEntryView, AuditFilter, AuditLog, AuditReader
from application.ports.system import Clock, IdGenerator
from domain.audit.entry import AuditEvent

AUDITED = Counter(
    "synapscale_audit_events_total",
    "Audited events (sign-ins, sign-in failures, member changes, …) by action.",
    ["action"],
)


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    """Where the current request came from; empty for jobs."""

    client_address: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


class SqlAuditLog(AuditLog):
    def __init__(
        self,
        uow: SqlUnitOfWork,
        engine: AsyncEngine,
        origin: RequestOrigin,
        ids: IdGenerator,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._engine = engine
        self._origin = origin
        self._ids = ids
        self._clock = clock

    def _row(self, event: AuditEvent) -> dict[str, Any]:
        return {
            "id": self._ids.new(),
            "occurred_at": self._clock.now(),
            "workspace_id": event.workspace_id,
            "subject_user_id": event.subject_user,
            "actor_type": event.actor_type.value,
            "actor_id": event.actor_id,
            "action": event.action.value,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "client_address": self._origin.client_address,
            "user_agent": self._origin.user_agent,
            "request_id": self._origin.request_id,
            "metadata": dict(event.metadata),
        }

    async def record(self, event: AuditEvent) -> None:
        with translated():
            await self._uow.connection.execute(insert(audit_log).values(self._row(event)))
        AUDITED.labels(event.action.value).inc()

    async def record_now(self, event: AuditEvent) -> None:
        with translated():
            async with self._engine.begin() as conn:
                await conn.execute(insert(audit_log).values(self._row(event)))
        AUDITED.labels(event.action.value).inc()


class SqlAuditReader(Statements, AuditReader):
    async def list(
        self, where: AuditFilter, *, after: UUID | None, limit: int
    ) -> list[AuditEntryView]:
        c = audit_log.c
        conditions: list[Any] = []
        if where.workspace_id is not None:
            conditions.append(c.workspace_id == where.workspace_id)
        if where.subject_user is not None:
            conditions.append(c.subject_user_id == where.subject_user)
        if where.action is not None:
            conditions.append(c.action == where.action)
        if where.actor_id is not None:
            conditions.append(c.actor_id == where.actor_id)
        if where.since is not None:
            conditions.append(c.occurred_at >= where.since)
        if where.until is not None:
            conditions.append(c.occurred_at < where.until)
        if after is not None:
            conditions.append(c.id < after)  # UUIDv7: id order is time order
        statement = (
            select(
                c.id,
                c.occurred_at,
                c.workspace_id,
                c.actor_type,
                c.actor_id,
                c.action,
                c.target_type,
                c.target_id,
                c.client_address,
                c.user_agent,
                c.request_id,
                c.metadata,
            )
            .where(*conditions)
            .order_by(c.id.desc())
            .limit(limit)
        )
        rows = await self._execute(statement)
        return [AuditEntryView(**row) for row in rows.mappings()]
