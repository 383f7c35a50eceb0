from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from application.common.pagination import Page, decode_cursor, encode_cursor, page_size
from application.common.tenancy import WorkspaceActor
from application.ports.audit import AuditEntryView, AuditFilter, AuditReader
from domain.identity.ids import UserId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListAuditLog:
    """The workspace's log (``actor`` set, admin+) or one's own account history."""

    actor: WorkspaceActor | None = None
    user_id: UserId | None = None
    action: str | None = None
    actor_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    cursor: str | None = None
    limit: int | None = None


class ListAuditLogHandler:
    def __init__(self, entries: AuditReader) -> None:
        self._entries = entries

    async def execute(self, q: ListAuditLog) -> Page[AuditEntryView]:
        if q.actor is not None:
            q.actor.require(Permission.AUDIT_READ)
        elif q.user_id is None:
            raise ValueError("a workspace actor or a user is required")
        where = AuditFilter(
            workspace_id=q.actor.workspace_id if q.actor else None,
            subject_user=None if q.actor else q.user_id,
            action=q.action,
            actor_id=q.actor_id,
            since=q.since,
            until=q.until,
        )
        limit = page_size(q.limit)
        rows = await self._entries.list(where, after=decode_cursor(q.cursor), limit=limit + 1)
        more = len(rows) > limit
        items = rows[:limit]
        return Page(items=items, next_cursor=encode_cursor(items[-1].id) if more else None)
