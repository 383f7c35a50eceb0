"""Usage records in Postgres: the batch writer behind ``BufferedUsageSink``
and the reader that aggregates them for ``GET /api/v1/llm/usage``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, func, literal_column, select, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.usage_buffer import BatchRejected, UsageBatchWriter
from adapters.postgres.statements import Statements
from adapters.postgres.tables import llm_usage
from application.ports.llm_usage import GroupBy, UsageGroup, UsageReader
from domain.common.errors import StorageUnavailable
from domain.llm.usage import UsageRecord
from domain.tenancy.ids import WorkspaceId

# One statement, one prepared plan, whatever the batch size: the rows travel as
# one array per column and ``unnest`` zips them back together. (A rendered
# ``VALUES (…), (…)`` list costs ~1 ms of CPU a row to compile, on the loop.)
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "uuid"),
    ("workspace_id", "uuid"),
    ("api_key_id", "uuid"),
    ("user_id", "uuid"),
    ("route_id", "uuid"),
    ("route_name", "text"),
    ("requested_model", "text"),
    ("model", "text"),
    ("provider", "text"),
    ("endpoint", "text"),
    ("stream", "boolean"),
    ("attempts", "integer"),
    ("fallback_path", "jsonb"),
    ("input_tokens", "integer"),
    ("output_tokens", "integer"),
    ("cached_tokens", "integer"),
    ("cost_micros", "bigint"),
    ("latency_ms", "integer"),
    ("ttft_ms", "integer"),
    ("status", "text"),
    ("request_id", "text"),
    ("created_at", "timestamptz"),
)
_NAMES = ", ".join(name for name, _ in _COLUMNS)
_ARRAYS = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _COLUMNS)
_SQL = f"INSERT INTO llm_usage ({_NAMES}) SELECT * FROM unnest({_ARRAYS})"  # noqa: S608 - constants
_INSERT = text(_SQL + " ON CONFLICT (id) DO NOTHING")


def usage_row(record: UsageRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "workspace_id": record.workspace_id,
        "api_key_id": record.api_key_id,
        "user_id": record.user_id,
        "route_id": record.route_id,
        "route_name": record.route_name,
        "requested_model": record.requested_model,
        "model": record.model,
        "provider": record.provider,
        "endpoint": record.endpoint,
        "stream": record.stream,
        "attempts": len(record.attempts),
        "fallback_path": json.dumps(
            [{"model": a.model, "error": a.error} for a in record.attempts]
        ),
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "cached_tokens": record.cached_tokens,
        "cost_micros": record.cost_micros,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "status": record.status,
        "request_id": record.request_id,
        "created_at": record.created_at,
    }


class SqlUsageWriter(UsageBatchWriter):
    """One INSERT per batch, on a connection of its own (never a request's).
    Ids make it idempotent: a batch retried after a commit whose answer was
    lost inserts nothing twice."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, records: Sequence[UsageRecord]) -> None:
        if not records:
            return
        rows = [usage_row(r) for r in records]
        columns = {name: [row[name] for row in rows] for name, _ in _COLUMNS}
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_INSERT, columns)
        except (IntegrityError, DataError) as exc:
            # A deleted workspace, a value out of range: the data, not the database.
            raise BatchRejected(type(exc.orig).__name__) from exc
        except (DBAPIError, SQLAlchemyError, OSError, TimeoutError) as exc:
            raise StorageUnavailable("The database is unavailable; try again.") from exc


_u = llm_usage.c
# Constants as SQL literals: the key expression must compile identically in
# SELECT, GROUP BY and ORDER BY (bound parameters would differ).
_DAY = func.to_char(
    func.timezone(literal_column("'UTC'"), _u.created_at), literal_column("'YYYY-MM-DD'")
)
GROUP_KEYS: dict[str, ColumnElement[Any]] = {
    "model": func.coalesce(_u.model, _u.requested_model),
    "api_key": cast(_u.api_key_id, Text),
    "user": cast(_u.user_id, Text),
    "day": _DAY,
}


class SqlUsageReader(Statements, UsageReader):
    async def aggregate(
        self, workspace_id: WorkspaceId, since: datetime, until: datetime, group_by: GroupBy
    ) -> list[UsageGroup]:
        key = GROUP_KEYS[group_by]
        failed = _u.status != "ok"
        statement = (
            select(
                key.label("key"),
                func.count().label("requests"),
                func.count().filter(failed).label("errors"),
                func.coalesce(func.sum(_u.input_tokens), 0).label("input_tokens"),
                func.coalesce(func.sum(_u.output_tokens), 0).label("output_tokens"),
                func.coalesce(func.sum(_u.cached_tokens), 0).label("cached_tokens"),
                func.coalesce(func.sum(_u.cost_micros), 0).label("cost_micros"),
                func.count()
                .filter(_u.cost_micros.is_(None), _u.status == "ok")
                .label("unknown_cost_requests"),
                func.percentile_cont(literal_column("0.5"))
                .within_group(_u.latency_ms)
                .label("p50"),
                func.percentile_cont(literal_column("0.95"))
                .within_group(_u.latency_ms)
                .label("p95"),
            )
            .where(
                _u.workspace_id == workspace_id,
                _u.created_at >= since,
                _u.created_at < until,
            )
            .group_by(key)
            # Byte order (as Python sorts str), and no key (no API key, …) last.
            .order_by(key.collate("C").asc().nulls_last())
        )
        rows = (await self._execute(statement)).mappings().all()
        return [
            UsageGroup(
                key=row["key"],
                requests=int(row["requests"]),
                errors=int(row["errors"]),
                input_tokens=int(row["input_tokens"]),
                output_tokens=int(row["output_tokens"]),
                cached_tokens=int(row["cached_tokens"]),
                cost_micros=int(row["cost_micros"]),
                unknown_cost_requests=int(row["unknown_cost_requests"]),
                latency_p50_ms=None if row["p50"] is None else float(row["p50"]),
                latency_p95_ms=None if row["p95"] is None else float(row["p95"]),
            )
            for row in rows
        ]
