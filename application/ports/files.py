from abc import abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from domain.files.file import StoredFile
from domain.files.ids import FileId
from domain.tenancy.ids import WorkspaceId


class FileStorage(Protocol):
    """Blobs by generated key. Writes are all-or-nothing."""

    @abstractmethod
    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the chunks under ``key``; if the iteration fails, nothing is left."""

    @abstractmethod
    def read(self, key: str, *, offset: int = 0, length: int | None = None) -> AsyncIterator[bytes]:
        """Stream ``length`` bytes (or to the end) from ``offset``."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the blob; a missing one is not an error."""

    @abstractmethod
    def keys(self, prefix: str = "") -> AsyncIterator[tuple[str, datetime]]:
        """Every stored key under ``prefix``, with when it was last written to:
        writes in progress, or left by a process that died, included (their
        keys are never referenced, so the reconciler removes them once old)."""


class ContentSniffer(Protocol):
    @abstractmethod
    def sniff(self, head: bytes) -> frozenset[str]:
        """Extensions (without the dot) the first bytes are a signature of."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UploadPart:
    """One part of a multipart body, its content read on demand."""

    name: str
    filename: str | None
    content_type: str | None
    chunks: AsyncIterator[bytes]


class FileRepository(Protocol):
    @abstractmethod
    async def add(self, file: StoredFile) -> None: ...

    @abstractmethod
    async def get(self, workspace_id: WorkspaceId, file_id: FileId) -> StoredFile | None:
        """With all versions, locked for the rest of the transaction."""

    @abstractmethod
    async def save(self, file: StoredFile) -> None:
        """Write metadata and any new version; delete the rows when deleted."""

    @abstractmethod
    async def lock_usage(self, workspace_id: WorkspaceId) -> int:
        """Bytes the workspace stores (all versions), holding a lock that makes
        concurrent uploads to it check their quota one after the other."""


class BlobReferences(Protocol):
    @abstractmethod
    async def referenced(self, keys: list[str]) -> set[str]:
        """Which of these storage keys a version row still points to."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileVersionView:
    number: int
    size: int
    sha256: str
    content_type: str
    filename: str
    created_by: UUID | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class FileView:
    id: UUID
    workspace_id: UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    category: str | None
    tags: list[str]
    description: str | None
    is_public: bool
    version: int
    latest_version: int
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    storage_key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileFilter:
    category: str | None = None
    tag: str | None = None
    q: str | None = None
    is_public: bool | None = None
    created_by: UUID | None = None


class FileReader(Protocol):
    @abstractmethod
    async def get(
        self, workspace_id: WorkspaceId, file_id: FileId, version: int | None = None
    ) -> FileView | None:
        """The file as of ``version`` (default: the current one)."""

    @abstractmethod
    async def public(self, file_id: FileId) -> FileView | None: ...

    @abstractmethod
    async def versions(
        self, workspace_id: WorkspaceId, file_id: FileId
    ) -> list[FileVersionView]: ...

    @abstractmethod
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
        """A page, and the total when paging by offset (None for cursors)."""

    @abstractmethod
    async def used_bytes(self, workspace_id: WorkspaceId) -> int: ...


class UrlSigner(Protocol):
    @abstractmethod
    def sign(self, message: str) -> str: ...

    @abstractmethod
    def verify(self, message: str, signature: str) -> bool: ...
