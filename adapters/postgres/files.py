from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, delete, func, insert, or_, select, update

from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import file_versions, files, workspace_file_usage, workspaces
from adapters.postgres.unit_of_work import SqlUnitOfWork
from application.ports.files import (
    BlobReferences,
    FileFilter,
    FileReader,
    FileRepository,
    FileVersionView,
    FileView,
)
from domain.files.file import FileVersion, StoredFile
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId


class SqlFileRepository(UnitOfWorkStatements, FileRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        self._known: dict[FileId, set[int]] = {}

    async def add(self, file: StoredFile) -> None:
        await self._execute(
            insert(files).values(
                id=file.id,
                workspace_id=file.workspace_id,
                filename=file.filename,
                category=file.category,
                tags=file.tags,
                description=file.description,
                is_public=file.is_public,
                created_by=file.created_by,
                created_at=file.created_at,
                updated_at=file.updated_at,
                current_version=file.current_version,
            )
        )
        self._known[file.id] = set()
        await self._write_new_versions(file)
        self._uow.track(file)

    async def get(self, workspace_id: WorkspaceId, file_id: FileId) -> StoredFile | None:
        row = (
            (
                await self._execute(
                    select(files)
                    .where(files.c.id == file_id, files.c.workspace_id == workspace_id)
                    .with_for_update()
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        versions = (
            await self._execute(
                select(file_versions)
                .where(file_versions.c.file_id == file_id)
                .order_by(file_versions.c.number)
            )
        ).mappings()
        file = StoredFile(
            id=row["id"],
            workspace_id=row["workspace_id"],
            filename=row["filename"],
            category=row["category"],
            tags=list(row["tags"]),
            description=row["description"],
            is_public=row["is_public"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            current_version=row["current_version"],
            versions=[
                FileVersion(
                    number=v["number"],
                    storage_key=v["storage_key"],
                    size=v["size"],
                    sha256=v["sha256"],
                    content_type=v["content_type"],
                    filename=v["filename"],
                    created_by=v["created_by"],
                    created_at=v["created_at"],
                )
                for v in versions
            ],
        )
        self._known[file.id] = {v.number for v in file.versions}
        return file

    async def save(self, file: StoredFile) -> None:
        self._uow.track(file)
        if file.deleted:
            await self._execute(delete(files).where(files.c.id == file.id))
            return
        await self._execute(
            update(files)
            .where(files.c.id == file.id)
            .values(
                filename=file.filename,
                category=file.category,
                tags=file.tags,
                description=file.description,
                is_public=file.is_public,
                updated_at=file.updated_at,
                current_version=file.current_version,
            )
        )
        await self._write_new_versions(file)

    async def _write_new_versions(self, file: StoredFile) -> None:
        known = self._known.setdefault(file.id, set())
        new = [v for v in file.versions if v.number not in known]
        if new:
            await self._execute(
                insert(file_versions).values(
                    [
                        {
                            "file_id": file.id,
                            "number": v.number,
                            "workspace_id": file.workspace_id,
                            "storage_key": v.storage_key,
                            "size": v.size,
                            "sha256": v.sha256,
                            "content_type": v.content_type,
                            "filename": v.filename,
                            "created_by": v.created_by,
                            "created_at": v.created_at,
                        }
                        for v in new
                    ]
                )
            )
            known.update(v.number for v in new)

    async def lock_usage(self, workspace_id: WorkspaceId) -> int:
        await self._execute(
            select(workspaces.c.id).where(workspaces.c.id == workspace_id).with_for_update()
        )
        used = await self._execute(_used_bytes(workspace_id))
        return int(used.scalar_one_or_none() or 0)


_SORT_COLUMNS = {
    "created_at": files.c.id,  # UUIDv7: creation order
    "updated_at": files.c.updated_at,
    "filename": files.c.filename,
    "size": file_versions.c.size,
}


class SqlFileReader(Statements, FileReader, BlobReferences):
    def _view_query(self) -> Any:
        total = (
            select(func.max(file_versions.c.number))
            .where(file_versions.c.file_id == files.c.id)
            .correlate(files)
            .scalar_subquery()
        )
        return select(
            files.c.id,
            files.c.workspace_id,
            # The current version goes by the file's (possibly renamed) name;
            # an earlier one by the name it was uploaded under.
            case(
                (file_versions.c.number == files.c.current_version, files.c.filename),
                else_=file_versions.c.filename,
            ).label("filename"),
            file_versions.c.content_type,
            file_versions.c.size,
            file_versions.c.sha256,
            files.c.category,
            files.c.tags,
            files.c.description,
            files.c.is_public,
            file_versions.c.number.label("version"),
            total.label("latest_version"),
            files.c.created_by,
            files.c.created_at,
            files.c.updated_at,
            file_versions.c.storage_key,
        ).select_from(files.join(file_versions, file_versions.c.file_id == files.c.id))

    @staticmethod
    def _view(row: Any) -> FileView:
        return FileView(**{**row, "tags": list(row["tags"])})

    async def get(
        self, workspace_id: WorkspaceId, file_id: FileId, version: int | None = None
    ) -> FileView | None:
        number = version if version is not None else files.c.current_version
        row = (
            (
                await self._execute(
                    self._view_query().where(
                        files.c.id == file_id,
                        files.c.workspace_id == workspace_id,
                        file_versions.c.number == number,
                    )
                )
            )
            .mappings()
            .first()
        )
        return self._view(row) if row else None

    async def public(self, file_id: FileId) -> FileView | None:
        row = (
            (
                await self._execute(
                    self._view_query().where(
                        files.c.id == file_id,
                        files.c.is_public.is_(True),
                        file_versions.c.number == files.c.current_version,
                    )
                )
            )
            .mappings()
            .first()
        )
        return self._view(row) if row else None

    async def versions(self, workspace_id: WorkspaceId, file_id: FileId) -> list[FileVersionView]:
        rows = await self._execute(
            select(
                file_versions.c.number,
                file_versions.c.size,
                file_versions.c.sha256,
                file_versions.c.content_type,
                file_versions.c.filename,
                file_versions.c.created_by,
                file_versions.c.created_at,
            )
            .where(
                file_versions.c.file_id == file_id,
                file_versions.c.workspace_id == workspace_id,
            )
            .order_by(file_versions.c.number)
        )
        return [FileVersionView(**row) for row in rows.mappings()]

    async def find(
        self,
        workspace_id: WorkspaceId,
        where: FileFilter,
        *,
        sort: str,
        offset: int,
        after: UUID | None,
        limit: int,
    ) -> tuple[list[FileView], int | None]:
        conditions: list[Any] = [
            files.c.workspace_id == workspace_id,
            file_versions.c.number == files.c.current_version,
        ]
        if where.category is not None:
            conditions.append(files.c.category == where.category.strip().lower())
        if where.tag is not None:
            conditions.append(files.c.tags.contains([where.tag.strip().lower()]))
        if where.is_public is not None:
            conditions.append(files.c.is_public.is_(where.is_public))
        if where.created_by is not None:
            conditions.append(files.c.created_by == where.created_by)
        if where.q:
            pattern = (
                "%" + where.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            conditions.append(
                or_(files.c.filename.ilike(pattern), files.c.description.ilike(pattern))
            )
        column = _SORT_COLUMNS[sort.lstrip("-")]
        order = [column.desc() if sort.startswith("-") else column.asc(), files.c.id.desc()]
        if after is not None:
            conditions.append(files.c.id < after)
        rows = await self._execute(
            self._view_query().where(and_(*conditions)).order_by(*order).offset(offset).limit(limit)
        )
        items = [self._view(row) for row in rows.mappings()]
        total = None
        if after is None:
            counted = await self._execute(
                select(func.count())
                .select_from(files.join(file_versions, file_versions.c.file_id == files.c.id))
                .where(and_(*conditions))
            )
            total = int(counted.scalar_one())
        return items, total

    async def used_bytes(self, workspace_id: WorkspaceId) -> int:
        used = await self._execute(_used_bytes(workspace_id))
        return int(used.scalar_one_or_none() or 0)

    async def referenced(self, keys: list[str]) -> set[str]:
        if not keys:
            return set()
        rows = await self._execute(
            select(file_versions.c.storage_key).where(file_versions.c.storage_key.in_(keys))
        )
        return {row[0] for row in rows}


def _used_bytes(workspace_id: WorkspaceId) -> Any:
    """The workspace's counter, which triggers keep equal to the sum of its versions
    (migration 0005); no row yet means nothing stored."""
    return select(workspace_file_usage.c.used_bytes).where(
        workspace_file_usage.c.workspace_id == workspace_id
    )
