from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.files import FileReader, FileVersionView, FileView
from domain.files.errors import FileNotFound
from domain.files.ids import FileId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class GetFile:
    actor: WorkspaceActor
    file_id: FileId
    version: int | None = None


class GetFileHandler:
    def __init__(self, files: FileReader) -> None:
        self._files = files

    async def execute(self, q: GetFile) -> FileView:
        q.actor.require(Permission.RESOURCES_READ)
        view = await self._files.get(q.actor.workspace_id, q.file_id, q.version)
        if view is None:
            raise FileNotFound
        return view


@dataclass(frozen=True, slots=True, kw_only=True)
class ListVersions:
    actor: WorkspaceActor
    file_id: FileId


class ListVersionsHandler:
    def __init__(self, files: FileReader) -> None:
        self._files = files

    async def execute(self, q: ListVersions) -> list[FileVersionView]:
        q.actor.require(Permission.RESOURCES_READ)
        versions = await self._files.versions(q.actor.workspace_id, q.file_id)
        if not versions:
            raise FileNotFound
        return versions
