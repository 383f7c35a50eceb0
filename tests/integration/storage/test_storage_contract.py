"""One contract for every FileStorage: the in-memory fake, local disk, S3 (moto).

The same cases run against the three (the ``storage`` fixture in conftest), so
the fake the unit tests use cannot drift from the adapters production runs.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from application.ports.files import FileStorage

pytestmark = pytest.mark.integration

MiB = 1 << 20
BIG = random.Random(7).randbytes(12 * MiB + 12_345)  # three parts at S3's minimum part size
SMALL = bytes(range(100))
# S3 keeps last-modified to the second; disks and clocks differ a little.
SLACK = timedelta(seconds=5)


class Boom(Exception):
    """The upload's source failing midway (a client gone, a quota passed)."""


def new_key(workspace: uuid.UUID | None = None) -> str:
    return f"{workspace or uuid.uuid4()}/{uuid.uuid4()}"


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def pieces(data: bytes, sizes: Iterable[int]) -> list[bytes]:
    """``data`` cut into pieces of the given sizes, cycling through them."""
    sizes = list(sizes)
    out, start, i = [], 0, 0
    while start < len(data):
        size = sizes[i % len(sizes)]
        out.append(data[start : start + size])
        start += size
        i += 1
    return out


async def failing(data: bytes, *, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]
    raise Boom("the source failed")


async def read_all(
    storage: FileStorage, key: str, *, offset: int = 0, length: int | None = None
) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, offset=offset, length=length)])


async def listed(storage: FileStorage, prefix: str = "") -> dict[str, datetime]:
    return {key: written async for key, written in storage.keys(prefix)}


async def assert_absent(storage: FileStorage, key: str) -> None:
    with pytest.raises(FileNotFoundError):
        await read_all(storage, key)
    assert key not in await listed(storage)


# -- write, then read back exactly ------------------------------------------------------


async def test_a_small_blob_reads_back_exactly(storage: FileStorage) -> None:
    key = new_key()
    await storage.write(key, chunks(b"hello ", b"world"))
    assert await read_all(storage, key) == b"hello world"


@pytest.mark.parametrize("parts", [(), (b"",), (b"", b"")], ids=["no-chunks", "one-empty", "two"])
async def test_an_empty_blob_reads_back_empty(storage: FileStorage, parts: tuple[bytes]) -> None:
    key = new_key()
    await storage.write(key, chunks(*parts))
    assert await read_all(storage, key) == b""
    assert key in await listed(storage)


async def test_a_multi_megabyte_blob_in_many_chunks_reads_back_exactly(
    storage: FileStorage,
) -> None:
    key = new_key()
    parts = pieces(BIG, [1, 1000, 64 * 1024, 300_000, 7, 40_000, 1 << 20])
    assert len(parts) > 50
    await storage.write(key, chunks(*parts))
    got = [chunk async for chunk in storage.read(key)]
    assert b"".join(got) == BIG
    # streamed back, never as one piece
    assert len(got) > 1
    assert max(len(chunk) for chunk in got) <= 4 * MiB


async def test_overwriting_a_key_replaces_the_blob_whole(storage: FileStorage) -> None:
    key = new_key()
    await storage.write(key, chunks(*pieces(BIG, [MiB])))
    await storage.write(key, chunks(b"short"))
    assert await read_all(storage, key) == b"short"
    await storage.write(key, chunks(*pieces(BIG, [MiB])))
    assert await read_all(storage, key) == BIG
    assert list(await listed(storage)) == [key]


# -- ranged reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "length", "expected"),
    [
        (0, None, SMALL),
        (0, 10, SMALL[:10]),
        (10, 5, SMALL[10:15]),
        (99, 1, SMALL[99:]),
        (95, None, SMALL[95:]),  # to the end
        (90, 50, SMALL[90:]),  # running past the end: what there is
        (100, None, b""),  # at the end
        (150, None, b""),  # past the end
        (150, 10, b""),
        (0, 0, b""),
        (40, 0, b""),
    ],
)
async def test_a_ranged_read_returns_that_window(
    storage: FileStorage, offset: int, length: int | None, expected: bytes
) -> None:
    key = new_key()
    await storage.write(key, chunks(SMALL[:33], SMALL[33:]))
    assert await read_all(storage, key, offset=offset, length=length) == expected


async def test_ranged_reads_of_a_big_blob_cross_part_boundaries(storage: FileStorage) -> None:
    key = new_key()
    await storage.write(key, chunks(*pieces(BIG, [256 * 1024])))
    boundary = 5 * MiB
    around = await read_all(storage, key, offset=boundary - 100, length=200)
    assert around == BIG[boundary - 100 : boundary + 100]
    assert await read_all(storage, key, offset=11 * MiB) == BIG[11 * MiB :]
    assert await read_all(storage, key, offset=1, length=len(BIG)) == BIG[1:]


@pytest.mark.parametrize(("offset", "length"), [(0, None), (0, 10), (5, None), (0, 0)])
async def test_a_ranged_read_of_an_empty_blob_is_empty(
    storage: FileStorage, offset: int, length: int | None
) -> None:
    key = new_key()
    await storage.write(key, chunks())
    assert await read_all(storage, key, offset=offset, length=length) == b""


