"""What only the local adapter promises, on a real filesystem: a write in
progress has a key of its own that the reconciler can see and remove, and its
bytes reach the disk as they arrive rather than all at the final fsync."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.storage.local import WRITE_BATCH, LocalFileStorage

MiB = 1 << 20


async def stalled_after(
    data: bytes, go_on: asyncio.Event, *, stall: bool = True
) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]
    if stall:
        await go_on.wait()


async def listed(storage: LocalFileStorage) -> list[str]:
    return [key async for key, _ in storage.keys(prefix="")]


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def stalled_write(
    storage: LocalFileStorage, root: Path
) -> tuple[str, asyncio.Event, asyncio.Task[None]]:
    """A 3 MiB write under a new key, its partial file on disk, waiting for ``go_on``."""
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"
    go_on = asyncio.Event()
    writing = asyncio.create_task(storage.write(key, stalled_after(os.urandom(3 * MiB), go_on)))
    await until(lambda: any(root.rglob("*.partial")))
    return key, go_on, writing


async def test_a_write_in_progress_is_listed_under_a_key_of_its_own(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    key, go_on, writing = await stalled_write(storage, tmp_path)

    [in_progress] = await listed(storage)

    assert in_progress != key
    assert in_progress.startswith(key)
    go_on.set()
    await writing
    assert await listed(storage) == [key]


async def test_deleting_a_write_in_progress_by_its_key_makes_it_fail_and_leave_nothing(
    tmp_path: Path,
) -> None:
    storage = LocalFileStorage(tmp_path)
    _, go_on, writing = await stalled_write(storage, tmp_path)
    [in_progress] = await listed(storage)

    await storage.delete(in_progress)
    go_on.set()

    with pytest.raises(FileNotFoundError):  # the rename finds nothing to publish
        await writing
    assert await listed(storage) == []


async def test_whole_batches_are_on_disk_while_the_stream_is_still_arriving(
    tmp_path: Path,
) -> None:
    storage = LocalFileStorage(tmp_path)
    go_on = asyncio.Event()
    data = os.urandom(4 * WRITE_BATCH)
    writing = asyncio.create_task(
        storage.write(f"{uuid.uuid4()}/{uuid.uuid4()}", stalled_after(data, go_on))
    )

    # all but the last batch are written before the stream ends (the last waits for it)
    await until(
        lambda: sum(p.stat().st_size for p in tmp_path.rglob("*.partial")) >= 3 * WRITE_BATCH
    )
    [partial] = tmp_path.rglob("*.partial")
    assert partial.read_bytes() == data[: partial.stat().st_size]
    go_on.set()
    await writing


async def test_blobs_are_readable_by_the_service_only(tmp_path: Path) -> None:
    storage = LocalFileStorage(tmp_path)
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"

    async def one() -> AsyncIterator[bytes]:
        yield b"private"

    await storage.write(key, one())

    assert stat.S_IMODE((tmp_path / key).stat().st_mode) == 0o600


async def test_a_read_abandoned_midway_closes_its_file(tmp_path: Path) -> None:
    """A client that goes away mid-download: the read ahead is waited for, then closed."""
    storage = LocalFileStorage(tmp_path)
    key = f"{uuid.uuid4()}/{uuid.uuid4()}"
    data = os.urandom(3 * MiB)
    await storage.write(key, stalled_after(data, asyncio.Event(), stall=False))
    open_before = len(os.listdir("/proc/self/fd"))

    reading = storage.read(key)
    assert isinstance(reading, AsyncGenerator)
    first = await anext(reading)
    assert len(os.listdir("/proc/self/fd")) == open_before + 1
    await reading.aclose()

    assert first == data[: len(first)]
    assert len(os.listdir("/proc/self/fd")) == open_before


async def test_a_file_gone_between_listing_and_stat_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload renamed into place (or a blob deleted) while the reconciler walks."""
    storage = LocalFileStorage(tmp_path)
    kept, vanishing = (f"{uuid.uuid4()}/{uuid.uuid4()}" for _ in range(2))
    for key in (kept, vanishing):
        (tmp_path / key).parent.mkdir(parents=True)
        (tmp_path / key).write_bytes(b"x")
    real_stat = Path.stat

    def stat(path: Path, **kw: bool) -> os.stat_result:
        if path == tmp_path / vanishing:
            path.unlink()
        return real_stat(path, **kw)

    monkeypatch.setattr(Path, "stat", stat)

    assert await listed(storage) == [kept]
