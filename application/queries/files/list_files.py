from __future__ import annotations

from dataclasses import dataclass, field

from application.common.pagination import decode_cursor, encode_cursor, page_size
from application.common.tenancy import WorkspaceActor
from application.ports.files import FileFilter, FileReader, FileView
from domain.common.errors import InvalidInput
from domain.tenancy.roles import Permission

SORTS = frozenset(
    {
        "created_at",
        "-created_at",
        "filename",
        "-filename",
        "size",
        "-size",
        "updated_at",
        "-updated_at",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListFiles:
    """``page``/``size`` (numbered pages, with a total) or ``cursor``/``limit``
    (keyset, newest first only)."""

    actor: WorkspaceActor
    where: FileFilter = field(default_factory=FileFilter)
    sort: str = "-created_at"
    page: int | None = None
    size: int | None = None
    cursor: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FilePage:
    items: list[FileView]
    total: int | None
    page: int | None
    size: int
    next_cursor: str | None


class ListFilesHandler:
    def __init__(self, files: FileReader) -> None:
        self._files = files

    async def execute(self, q: ListFiles) -> FilePage:
        q.actor.require(Permission.RESOURCES_READ)
        if q.sort not in SORTS:
            raise InvalidInput(f"sort must be one of {', '.join(sorted(SORTS))}.", field="sort")
        if q.cursor is not None or q.limit is not None:
            if q.sort != "-created_at":
                raise InvalidInput(
                    "Cursor pages are newest first; use page/size to sort.", field="sort"
                )
            limit = page_size(q.limit)
            rows, _ = await self._files.find(
                q.actor.workspace_id,
                q.where,
                sort=q.sort,
                offset=0,
                after=decode_cursor(q.cursor),
                limit=limit + 1,
            )
            more = len(rows) > limit
            items = rows[:limit]
            return FilePage(
                items=items,
                total=None,
                page=None,
                size=limit,
                next_cursor=encode_cursor(items[-1].id) if more else None,
            )
        page = q.page or 1
        if page < 1:
            raise InvalidInput("page starts at 1.", field="page")
        size = page_size(q.size, default=20)
        rows, total = await self._files.find(
            q.actor.workspace_id,
            q.where,
            sort=q.sort,
            offset=(page - 1) * size,
            after=None,
            limit=size,
        )
        return FilePage(items=rows, total=total, page=page, size=size, next_cursor=None)
