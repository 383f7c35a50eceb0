"""What only the S3 adapter must show: aborted uploads leave no parts behind,
large blobs go up as streamed multipart uploads, and the key prefix holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import obstore
import pytest
from obstore.exceptions import BaseError

from tests.integration.storage.conftest import TEST_PART_SIZE, S3Server
from tests.integration.storage.test_storage_contract import (
    BIG,
    SMALL,
    Boom,
    chunks,
    failing,
    listed,
    new_key,
    pieces,
    read_all,
)

pytestmark = pytest.mark.integration

MiB = 1 << 20


async def etag(server: S3Server, bucket: str, path: str) -> str:
    meta = await obstore.head_async(server.object_store(bucket), path)
    return (meta["e_tag"] or "").strip('"')


@pytest.mark.parametrize("fail_after", [7 * MiB, 11 * MiB], ids=["7MiB", "11MiB"])
async def test_a_failed_multipart_write_is_aborted(
    s3_server: S3Server, s3_bucket: str, fail_after: int
) -> None:
    storage = s3_server.storage(s3_bucket)
    key = new_key()
    with pytest.raises(Boom):
        await storage.write(key, failing(BIG[:fail_after]))
    assert s3_server.pending_uploads(s3_bucket) == []
    assert await listed(storage) == {}


async def test_a_cancelled_multipart_write_is_aborted(s3_server: S3Server, s3_bucket: str) -> None:
    storage = s3_server.storage(s3_bucket)
    stalled = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        for part in pieces(BIG[: 7 * MiB], [64 * 1024]):
            yield part
        stalled.set()
        await asyncio.Event().wait()
        yield b"never"

    task = asyncio.create_task(storage.write(new_key(), stalling()))
    await asyncio.wait_for(stalled.wait(), 30)
    await asyncio.sleep(0.05)
    assert len(s3_server.pending_uploads(s3_bucket)) == 1  # the upload had begun
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert s3_server.pending_uploads(s3_bucket) == []
    assert await listed(storage) == {}


async def test_a_blob_below_one_part_is_one_put_and_a_larger_one_is_multipart(
    s3_server: S3Server, s3_bucket: str
) -> None:
    storage = s3_server.storage(s3_bucket)
    small, big = new_key(), new_key()
    await storage.write(small, chunks(SMALL))
    await storage.write(big, chunks(*pieces(BIG, [64 * 1024])))
    assert "-" not in await etag(s3_server, s3_bucket, small)
    parts = -(-len(BIG) // TEST_PART_SIZE)
    assert (await etag(s3_server, s3_bucket, big)).endswith(f"-{parts}")  # a multipart ETag


async def test_a_large_write_is_uploaded_while_it_streams(
    s3_server: S3Server, s3_bucket: str
) -> None:
    """Parts reach the server before the source ends: the blob is never held whole."""
    storage = s3_server.storage(s3_bucket, upload_concurrency=1)
    total, checked_at = 40 * MiB, 30 * MiB
    seen: list[int] = []

    async def source() -> AsyncIterator[bytes]:
        piece = b"\x5a" * (256 * 1024)
        for sent in range(0, total, len(piece)):
            if sent == checked_at:
                [upload] = s3_server.upload_ids(s3_bucket)
                [key] = s3_server.pending_uploads(s3_bucket)
                seen.append(s3_server.parts(s3_bucket, key, upload))
            yield piece

    key = new_key()
    await storage.write(key, source())
    # at most one part in flight and one filling: the rest of 30 MiB is uploaded
    assert seen and seen[0] >= (checked_at - 3 * TEST_PART_SIZE) // TEST_PART_SIZE
    assert await read_all(storage, key, offset=total - 4, length=10) == b"\x5a" * 4


async def test_the_key_prefix_places_and_hides_the_bucket_layout(
    s3_server: S3Server, s3_bucket: str
) -> None:
    whole_bucket = s3_server.storage(s3_bucket)
    tenant = s3_server.storage(s3_bucket, prefix="tenant-a/")
    key, outside = new_key(), new_key()
    await tenant.write(key, chunks(SMALL))
    await whole_bucket.write(outside, chunks(b"not the tenant's"))

    assert set(await listed(tenant)) == {key}
    assert set(await listed(whole_bucket)) == {f"tenant-a/{key}", outside}
    assert await read_all(whole_bucket, f"tenant-a/{key}") == SMALL
    assert await read_all(tenant, key, offset=90) == SMALL[90:]
    with pytest.raises(FileNotFoundError):
        await read_all(tenant, outside)
    await tenant.delete(key)
    assert set(await listed(whole_bucket)) == {outside}


async def test_an_unreachable_server_fails_promptly() -> None:
    """A refused connection is retried a bounded number of times, then surfaces."""
    storage = S3Server("http://127.0.0.1:9", "key", "secret").storage("nowhere")
    started = time.monotonic()
    with pytest.raises(BaseError):
        await read_all(storage, new_key())
    assert time.monotonic() - started < 30
