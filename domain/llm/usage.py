"""The record of one gateway call, for accounting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.llm.ids import RouteId
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    model: str  # provider/model
    error: str | None  # None: this attempt answered


@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRecord:
    id: UUID
    workspace_id: WorkspaceId
    api_key_id: ApiKeyId | None
    user_id: UserId | None
    route_id: RouteId | None
    route_name: str | None
    requested_model: str
    model: str | None
    provider: str | None
    endpoint: str  # "chat" | "embeddings"
    stream: bool
    attempts: tuple[Attempt, ...]
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_micros: int | None  # None: unknown price, never counted as free
    latency_ms: int
    ttft_ms: int | None
    status: str  # "ok" or the error code the caller received
    request_id: str | None
    created_at: datetime
