"""In-memory blob storage, behaving like the local-disk and S3 adapters
(the contract suite in tests/integration/storage runs against all three)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from application.ports.files import FileStorage
from application.ports.system import Clock

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class InMemoryFileStorage(FileStorage):
    """Blobs in a dict. A write keeps nothing until its chunks are all read.

    ``written_at`` comes from ``clock`` when one is given (so a test can age
    blobs), else from the wall clock. Reads yield ``read_chunk``-sized pieces.
    """

    def __init__(self, clock: Clock | None = None, *, read_chunk: int = 64 * 1024) -> None:
        self.blobs: dict[str, tuple[bytes, datetime]] = {}
        self._clock = clock
        self._read_chunk = read_chunk

    @staticmethod
    def _check(key: str) -> str:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError("invalid storage key")
        return key

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        self._check(key)
        parts = [bytes(chunk) async for chunk in chunks]
        self.blobs[key] = (b"".join(parts), self._now())

    async def read(
        self, key: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        self._check(key)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("negative offset or length")
        if key not in self.blobs:
            raise FileNotFoundError(key)
        data = self.blobs[key][0]
        end = len(data) if length is None else min(len(data), offset + length)
        for start in range(offset, end, self._read_chunk):
            yield data[start : min(end, start + self._read_chunk)]

    async def delete(self, key: str) -> None:
        self._check(key)
        self.blobs.pop(key, None)

    async def keys(self, prefix: str = "") -> AsyncIterator[tuple[str, datetime]]:
        for key, (_, written) in sorted(self.blobs.items()):
            if key.startswith(prefix):
                yield key, written

    def content(self, key: str) -> bytes:
        """The stored bytes (a test's shortcut around ``read``)."""
        return self.blobs[key][0]
