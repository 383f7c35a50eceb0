from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.audit.entry import AuditEvent


class AuditLog(Protocol):
    @abstractmethod
    async def record(self, event: AuditEvent) -> None:
        """Append within the current unit of work: it lands with the change it describes."""

    @abstractmethod
    async def record_now(self, event: AuditEvent) -> None:
        """Append in a transaction of its own, for events whose request then fails
        (a failed login, a detected token reuse)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntryView:
    id: UUID
    occurred_at: datetime
    workspace_id: UUID | None
    actor_type: str
    actor_id: UUID | None
    action: str
    target_type: str | None
    target_id: UUID | None
    client_address: str | None
    user_agent: str | None
    request_id: str | None
    metadata: dict[str, object]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditFilter:
    workspace_id: UUID | None = None
    subject_user: UUID | None = None
    action: str | None = None
    actor_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditReader(Protocol):
    @abstractmethod
    async def list(
        self, where: AuditFilter, *, after: UUID | None, limit: int
    ) -> list[AuditEntryView]:
        """Newest first; ``after`` is the id of the last entry of the previous page."""
