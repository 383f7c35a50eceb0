from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.files import (
    ContentSniffer,
    FileReader,
    FileRepository,
    FileStorage,
    UploadPart,
)
from domain.files.errors import (
    FileNotFound,
    FileTooLarge,
    InvalidFileMetadata,
    StorageQuotaExceeded,
)
from domain.files.file import StoredFile
from domain.files.ids import FileId
from domain.files.names import extension_of, sanitize_filename
from domain.files.types import check_type
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission

SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSettings:
    max_upload_bytes: int
    workspace_quota_bytes: int
    allowed_extensions: frozenset[str]
    url_ttl_seconds: int
    public_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedBlob:
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str


async def receive_blob(
    part: UploadPart,
    *,
    key: str,
    storage: FileStorage,
    sniffer: ContentSniffer,
    settings: FileSettings,
    room: int,
) -> ReceivedBlob:
    """Stream one file part into storage under ``key`` while checking it.

    The first bytes decide the type; size and SHA-256 are computed on the way
    through; going over the size limit or the workspace's remaining ``room``
    stops the upload at once. On any failure the storage keeps nothing.
    """
    filename = sanitize_filename(part.filename or "")
    head = b""
    chunks = part.chunks
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    content_type = check_type(
        extension=extension_of(filename),
        allowed=settings.allowed_extensions,
        declared=part.content_type,
        head=head[:SNIFF_BYTES],
        sniffed=sniffer.sniff(head[:SNIFF_BYTES]),
    )
    digest = BackgroundDigest()
    size = 0

    def count(chunk: bytes) -> bytes:
        nonlocal size
        size += len(chunk)
        if size > settings.max_upload_bytes:
            raise FileTooLarge(
                f"The file is larger than the {settings.max_upload_bytes:,} bytes allowed.",
                field="file",
            )
        if size > room:
            raise StorageQuotaExceeded(
                "The workspace's storage quota would be exceeded.", field="file"
            )
        return chunk

    async def checked() -> AsyncIterator[bytes]:
        if head:
            yield await digest.feed(count(head))
        async for chunk in chunks:
            if chunk:
                yield await digest.feed(count(chunk))

    try:
        await storage.write(key, checked())
        sha256 = await digest.hexdigest()
    finally:
        await digest.close()
    return ReceivedBlob(
        key=key, filename=filename, content_type=content_type, size=size, sha256=sha256
    )


class BackgroundDigest:
    """SHA-256 computed off the event loop, a batch behind the stream.

    hashlib releases the GIL on large updates, so hashing batch N in a thread
    overlaps with receiving batch N+1 and writing it: on a multi-core host
    the upload runs at disk speed instead of hash speed. The chunks of a
    batch are hashed one by one rather than joined, which would copy every
    byte once more on the event loop.
    """

    BATCH = 1 << 20

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._buffered = 0
        self._running: asyncio.Future[None] | None = None

    async def feed(self, chunk: bytes) -> bytes:
        self._pending.append(chunk)
        self._buffered += len(chunk)
        if self._buffered >= self.BATCH:
            await self._flush()
        return chunk

    async def _flush(self) -> None:
        if self._running is not None:
            await self._running
        batch, self._pending, self._buffered = self._pending, [], 0
        self._running = asyncio.ensure_future(asyncio.to_thread(self._update, batch))

    def _update(self, batch: list[bytes]) -> None:
        for chunk in batch:
            self._digest.update(chunk)

    async def hexdigest(self) -> str:
        await self._flush()
        await self.close()
        return self._digest.hexdigest()

    async def close(self) -> None:
        running, self._running = self._running, None
        if running is not None:
            await running


def storage_key(workspace_id: WorkspaceId, blob_id: object) -> str:
    """Generated, never derived from the client's name; grouped by workspace so a
    deleted workspace's blobs go by prefix."""
    return f"{workspace_id}/{blob_id}"


async def read_field(part: UploadPart, limit: int = 16_384) -> str:
    data = b""
    async for chunk in part.chunks:
        data += chunk
        if len(data) > limit:
            raise InvalidFileMetadata(f"The field {part.name} is too long.", field=part.name)
    return data.decode("utf-8", errors="replace")


async def editable_file(
    files: FileRepository, actor: WorkspaceActor, file_id: FileId
) -> StoredFile:
    """The file, locked, if the actor may change it: its uploader or an admin."""
    actor.require(Permission.RESOURCES_WRITE)
    file = await files.get(actor.workspace_id, file_id)
    if file is None:
        raise FileNotFound
    file.ensure_editable_by(actor.user_id, actor.role)
    return file


async def quota_room(reader: FileReader, settings: FileSettings, workspace: WorkspaceId) -> int:
    """Bytes the workspace may still store; refused at once when none are left."""
    room = settings.workspace_quota_bytes - await reader.used_bytes(workspace)
    if room <= 0:
        raise StorageQuotaExceeded("The workspace's storage quota is used up.")
    return room


async def ensure_quota(
    files: FileRepository, settings: FileSettings, workspace: WorkspaceId, adding: int
) -> None:
    """The final check, under the workspace lock, so concurrent uploads queue here."""
    if await files.lock_usage(workspace) + adding > settings.workspace_quota_bytes:
        raise StorageQuotaExceeded("The workspace's storage quota would be exceeded.")
