"""Ports for usage records, their aggregates, and gateway telemetry."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from domain.llm.usage import UsageRecord
from domain.tenancy.ids import WorkspaceId

GroupBy = Literal["model", "api_key", "user", "day"]


class UsageSink(Protocol):
    @abstractmethod
    def record(self, record: UsageRecord) -> None:
        """Queue a record; it is written in batches off the request path."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageGroup:
    key: str | None
    requests: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_micros: int
    unknown_cost_requests: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class UsageReader(Protocol):
    @abstractmethod
    async def aggregate(
        self, workspace_id: WorkspaceId, since: datetime, until: datetime, group_by: GroupBy
    ) -> list[UsageGroup]: ...


class GatewayMetrics(Protocol):
    @abstractmethod
    def call_finished(self, record: UsageRecord) -> None:
        """Requests, tokens, cost, latency and time to first token."""

    @abstractmethod
    def upstream_error(self, provider: str, kind: str) -> None: ...

    @abstractmethod
    def unpriced_call(self, model: str) -> None: ...

    @abstractmethod
    def breaker_changed(self, target: str, state: str) -> None: ...