@pytest.mark.parametrize(("offset", "length"), [(0, None), (10, 5), (10, None), (0, 0)])
async def test_reading_a_missing_blob_fails(
    storage: FileStorage, offset: int, length: int | None
) -> None:
    with pytest.raises(FileNotFoundError):
        await read_all(storage, new_key(), offset=offset, length=length)


# -- all or nothing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "fail_after", [0, 1000, 7 * MiB, 11 * MiB], ids=["at-once", "1KB", "7MiB", "11MiB"]
)
async def test_a_write_whose_chunks_fail_midway_leaves_nothing(
    storage: FileStorage, fail_after: int
) -> None:
    before = new_key()
    await storage.write(before, chunks(SMALL))
    key = new_key()
    with pytest.raises(Boom):
        await storage.write(key, failing(BIG[:fail_after]))
    await assert_absent(storage, key)
    assert await read_all(storage, before) == SMALL
    assert list(await listed(storage)) == [before]


@pytest.mark.parametrize("fail_after", [1000, 7 * MiB], ids=["1KB", "7MiB"])
async def test_a_failed_overwrite_keeps_the_previous_blob(
    storage: FileStorage, fail_after: int
) -> None:
    key = new_key()
    await storage.write(key, chunks(SMALL))
    with pytest.raises(Boom):
        await storage.write(key, failing(BIG[:fail_after]))
    assert await read_all(storage, key) == SMALL
    assert list(await listed(storage)) == [key]


@pytest.mark.parametrize("sent", [1000, 7 * MiB], ids=["1KB", "7MiB"])
async def test_a_cancelled_write_leaves_nothing(storage: FileStorage, sent: int) -> None:
    key = new_key()
    stalled = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        for part in pieces(BIG[:sent], [64 * 1024]):
            yield part
        stalled.set()
        await asyncio.Event().wait()  # a client that stops sending
        yield b"never"

    task = asyncio.create_task(storage.write(key, stalling()))
    await asyncio.wait_for(stalled.wait(), 30)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    await assert_absent(storage, key)
    assert await listed(storage) == {}


# -- delete ----------------------------------------------------------------------------


async def test_delete_removes_the_blob_and_is_idempotent(storage: FileStorage) -> None:
    key, other = new_key(), new_key()
    await storage.write(key, chunks(SMALL))
    await storage.write(other, chunks(b"other"))
    await storage.delete(key)
    await assert_absent(storage, key)
    await storage.delete(key)  # again
    await storage.delete(new_key())  # never written
    assert await read_all(storage, other) == b"other"
    assert list(await listed(storage)) == [other]


# -- keys ------------------------------------------------------------------------------


async def test_keys_lists_exactly_the_keys_under_a_prefix_with_when_written(
    storage: FileStorage,
) -> None:
    ws_a, ws_b = uuid.uuid4(), uuid.uuid4()
    start = datetime.now(UTC)
    in_a = {new_key(ws_a) for _ in range(3)}
    in_b = {new_key(ws_b)}
    for key in in_a | in_b:
        await storage.write(key, chunks(SMALL))
    end = datetime.now(UTC)

    under_a = await listed(storage, f"{ws_a}/")
    assert set(under_a) == in_a
    assert set(await listed(storage, f"{ws_b}/")) == in_b
    assert set(await listed(storage)) == in_a | in_b
    assert await listed(storage, f"{uuid.uuid4()}/") == {}
    for written in (await listed(storage)).values():
        assert written.tzinfo is not None
        assert start - SLACK <= written <= end + SLACK


async def test_keys_matches_the_prefix_as_a_string(storage: FileStorage) -> None:
    for key in ("ab/1", "abc/1", "abd/2", "b/ab"):
        await storage.write(key, chunks(b"x"))
    assert set(await listed(storage, "ab")) == {"ab/1", "abc/1", "abd/2"}
    assert set(await listed(storage, "ab/")) == {"ab/1"}
    assert set(await listed(storage, "abc/1")) == {"abc/1"}
    assert set(await listed(storage, "abc/")) == {"abc/1"}


# -- keys that could escape ------------------------------------------------------------

BAD_KEYS = ["../x", "/abs", "a/../../b", "..", "", "a//b", "./a", "a/./b", "a/", ".hidden", "a\\b"]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_a_key_that_could_escape_is_refused(
    storage: FileStorage, tmp_path: Path, key: str
) -> None:
    with pytest.raises(ValueError, match="key"):
        await storage.write(key, chunks(b"escaped"))
    with pytest.raises(ValueError, match="key"):
        await read_all(storage, key)
    with pytest.raises(ValueError, match="key"):
        await storage.delete(key)
    # nothing was written anywhere: not outside a local root, not in the store
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert not Path("/abs").exists()
    assert await listed(storage) == {}


async def test_refusing_a_key_leaves_other_blobs_alone(storage: FileStorage) -> None:
    key = new_key()
    await storage.write(key, chunks(SMALL))
    with pytest.raises(ValueError, match="key"):
        await storage.write(f"{key}/../../{key.split('/')[1]}", chunks(b"escaped"))
    assert await read_all(storage, key) == SMALL
