"""Blobs in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...) through obstore.

obstore is the Python binding of the Rust ``object_store`` crate: async,
maintained, streaming multipart uploads, and no boto3 dependency tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime, timedelta

import obstore
from obstore.exceptions import BaseError
from obstore.store import S3Store

from application.ports.files import FileStorage

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
PART_SIZE = 8 << 20  # S3 wants parts of at least 5 MiB (all but the last)
UPLOAD_CONCURRENCY = 2  # parts in flight per upload: memory is about (this + 1) x PART_SIZE
BATCH = 1 << 20  # chunks handed to the uploader, gathered to ~1 MiB
READ_CHUNK = 1 << 20
LIST_PAGE = 1000


class _Abandoned(Exception):
    """Raised into the upload's chunk stream when the write is cancelled."""


class S3FileStorage(FileStorage):
    """Blobs as objects in one bucket (optionally under a key prefix).

    A blob smaller than one part is sent with a single PUT once it has all
    been read, so a failed iteration sends nothing. A larger one is streamed as
    a multipart upload, ``UPLOAD_CONCURRENCY`` parts of ``PART_SIZE`` at a time;
    S3 shows the object only when the upload is completed, and if the chunks
    fail (or the write is cancelled) the upload is aborted, so a blob is either
    whole or absent. Keys are checked against the same strict pattern as on
    local disk.
    """

    def __init__(
        self,
        store: S3Store,
        *,
        part_size: int = PART_SIZE,
        upload_concurrency: int = UPLOAD_CONCURRENCY,
    ) -> None:
        if part_size < 5 << 20:
            raise ValueError("S3 parts must be at least 5 MiB")
        self._store = store
        self._part_size = part_size
        self._concurrency = upload_concurrency

    @classmethod
    def connect(
        cls,
        *,
        bucket: str,
        endpoint_url: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
        connect_timeout: timedelta = timedelta(seconds=5),
        read_timeout: timedelta = timedelta(seconds=60),
        request_timeout: timedelta = timedelta(hours=1),
        max_retries: int = 3,
        part_size: int = PART_SIZE,
        upload_concurrency: int = UPLOAD_CONCURRENCY,
    ) -> S3FileStorage:
        """A store over HTTP(S) with explicit deadlines and bounded retries.

        ``request_timeout`` bounds a whole request, a streamed download
        included, so it is generous; ``read_timeout`` catches a stalled one.
        Retries back off exponentially with jitter.
        """
        store = S3Store(
            bucket,
            prefix=prefix.strip("/") or None,
            endpoint=endpoint_url or None,
            region=region,
            access_key_id=access_key_id or None,
            secret_access_key=secret_access_key or None,
            client_options={
                "allow_http": endpoint_url.startswith("http://"),
                "connect_timeout": connect_timeout,
                "read_timeout": read_timeout,
                "timeout": request_timeout,
            },
            retry_config={
                "max_retries": max_retries,
                "retry_timeout": timedelta(minutes=2),
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=5),
                    "base": 2,
                },
            },
        )
        return cls(store, part_size=part_size, upload_concurrency=upload_concurrency)

    @staticmethod
    def _path(key: str) -> str:
        if not _KEY.match(key) or ".." in key.split("/"):
            raise ValueError("invalid storage key")
        return key

    async def write(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self._path(key)
        source = aiter(chunks)
        head: list[bytes] = []
        size = 0
        async for chunk in source:
            head.append(chunk)
            size += len(chunk)
            if size >= self._part_size:
                break
        else:
            await obstore.put_async(self._store, path, b"".join(head), use_multipart=False)
            return
        feed = _Feed(head, source)
        upload = asyncio.ensure_future(
            obstore.put_async(
                self._store,
                path,
                feed,
                use_multipart=True,
                chunk_size=self._part_size,
                max_concurrency=self._concurrency,
            )
        )
        try:
            await asyncio.shield(upload)
        except asyncio.CancelledError:
            # Cancelling the upload itself would drop it half-way, its parts
            # kept (invisibly, but billed) by the bucket: make the chunk stream
            # fail instead, so that obstore aborts the multipart upload.
            feed.abandon()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await upload
            raise

    async def read(
        self, key: str, *, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self._path(key)
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("negative offset or length")
        if length == 0:
            await obstore.head_async(self._store, path)  # a missing blob still fails
            return
        try:
            if offset == 0 and length is None:
                result = await obstore.get_async(self._store, path)
            elif length is None:
                result = await obstore.get_async(
                    self._store, path, options={"range": {"offset": offset}}
                )
            else:
                result = await obstore.get_async(
                    self._store, path, options={"range": (offset, offset + length)}
                )
        except BaseError:
            # 416: the range starts at or past the end, which is an empty read.
            meta = await obstore.head_async(self._store, path)
            if offset >= meta["size"]:
                return
            raise
        async for chunk in result.stream(min_chunk_size=READ_CHUNK):
            yield chunk

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self._store, path)

    async def keys(self, prefix: str = "") -> AsyncIterator[tuple[str, datetime]]:
        # object_store lists whole path segments: list the prefix's directory and
        # keep what starts with the prefix, as a string prefix means on disk.
        directory = prefix.rpartition("/")[0]
        async for page in obstore.list(self._store, directory or None, chunk_size=LIST_PAGE):
            for meta in page:
                if meta["path"].startswith(prefix):
                    yield meta["path"], meta["last_modified"]


class _Feed:
    """The chunks of one multipart upload: those already read, then the rest,
    in batches of about ``BATCH`` bytes (one hop into Python per batch)."""

    def __init__(self, head: list[bytes], source: AsyncIterator[bytes]) -> None:
        self._head = head
        self._source = source
        self._abandoned = False
        self._reading: asyncio.Task[object] | None = None

    def __aiter__(self) -> _Feed:
        return self

    async def __anext__(self) -> bytes:
        if self._abandoned:
            raise _Abandoned
        if self._head:
            batch, self._head = b"".join(self._head), []
            return batch
        pending: list[bytes] = []
        size = 0
        self._reading = asyncio.current_task()
        try:
            while size < BATCH:
                try:
                    chunk = await anext(self._source)
                except StopAsyncIteration:
                    break
                pending.append(chunk)
                size += len(chunk)
        except asyncio.CancelledError:
            if self._abandoned:
                raise _Abandoned from None
            raise
        finally:
            self._reading = None
        if not pending:
            raise StopAsyncIteration
        return b"".join(pending)

    def abandon(self) -> None:
        self._abandoned = True
        if self._reading is not None:
            self._reading.cancel()  # waiting for the source: stop waiting
