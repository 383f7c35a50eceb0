"""UpdateFile, RestoreVersion and DeleteFile with in-memory rows."""

from __future__ import annotations

import pytest

from application.commands.files.update_file import UpdateFile
from application.common.tenancy import WorkspaceActor
from domain.files.errors import FileNotFound, InvalidFileMetadata, VersionNotFound
from domain.files.file import BlobsReleased
from domain.files.ids import FileId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Role
from tests.unit.files.fakes import field_part, file_part
from tests.unit.files.world import World


@pytest.fixture
def world() -> World:
    return World()


async def uploaded(world: World, role: Role = Role.MEMBER) -> tuple[FileId, WorkspaceActor]:
    actor = world.actor(role)
    file_id = await world.upload(
        actor,
        file_part(b"v1", filename="first.txt"),
        field_part("category", "reports"),
        field_part("description", "Notes"),
        field_part("tags", "a,b"),
    )
    return file_id, actor


# -- update ---------------------------------------------------------------------------


async def test_an_update_changes_the_given_fields_only(world: World) -> None:
    file_id, actor = await uploaded(world)
    world.clock.advance(minutes=5)
    await world.update(UpdateFile(actor=actor, file_id=file_id, tags=["X, y", "z"]))
    view = await world.view(file_id)
    assert view.tags == ["x", "y", "z"]
    assert (view.category, view.description, view.filename) == ("reports", "Notes", "first.txt")
    assert view.updated_at == world.clock.now()


async def test_an_update_clears_category_and_description(world: World) -> None:
    file_id, actor = await uploaded(world)
    await world.update(
        UpdateFile(actor=actor, file_id=file_id, clear=frozenset({"category", "description"}))
    )
    view = await world.view(file_id)
    assert (view.category, view.description) == (None, None)


async def test_an_update_with_invalid_metadata_changes_nothing(world: World) -> None:
    file_id, actor = await uploaded(world)
    with pytest.raises(InvalidFileMetadata):
        await world.update(
            UpdateFile(actor=actor, file_id=file_id, description="ok", tags=["bad\x00"])
        )
    view = await world.view(file_id)
    assert (view.description, view.tags) == ("Notes", ["a", "b"])


async def test_a_member_cannot_update_anothers_file(world: World) -> None:
    file_id, _ = await uploaded(world)
    with pytest.raises(InsufficientRole):
        await world.update(
            UpdateFile(actor=world.actor(Role.MEMBER), file_id=file_id, description="mine")
        )
    assert (await world.view(file_id)).description == "Notes"


async def test_an_admin_updates_anyones_file(world: World) -> None:
    file_id, _ = await uploaded(world)
    await world.update(UpdateFile(actor=world.actor(Role.ADMIN), file_id=file_id, is_public=True))
    assert (await world.view(file_id)).is_public is True


async def test_a_viewer_cannot_update_even_the_file_they_would_own(world: World) -> None:
    file_id, actor = await uploaded(world)
    viewer = world.actor(Role.VIEWER, user=actor.user_id)
    with pytest.raises(InsufficientRole):
        await world.update(UpdateFile(actor=viewer, file_id=file_id, description="x"))


async def test_updating_a_file_of_another_workspace_is_not_found(world: World) -> None:
    file_id, _ = await uploaded(world)
    outsider = world.actor(Role.OWNER, workspace=world.other_workspace)
    with pytest.raises(FileNotFound):
        await world.update(UpdateFile(actor=outsider, file_id=file_id, description="x"))


# -- restore --------------------------------------------------------------------------


async def test_restoring_makes_the_earlier_version_current(world: World) -> None:
    file_id, actor = await uploaded(world)
    await world.add_version(actor, file_id, file_part(b"v2", filename="second.txt"))
    await world.restore(actor, file_id, 1)
    view = await world.view(file_id)
    assert (view.version, view.latest_version, view.filename) == (1, 2, "first.txt")
    assert world.storage.blobs[view.storage_key] == b"v1"


async def test_restoring_an_unknown_version_is_not_found(world: World) -> None:
    file_id, actor = await uploaded(world)
    with pytest.raises(VersionNotFound):
        await world.restore(actor, file_id, 9)


async def test_a_member_cannot_restore_anothers_file(world: World) -> None:
    file_id, actor = await uploaded(world)
    await world.add_version(actor, file_id, file_part(b"v2"))
    with pytest.raises(InsufficientRole):
        await world.restore(world.actor(Role.MEMBER), file_id, 1)
    assert (await world.view(file_id)).version == 2


# -- delete ---------------------------------------------------------------------------


async def test_deleting_removes_the_row_and_releases_every_blob(world: World) -> None:
    file_id, actor = await uploaded(world)
    await world.add_version(actor, file_id, file_part(b"v2"))
    keys = [
        (await world.view(file_id, version=1)).storage_key,
        (await world.view(file_id, version=2)).storage_key,
    ]
    world.uow.drain()
    await world.delete(actor, file_id)
    assert world.files.rows == {}
    assert world.uow.drain() == [BlobsReleased(keys=keys)]


async def test_deleting_leaves_the_blobs_to_the_worker(world: World) -> None:
    file_id, actor = await uploaded(world)
    await world.delete(actor, file_id)
    assert len(world.storage.blobs) == 1  # not yet: the released event deletes it


async def test_a_member_cannot_delete_anothers_file(world: World) -> None:
    file_id, _ = await uploaded(world)
    with pytest.raises(InsufficientRole):
        await world.delete(world.actor(Role.MEMBER), file_id)
    assert file_id in world.files.rows
    assert "files.blobs_released" not in world.uow.topics


async def test_deleting_an_unknown_file_is_not_found(world: World) -> None:
    with pytest.raises(FileNotFound):
        await world.delete(world.actor(Role.OWNER), FileId(world.ids.new()))
