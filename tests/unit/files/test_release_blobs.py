"""Blob clean-up on the worker: released keys, a deleted workspace, strays."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.commands.files.release_blobs import STRAY_GRACE, ReleaseBlobs
from tests.unit.files.fakes import file_part
from tests.unit.files.world import World


@pytest.fixture
def world() -> World:
    return World()


async def test_released_keys_are_deleted(world: World) -> None:
    world.storage.put("ws/a", b"a", world.clock.now())
    world.storage.put("ws/b", b"b", world.clock.now())
    assert await world.release(ReleaseBlobs(keys=["ws/a"])) == 1
    assert set(world.storage.blobs) == {"ws/b"}


async def test_releasing_a_key_twice_is_harmless(world: World) -> None:
    world.storage.put("ws/a", b"a", world.clock.now())
    await world.release(ReleaseBlobs(keys=["ws/a"]))
    await world.release(ReleaseBlobs(keys=["ws/a"]))
    assert world.storage.blobs == {}


async def test_a_released_key_a_row_still_references_is_kept(world: World) -> None:
    file_id = await world.upload(world.actor())
    key = (await world.view(file_id)).storage_key
    assert await world.release(ReleaseBlobs(keys=[key])) == 0
    assert key in world.storage.blobs


async def test_a_deleted_workspaces_blobs_all_go_whatever_their_age(world: World) -> None:
    prefix = str(world.workspace)
    world.storage.put(f"{prefix}/old", b"o", world.clock.now() - timedelta(days=3))
    world.storage.put(f"{prefix}/new", b"n", world.clock.now())
    world.storage.put(f"{world.other_workspace}/kept", b"k", world.clock.now() - timedelta(days=3))
    assert await world.release(ReleaseBlobs(workspace_id=world.workspace)) == 2
    assert set(world.storage.blobs) == {f"{world.other_workspace}/kept"}


async def test_the_reconciler_removes_old_unreferenced_blobs(world: World) -> None:
    world.storage.put("ws/stray", b"s", world.clock.now() - STRAY_GRACE - timedelta(seconds=1))
    assert await world.release(ReleaseBlobs()) == 1
    assert world.storage.blobs == {}


async def test_the_reconciler_spares_blobs_young_enough_to_be_uploading(world: World) -> None:
    world.storage.put("ws/streaming", b"s", world.clock.now() - timedelta(minutes=5))
    assert await world.release(ReleaseBlobs()) == 0
    assert "ws/streaming" in world.storage.blobs


async def test_the_reconciler_keeps_old_blobs_that_rows_reference(world: World) -> None:
    file_id = await world.upload(world.actor(), file_part(b"kept"))
    world.clock.advance(days=2)
    assert await world.release(ReleaseBlobs()) == 0
    assert world.storage.blobs[(await world.view(file_id)).storage_key] == b"kept"


async def test_many_stray_blobs_are_all_removed(world: World) -> None:
    old = world.clock.now() - timedelta(days=1)
    for i in range(1_234):
        world.storage.put(f"ws/stray-{i}", b"", old)
    assert await world.release(ReleaseBlobs()) == 1_234
    assert world.storage.blobs == {}
