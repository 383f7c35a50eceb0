from __future__ import annotations

import asyncio
import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from application.ports.files import FileStorage

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
READ_CHUNK = 1 << 20
WRITE_BATCH = 1 << 20
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_IOV_MAX = 1024
# On Linux, DONTNEED on dirty pages starts their writeback without waiting
# (what PostgreSQL falls back to for its own flush-after settings).
_START_WRITEBACK: int | None = getattr(os, "POSIX_FADV_DONTNEED", None)
_READ_SEQUENTIALLY: int | None = getattr(os, "POSIX_FADV_SEQUENTIAL", None)


class LocalFileStorage(FileStorage):
    """Blobs as files under one root.

    A write goes to a temporary file beside its target, is fsynced, then
    renamed into place (and the directory fsynced), so a blob is either whole
    or absent. The temporary file's name is itself a valid key no row refers
    to, listed by ``keys``: what a killed process was writing is found and
    removed by the reconciler like any stray (an upload in progress keeps its
    file's time fresh). Keys are checked against a strict pattern and every
    resolved path must stay inside the root.
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
        partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.partial")
        fd = await _create(partial)
        # Network chunks are gathered into ~1 MiB batches, each written by one
        # writev in a thread while the next batch arrives: one hop per batch,
        # and the disk never waits for the network or the other way round.
        # A thread still writing is always waited for before the descriptor
        # is closed, even when the upload is cancelled.
        written = 0
        running: asyncio.Future[None] | None = None
        try:
            pending: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                pending.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BATCH:
                    if running is not None:
                        await running
                    running = asyncio.ensure_future(
                        asyncio.to_thread(_write_batch, fd, pending, written)
                    )
                    written += buffered
                    pending, buffered = [], 0
            if running is not None:
                await running
            running = asyncio.ensure_future(asyncio.to_thread(_flush, fd, pending, written))
            await running
        except BaseException:
            if running is not None:
                with contextlib.suppress(BaseException):
                    await running
            await asyncio.to_thread(_abandon, fd, partial)
            raise
        await asyncio.to_thread(_publish, fd, partial, path)

    async def read(
        self, key: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        # The next chunk is read in a thread while this one is being sent, so
        # the disk and the socket work side by side.
        fd = await asyncio.to_thread(_open_for_reading, self._path(key), offset, length)
        end = None if length is None else offset + length

        def read_at(position: int) -> asyncio.Future[bytes] | None:
            if end is not None and position >= end:
                return None
            size = READ_CHUNK if end is None else min(READ_CHUNK, end - position)
            return asyncio.ensure_future(asyncio.to_thread(os.pread, fd, size, position))

        reading = read_at(offset)
        try:
            while reading is not None:
                chunk = await reading
                if not chunk:
                    return
                offset += len(chunk)
                reading = read_at(offset)
                yield chunk
        finally:
            if reading is not None:
                with contextlib.suppress(BaseException):
                    await reading
            await asyncio.to_thread(os.close, fd)

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
                    continue
                path = Path(directory) / name
                key = path.relative_to(self._root).as_posix()
                if key.startswith(prefix):
                    try:
                        modified = path.stat().st_mtime
                    except FileNotFoundError:
                        continue  # renamed into place or deleted since listed
                    found.append((key, datetime.fromtimestamp(modified, UTC)))
        return found


def _open_for_reading(path: Path, offset: int, length: int | None) -> int:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    if _READ_SEQUENTIALLY is not None:  # a larger read-ahead window
        os.posix_fadvise(fd, offset, length or 0, _READ_SEQUENTIALLY)
    return fd


def _write_batch(fd: int, chunks: list[bytes], offset: int) -> None:
    """Write the batch, then start its writeback.

    Without the hint the kernel keeps the whole upload dirty until the final
    fsync (or until it throttles the writer), so a large upload ends with a
    long flush; flushed as it goes, the fsync only waits for the last batch.
    """
    _write_all(fd, chunks)
    if _START_WRITEBACK is not None:
        size = sum(map(len, chunks))
        os.posix_fadvise(fd, offset, size, _START_WRITEBACK)


def _write_all(fd: int, chunks: list[bytes]) -> None:
    views = [memoryview(chunk) for chunk in chunks if chunk]
    while views:
        sent = os.writev(fd, views[:_IOV_MAX])
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if sent:
            views[0] = views[0][sent:]


def _flush(fd: int, pending: list[bytes], offset: int) -> None:
    _write_batch(fd, pending, offset)
    os.fsync(fd)


def _publish(fd: int, partial: Path, path: Path) -> None:
    """Close the flushed file and rename it into place (then make the rename durable)."""
    try:
        os.close(fd)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


async def _create(partial: Path) -> int:
    """Open a new file for writing; cancelled meanwhile, it is removed again."""
    opening = asyncio.ensure_future(asyncio.to_thread(os.open, partial, _CREATE, 0o600))
    try:
        return await asyncio.shield(opening)
    except asyncio.CancelledError:
        with contextlib.suppress(BaseException):
            await asyncio.to_thread(_abandon, await opening, partial)
        raise


def _abandon(fd: int, partial: Path) -> None:
    try:
        os.close(fd)
    finally:
        partial.unlink(missing_ok=True)
