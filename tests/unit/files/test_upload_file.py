"""UploadFile and AddFileVersion with in-memory storage and rows."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from application.commands.files.add_version import AddFileVersion
from application.commands.files.upload_file import UploadFile
from application.ports.files import UploadPart
from domain.common.errors import StorageUnavailable
from domain.files.errors import (
    FileNotFound,
    FileTooLarge,
    InvalidFileMetadata,
    StorageQuotaExceeded,
    UnsupportedFileType,
)
from domain.files.ids import FileId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Role
from tests.unit.files.fakes import PNG, field_part, file_part
from tests.unit.files.world import World


@pytest.fixture
def world() -> World:
    return World()


async def never_read() -> AsyncIterator[UploadPart]:
    raise AssertionError("the body was read")
    yield  # pragma: no cover


# -- upload ---------------------------------------------------------------------------


async def test_an_upload_records_the_file_with_its_metadata(world: World) -> None:
    actor = world.actor()
    file_id = await world.upload(
        actor,
        field_part("category", "Reports"),
        field_part("tags", "Q3, finance"),
        file_part(b"a,b\n1,2\n", filename="numbers.csv", content_type="text/csv"),
        field_part("tags", "q3,Board"),
        field_part("description", "  The numbers  "),
        field_part("is_public", "yes"),
    )
    view = await world.view(file_id)
    assert view.filename == "numbers.csv"
    assert view.content_type == "text/csv"
    assert view.size == 8
    assert view.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert view.category == "reports"
    assert view.tags == ["q3", "finance", "board"]
    assert view.description == "The numbers"
    assert view.is_public is True
    assert view.created_by == actor.user_id
    assert (view.version, view.latest_version) == (1, 1)


async def test_an_uploaded_blob_is_stored_under_a_generated_key(world: World) -> None:
    file_id = await world.upload(world.actor(), file_part(b"hi", filename="../../etc/x.txt"))
    view = await world.view(file_id)
    assert world.storage.blobs[view.storage_key] == b"hi"
    assert view.storage_key.startswith(f"{world.workspace}/")
    assert "x.txt" not in view.storage_key


async def test_an_upload_commits_once(world: World) -> None:
    await world.upload(world.actor())
    assert world.uow.commits == 1


async def test_a_viewer_cannot_upload_and_the_body_is_never_read(world: World) -> None:
    with pytest.raises(InsufficientRole):
        await world.uploader().execute(
            UploadFile(actor=world.actor(Role.VIEWER), parts=never_read())
        )
    assert world.storage.writes_started == []


async def test_an_upload_without_a_file_part_is_refused(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), field_part("category", "x"))
    assert world.files.rows == {}


async def test_a_field_named_file_without_a_filename_is_refused(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), field_part("file", "/etc/passwd"))
    assert world.files.rows == {}
    assert world.storage.blobs == {}


async def test_an_unexpected_part_is_refused_and_the_stored_blob_removed(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), file_part(b"hi"), field_part("workspace_id", "x"))
    assert world.files.rows == {}
    assert world.storage.blobs == {}


async def test_a_second_file_part_is_refused_and_the_first_blob_removed(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), file_part(b"one"), file_part(b"two"))
    assert world.storage.blobs == {}
    assert world.files.rows == {}


async def test_invalid_metadata_after_the_file_removes_the_blob(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), file_part(b"hi"), field_part("tags", "bad\x00tag"))
    assert world.storage.blobs == {}


async def test_an_is_public_that_is_not_a_boolean_is_refused(world: World) -> None:
    with pytest.raises(InvalidFileMetadata):
        await world.upload(world.actor(), file_part(b"hi"), field_part("is_public", "maybe"))
    assert world.storage.blobs == {}


async def test_a_file_of_a_refused_type_leaves_nothing(world: World) -> None:
    with pytest.raises(UnsupportedFileType):
        await world.upload(world.actor(), file_part(b"MZ\x90\x00", filename="setup.exe"))
    assert world.storage.blobs == {}
    assert world.files.rows == {}


async def test_a_file_over_the_size_limit_leaves_nothing(world: World) -> None:
    with pytest.raises(FileTooLarge):
        await world.upload(world.actor(), file_part([b"x" * 800, b"x" * 800]))
    assert world.storage.blobs == {}
    assert world.files.rows == {}


async def test_a_failed_commit_removes_the_blob(world: World) -> None:
    world.uow.fail_next = 1
    with pytest.raises(StorageUnavailable):
        await world.upload(world.actor(), file_part(b"hi"))
    assert world.storage.blobs == {}
    assert world.files.rows == {}


async def test_an_upload_over_the_remaining_quota_is_refused(world: World) -> None:
    actor = world.actor()
    for _ in range(5):
        await world.upload(actor, file_part(b"x" * 900))
    with pytest.raises(StorageQuotaExceeded):
        await world.upload(actor, file_part(b"x" * 501))  # 4 500 of 5 000 used
    assert len(world.files.rows) == 5
    assert len(world.storage.blobs) == 5
    assert await world.upload(actor, file_part(b"x" * 500))


async def test_a_workspace_with_its_quota_used_up_is_refused_before_reading() -> None:
    world = World(workspace_quota_bytes=900)
    await world.upload(world.actor(), file_part(b"x" * 900))
    with pytest.raises(StorageQuotaExceeded):
        await world.uploader().execute(UploadFile(actor=world.actor(), parts=never_read()))


async def test_the_quota_is_checked_again_at_commit_against_concurrent_uploads(
    world: World,
) -> None:
    world.files.extra_usage = 4_800  # another upload committed while this one streamed
    with pytest.raises(StorageQuotaExceeded):
        await world.upload(world.actor(), file_part(b"x" * 300))
    assert world.files.rows == {}
    assert world.storage.blobs == {}


async def test_other_workspaces_do_not_count_towards_the_quota(world: World) -> None:
    elsewhere = world.actor(workspace=world.other_workspace)
    for _ in range(5):
        await world.upload(elsewhere, file_part(b"x" * 900))
    assert await world.upload(world.actor(), file_part(b"x" * 900))


# -- add a version --------------------------------------------------------------------


async def test_a_new_version_becomes_current_and_keeps_the_first(world: World) -> None:
    actor = world.actor()
    file_id = await world.upload(actor, file_part(b"one", filename="a.txt"))
    number = await world.add_version(actor, file_id, file_part(PNG, "b.png", "image/png"))
    assert number == 2
    view = await world.view(file_id)
    assert (view.version, view.filename, view.content_type) == (2, "b.png", "image/png")
    first = await world.view(file_id, version=1)
    assert world.storage.blobs[first.storage_key] == b"one"


async def test_a_version_of_a_file_in_another_workspace_is_not_found(world: World) -> None:
    file_id = await world.upload(world.actor(workspace=world.other_workspace))
    with pytest.raises(FileNotFound):
        await world.add_version(world.actor(Role.ADMIN), file_id, file_part(b"x"))
    assert len(world.storage.blobs) == 1


async def test_a_member_cannot_add_a_version_to_anothers_file(world: World) -> None:
    file_id = await world.upload(world.actor())
    with pytest.raises(InsufficientRole):
        await world.add_version(world.actor(Role.MEMBER), file_id, file_part(b"mine now"))
    assert len(world.storage.blobs) == 1
    assert (await world.view(file_id)).version == 1


async def test_a_members_version_of_anothers_file_is_refused_before_the_body_is_read(
    world: World,
) -> None:
    file_id = await world.upload(world.actor())
    with pytest.raises(InsufficientRole):
        await world.request(
            world.version_adder().execute(
                AddFileVersion(actor=world.actor(Role.MEMBER), file_id=file_id, parts=never_read())
            )
        )
    assert len(world.storage.writes_started) == 1  # the first upload's only


async def test_an_admin_adds_a_version_to_anyones_file(world: World) -> None:
    file_id = await world.upload(world.actor())
    assert await world.add_version(world.actor(Role.ADMIN), file_id, file_part(b"v2")) == 2


async def test_a_version_with_two_file_parts_is_refused_and_leaves_nothing(
    world: World,
) -> None:
    actor = world.actor()
    file_id = await world.upload(actor)
    with pytest.raises(InvalidFileMetadata):
        await world.add_version(actor, file_id, file_part(b"a"), file_part(b"b"))
    assert len(world.storage.blobs) == 1
    assert (await world.view(file_id)).latest_version == 1


async def test_a_version_over_the_quota_is_refused(world: World) -> None:
    actor = world.actor()
    file_id = await world.upload(actor, file_part(b"x" * 900))
    for _ in range(4):
        await world.add_version(actor, file_id, file_part(b"x" * 900))
    with pytest.raises(StorageQuotaExceeded):
        await world.add_version(actor, file_id, file_part(b"x" * 900))
    assert (await world.view(file_id)).latest_version == 5
    assert len(world.storage.blobs) == 5


async def test_a_version_to_an_unknown_file_is_not_found(world: World) -> None:
    with pytest.raises(FileNotFound):
        await world.add_version(world.actor(), FileId(world.ids.new()), file_part(b"x"))
    assert world.storage.blobs == {}


# -- no connection held while the body streams ----------------------------------------


def watched_part(world: World, seen: list[int]) -> UploadPart:
    """A file part that notes how many times the unit of work was released
    when its bytes are read."""

    async def chunks() -> AsyncIterator[bytes]:
        seen.append(world.uow.releases)
        yield b"hello"

    return UploadPart(name="file", filename="notes.txt", content_type="text/plain", chunks=chunks())


async def test_an_upload_hands_the_connection_back_before_reading_the_body(
    world: World,
) -> None:
    seen: list[int] = []
    await world.upload(world.actor(), watched_part(world, seen))
    assert seen == [1]
    assert world.uow.commits == 1


async def test_a_new_version_hands_the_connection_back_before_reading_the_body(
    world: World,
) -> None:
    actor = world.actor()
    file_id = await world.upload(actor)
    seen: list[int] = []
    await world.add_version(actor, file_id, watched_part(world, seen))
    assert seen == [2]
    assert world.uow.commits == 2
