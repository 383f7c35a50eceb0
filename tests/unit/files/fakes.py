"""In-memory stand-ins for the files ports, just enough for the unit tier.

The storage is all-or-nothing like the real one: a write whose chunks fail
leaves no blob. The repository keeps aggregates between "requests" and the
reader derives its views from them, as the SQL reader derives them from rows.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from uuid import UUID

from application.ports.files import (
    BlobReferences,
    ContentSniffer,
    FileFilter,
    FileReader,
    FileRepository,
    FileStorage,
    FileVersionView,
    FileView,
    UploadPart,
)
from application.ports.system import Clock
from domain.files.file import StoredFile
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId
from tests.fakes.transaction import FakeUnitOfWork


class MemoryStorage(FileStorage):
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.blobs: dict[str, bytes] = {}
        self.written: dict[str, datetime] = {}
        self.writes_started: list[str] = []
        self.deleted: list[str] = []

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        self.writes_started.append(key)
        data = b""
        async for chunk in chunks:  # a failure here stores nothing
            data += chunk
        self.blobs[key] = data
        self.written[key] = self._clock.now()

    async def read(
        self, key: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        data = self.blobs[key]
        end = len(data) if length is None else offset + length
        yield data[offset:end]

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.blobs.pop(key, None)
        self.written.pop(key, None)

    async def keys(self, prefix: str = "") -> AsyncIterator[tuple[str, datetime]]:
        for key, written in list(self.written.items()):
            if key.startswith(prefix):
                yield key, written

    def put(self, key: str, data: bytes, written: datetime) -> None:
        """A blob written at ``written`` (for strays and reconciliation)."""
        self.blobs[key] = data
        self.written[key] = written


class PrefixSniffer(ContentSniffer):
    """Recognises a few magic numbers; remembers the heads it was shown."""

    SIGNATURES: dict[bytes, frozenset[str]] = {
        b"\x89PNG\r\n\x1a\n": frozenset({"png"}),
        b"%PDF-": frozenset({"pdf"}),
        b"GIF89a": frozenset({"gif"}),
        b"PK\x03\x04": frozenset({"zip", "docx", "xlsx"}),
        b"MZ": frozenset({"exe", "dll"}),
        b"<html": frozenset({"html"}),
    }

    def __init__(self) -> None:
        self.heads: list[bytes] = []

    def sniff(self, head: bytes) -> frozenset[str]:
        self.heads.append(head)
        for magic, found in self.SIGNATURES.items():
            if head.startswith(magic):
                return found
        return frozenset()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24


async def chunks_of(*pieces: bytes) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


def file_part(
    data: bytes | list[bytes],
    filename: str | None = "notes.txt",
    content_type: str | None = "text/plain",
    name: str = "file",
) -> UploadPart:
    pieces = data if isinstance(data, list) else [data]
    return UploadPart(
        name=name, filename=filename, content_type=content_type, chunks=chunks_of(*pieces)
    )


def field_part(name: str, value: str) -> UploadPart:
    return UploadPart(name=name, filename=None, content_type=None, chunks=chunks_of(value.encode()))


async def parts_of(*parts: UploadPart) -> AsyncIterator[UploadPart]:
    for part in parts:
        yield part


class MemoryFiles(FileRepository, BlobReferences):
    """Committed state is ``self.rows``; a request works on copies, enlisted in
    the unit of work so that leaving without a commit rolls them back."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow
        self.rows: dict[FileId, StoredFile] = {}
        self.extra_usage = 0  # bytes "another request" committed while this one streamed

    # -- unit-of-work hooks --------------------------------------------------

    def snapshot(self) -> object:
        return copy.deepcopy(self.rows)

    def restore(self, snapshot: object) -> None:
        self.rows = copy.deepcopy(snapshot)  # type: ignore[arg-type]

    # -- FileRepository -----------------------------------------------------------

    async def add(self, file: StoredFile) -> None:
        self._uow.enlist(self)
        self.rows[file.id] = file
        self._uow.track(file)

    async def get(self, workspace_id: WorkspaceId, file_id: FileId) -> StoredFile | None:
        self._uow.enlist(self)
        file = self.rows.get(file_id)
        if file is None or file.workspace_id != workspace_id:
            return None
        return file

    async def save(self, file: StoredFile) -> None:
        self._uow.enlist(self)
        self._uow.track(file)
        if file.deleted:
            self.rows.pop(file.id, None)
        else:
            self.rows[file.id] = file

    async def lock_usage(self, workspace_id: WorkspaceId) -> int:
        return await self.used_bytes(workspace_id) + self.extra_usage

    # -- what the reader shows -----------------------------------------------------

    def _view(self, file: StoredFile, number: int) -> FileView:
        version = file.version(number)
        return FileView(
            id=file.id,
            workspace_id=file.workspace_id,
            filename=file.filename if number == file.current_version else version.filename,
            content_type=version.content_type,
            size=version.size,
            sha256=version.sha256,
            category=file.category,
            tags=list(file.tags),
            description=file.description,
            is_public=file.is_public,
            version=number,
            latest_version=max(v.number for v in file.versions),
            created_by=file.created_by,
            created_at=file.created_at,
            updated_at=file.updated_at,
            storage_key=version.storage_key,
        )

    async def view(
        self, workspace_id: WorkspaceId, file_id: FileId, version: int | None = None
    ) -> FileView | None:
        file = self.rows.get(file_id)
        if file is None or file.workspace_id != workspace_id:
            return None
        number = file.current_version if version is None else version
        if all(v.number != number for v in file.versions):
            return None
        return self._view(file, number)

    async def public(self, file_id: FileId) -> FileView | None:
        file = self.rows.get(file_id)
        if file is None or not file.is_public:
            return None
        return self._view(file, file.current_version)

    async def versions(self, workspace_id: WorkspaceId, file_id: FileId) -> list[FileVersionView]:
        file = self.rows.get(file_id)
        if file is None or file.workspace_id != workspace_id:
            return []
        return [
            FileVersionView(
                number=v.number,
                size=v.size,
                sha256=v.sha256,
                content_type=v.content_type,
                filename=v.filename,
                created_by=v.created_by,
                created_at=v.created_at,
            )
            for v in file.versions
        ]

    async def used_bytes(self, workspace_id: WorkspaceId) -> int:
        return sum(f.total_size for f in self.rows.values() if f.workspace_id == workspace_id)

    # -- BlobReferences --------------------------------------------------------------

    async def referenced(self, keys: list[str]) -> set[str]:
        used = {v.storage_key for f in self.rows.values() for v in f.versions}
        return used & set(keys)


class MemoryReader(FileReader):
    """What ``MemoryFiles`` holds, as the SQL reader shows rows. Listing is
    covered end to end, not here."""

    def __init__(self, files: MemoryFiles) -> None:
        self._files = files

    async def get(
        self, workspace_id: WorkspaceId, file_id: FileId, version: int | None = None
    ) -> FileView | None:
        return await self._files.view(workspace_id, file_id, version)

    async def public(self, file_id: FileId) -> FileView | None:
        return await self._files.public(file_id)

    async def versions(self, workspace_id: WorkspaceId, file_id: FileId) -> list[FileVersionView]:
        return await self._files.versions(workspace_id, file_id)

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
        raise NotImplementedError

    async def used_bytes(self, workspace_id: WorkspaceId) -> int:
        return await self._files.used_bytes(workspace_id)
