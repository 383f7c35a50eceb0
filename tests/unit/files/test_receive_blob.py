"""Streaming one file part into storage: typed by its first bytes, measured
and hashed on the way, stopped as soon as a limit is passed."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from application.common.files import SNIFF_BYTES, ReceivedBlob, receive_blob, storage_key
from application.ports.files import UploadPart
from domain.files.errors import (
    FileTooLarge,
    InvalidFilename,
    StorageQuotaExceeded,
    UnsupportedFileType,
)
from domain.tenancy.ids import WorkspaceId
from tests.fakes.system import FakeClock, SequentialIds
from tests.unit.files.fakes import PNG, MemoryStorage, PrefixSniffer, file_part
from tests.unit.files.world import file_settings

KEY = "ws/blob"


class Pulled:
    """An endless stream of text chunks that counts how many were taken."""

    def __init__(self, chunk: bytes = b"x" * 100) -> None:
        self.chunk = chunk
        self.count = 0

    async def __call__(self) -> AsyncIterator[bytes]:
        while True:
            self.count += 1
            yield self.chunk


async def receive(
    part: UploadPart,
    storage: MemoryStorage,
    sniffer: PrefixSniffer | None = None,
    room: int = 10**9,
    **settings: object,
) -> ReceivedBlob:
    return await receive_blob(
        part,
        key=KEY,
        storage=storage,
        sniffer=sniffer or PrefixSniffer(),
        settings=file_settings(**settings),
        room=room,
    )


@pytest.fixture
def storage() -> MemoryStorage:
    return MemoryStorage(FakeClock())


async def test_the_blob_is_stored_with_its_size_and_sha256(storage: MemoryStorage) -> None:
    pieces = [b"first line\n", b"second ", b"line\n", b"", b"end"]
    blob = await receive(file_part(pieces), storage)
    data = b"".join(pieces)
    assert storage.blobs[KEY] == data
    assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())


async def test_a_large_blob_made_of_many_chunks_is_stored_whole(storage: MemoryStorage) -> None:
    pieces = [bytes([65 + i % 26]) * 1000 for i in range(30)]
    blob = await receive(file_part(pieces), storage, max_upload_bytes=10**6)
    data = b"".join(pieces)
    assert storage.blobs[KEY] == data
    assert blob.sha256 == hashlib.sha256(data).hexdigest()


async def test_the_type_is_decided_from_the_first_bytes_only(storage: MemoryStorage) -> None:
    sniffer = PrefixSniffer()
    pieces = [b"a" * 3000] * 10
    await receive(file_part(pieces), storage, sniffer, max_upload_bytes=10**6)
    assert [len(head) for head in sniffer.heads] == [SNIFF_BYTES]


async def test_the_name_is_sanitized_and_the_canonical_type_kept(storage: MemoryStorage) -> None:
    part = file_part(PNG, filename="../../pics/cat.PNG", content_type="image/png")
    blob = await receive(part, storage)
    assert blob.filename == "cat.PNG"
    assert blob.content_type == "image/png"


async def test_a_part_without_a_filename_is_refused(storage: MemoryStorage) -> None:
    with pytest.raises(InvalidFilename):
        await receive(file_part(b"data", filename=None), storage)
    assert storage.blobs == {}


async def test_a_file_whose_bytes_disagree_with_its_name_is_never_written(
    storage: MemoryStorage,
) -> None:
    with pytest.raises(UnsupportedFileType):
        await receive(file_part(b"not a picture", filename="cat.png"), storage)
    assert storage.writes_started == []
    assert storage.blobs == {}


async def test_a_file_at_the_size_limit_is_accepted(storage: MemoryStorage) -> None:
    blob = await receive(file_part([b"x" * 600, b"y" * 400]), storage, max_upload_bytes=1000)
    assert blob.size == 1000


async def test_one_byte_over_the_size_limit_is_refused_and_nothing_stored(
    storage: MemoryStorage,
) -> None:
    with pytest.raises(FileTooLarge):
        await receive(file_part([b"x" * 600, b"y" * 401]), storage, max_upload_bytes=1000)
    assert storage.blobs == {}


async def test_a_too_large_upload_stops_as_soon_as_the_limit_is_passed(
    storage: MemoryStorage,
) -> None:
    endless = Pulled(b"x" * 100)
    part = UploadPart(name="file", filename="big.txt", content_type=None, chunks=endless())
    with pytest.raises(FileTooLarge):
        await receive(part, storage, max_upload_bytes=10_000)
    # 10 000 bytes fit; the 101st chunk passes the limit and is the last one taken.
    assert endless.count <= 10_000 // 100 + 2
    assert storage.blobs == {}


async def test_passing_the_workspaces_remaining_room_is_a_quota_error(
    storage: MemoryStorage,
) -> None:
    with pytest.raises(StorageQuotaExceeded) as raised:
        await receive(file_part([b"x" * 300, b"y" * 300]), storage, room=500)
    assert raised.value.code == "quota_exceeded"
    assert storage.blobs == {}


async def test_a_file_that_fills_the_room_exactly_is_accepted(storage: MemoryStorage) -> None:
    blob = await receive(file_part(b"x" * 500), storage, room=500)
    assert blob.size == 500


async def test_an_empty_text_file_is_stored_with_the_empty_hash(storage: MemoryStorage) -> None:
    blob = await receive(file_part([]), storage)
    assert storage.blobs[KEY] == b""
    assert (blob.size, blob.sha256) == (0, hashlib.sha256(b"").hexdigest())


def test_storage_keys_are_generated_under_the_workspace_never_from_the_name() -> None:
    workspace = WorkspaceId(SequentialIds().new())
    key = storage_key(workspace, "0190-blob")
    assert key == f"{workspace}/0190-blob"
