"""In-memory usage accounting: a sink + reader computing the aggregate in plain
Python (the reference the SQL reader is checked against), a scriptable batch
writer for the buffer, and a record factory."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from adapters.llm.usage_buffer import BatchRejected, UsageBatchWriter
from application.ports.llm_usage import GroupBy, UsageGroup, UsageReader, UsageSink
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.llm.usage import Attempt, UsageRecord
from domain.tenancy.ids import WorkspaceId

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)


def usage_record(workspace_id: WorkspaceId | None = None, **overrides: Any) -> UsageRecord:
    model = overrides.pop("model", "openai/gpt-4o-mini")
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "workspace_id": workspace_id or WorkspaceId(uuid.uuid4()),
        "api_key_id": None,
        "user_id": UserId(uuid.uuid4()),
        "route_id": None,
        "route_name": None,
        "requested_model": model or "openai/gpt-4o-mini",
        "model": model,
        "provider": model.partition("/")[0] if model else None,
        "endpoint": "chat",
        "stream": False,
        "attempts": (Attempt(model=model, error=None),) if model else (),
        "input_tokens": 10,
        "output_tokens": 20,
        "cached_tokens": 0,
        "cost_micros": 210,
        "latency_ms": 100,
        "ttft_ms": None,
        "status": "ok",
        "request_id": "req-1",
        "created_at": NOW,
    }
    values.update(overrides)
    return UsageRecord(**values)


def percentile_cont(values: Sequence[float], fraction: float) -> float | None:
    """Postgres ``percentile_cont``: linear interpolation between the closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def group_key(record: UsageRecord, group_by: GroupBy) -> str | None:
    if group_by == "model":
        return record.model if record.model is not None else record.requested_model
    if group_by == "api_key":
        return None if record.api_key_id is None else str(record.api_key_id)
    if group_by == "user":
        return None if record.user_id is None else str(record.user_id)
    return record.created_at.astimezone(UTC).date().isoformat()


def aggregate(
    records: Sequence[UsageRecord],
    workspace_id: WorkspaceId,
    since: datetime,
    until: datetime,
    group_by: GroupBy,
) -> list[UsageGroup]:
    groups: dict[str | None, list[UsageRecord]] = {}
    for r in records:
        if r.workspace_id == workspace_id and since <= r.created_at < until:
            groups.setdefault(group_key(r, group_by), []).append(r)
    ordered = sorted(groups, key=lambda k: (k is None, k or ""))
    return [
        UsageGroup(
            key=key,
            requests=len(rs),
            errors=sum(r.status != "ok" for r in rs),
            input_tokens=sum(r.input_tokens for r in rs),
            output_tokens=sum(r.output_tokens for r in rs),
            cached_tokens=sum(r.cached_tokens for r in rs),
            cost_micros=sum(r.cost_micros for r in rs if r.cost_micros is not None),
            unknown_cost_requests=sum(r.cost_micros is None and r.status == "ok" for r in rs),
            latency_p50_ms=percentile_cont([r.latency_ms for r in rs], 0.5),
            latency_p95_ms=percentile_cont([r.latency_ms for r in rs], 0.95),
        )
        for key in ordered
        for rs in [groups[key]]
    ]


class MemoryUsage(UsageSink, UsageReader):
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []
        self.queries: list[tuple[WorkspaceId, datetime, datetime, GroupBy]] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)

    async def aggregate(
        self, workspace_id: WorkspaceId, since: datetime, until: datetime, group_by: GroupBy
    ) -> list[UsageGroup]:
        self.queries.append((workspace_id, since, until, group_by))
        return aggregate(self.records, workspace_id, since, until, group_by)


class ScriptedWriter(UsageBatchWriter):
    """Stores batches; ``down`` makes every write fail like an outage, ``rejected``
    ids make a batch holding one of them refused, ``gate`` holds writes open."""

    def __init__(self) -> None:
        self.batches: list[list[UsageRecord]] = []
        self.attempts = 0
        self.down = False
        self.rejected: set[uuid.UUID] = set()
        self.gate: asyncio.Event | None = None
        self.on_write: Callable[[], None] | None = None

    @property
    def stored(self) -> list[UsageRecord]:
        return [r for batch in self.batches for r in batch]

    async def write(self, records: Sequence[UsageRecord]) -> None:
        self.attempts += 1
        if self.on_write is not None:
            self.on_write()
        if self.gate is not None:
            await self.gate.wait()
        if self.down:
            raise StorageUnavailable("The database is unavailable; try again.")
        if any(r.id in self.rejected for r in records):
            raise BatchRejected("ForeignKeyViolationError")
        self.batches.append(list(records))


def api_key(value: uuid.UUID | None = None) -> ApiKeyId:
    return ApiKeyId(value or uuid.uuid4())
