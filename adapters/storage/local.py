from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from application.ports.files import FileStorage

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
READ_CHUNK = 1 << 20
WRITE_BATCH = 1 << 20


class LocalFileStorage(FileStorage):
    """Blobs as files under one root.

    A write goes to a temporary file beside its target, is fsynced, then
    renamed into place (and the directory fsynced), so a blob is either whole
    or absent. Keys are checked against a strict pattern and every resolved
    path must stay inside the root.
    """

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError("invalid storage key")
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise ValueError("storage key escapes the root")
        return path

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
        handle: BinaryIO = await asyncio.to_thread(open, partial, "xb")
        # Small network chunks are gathered into ~1 MiB writes, and each write
        # runs in a thread while the next megabyte arrives: one hop per MiB,
        # and the disk never waits for the network or the other way round.
        writing: asyncio.Future[None] | None = None
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BATCH:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(handle.writelines, pending))
                    pending, buffered = [], 0
            if writing is not None:
                await writing
            await asyncio.to_thread(_finish, handle, partial, path, pending)
        except BaseException:
            if writing is not None:
                with contextlib.suppress(BaseException):
                    await writing
            await asyncio.to_thread(_abandon, handle, partial)
            raise

    async def read(
        self, key: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        handle: BinaryIO = await asyncio.to_thread(open, self._path(key), "rb")
        try:
            await asyncio.to_thread(handle.seek, offset)
            remaining = length
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def keys(self, prefix: str = "") -> AsyncIterator[tuple[str, datetime]]:
        found = await asyncio.to_thread(self._walk, prefix)
        for item in found:
            yield item

    def _walk(self, prefix: str) -> list[tuple[str, datetime]]:
        found = []
        for directory, _, names in os.walk(self._root):
            for name in names:
                if name.startswith("."):
                    continue  # a write in progress
                path = Path(directory) / name
                key = path.relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                    found.append((key, written))
        return found


def _finish(handle: BinaryIO, partial: Path, path: Path, pending: list[bytes]) -> None:
    handle.writelines(pending)
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    os.replace(partial, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _abandon(handle: BinaryIO, partial: Path) -> None:
    handle.close()
    partial.unlink(missing_ok=True)
