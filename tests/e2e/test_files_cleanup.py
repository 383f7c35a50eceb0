"""Blobs leave the disk through the worker: a deleted file's versions, a
deleted workspace's files, and strays the hourly reconciler finds."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from arq.worker import Worker
from dishka import AsyncContainer
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from application.commands.files.release_blobs import STRAY_GRACE, ReleaseBlobs, ReleaseBlobsHandler
from entrypoints.config import Settings
from entrypoints.ioc.container import build_container
from entrypoints.ioc.infrastructure import JobOriginProvider
from entrypoints.worker.settings import reconcile_blobs
from tests.conftest import Servers
from tests.e2e.api_process import api_process
from tests.e2e.conftest import Mailbox
from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    UPLOAD,
    account,
    add_version,
    blobs,
    count_rows,
    eventually,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    storage_keys,
    uploaded,
)
from tests.e2e.tenancy_helpers import WORKSPACES, create_workspace, signup

Client = AsyncTestClient[Litestar]
OLD = time.time() - STRAY_GRACE.total_seconds() - 600


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[AsyncContainer]:
    container = build_container(settings, JobOriginProvider())
    yield container
    await container.close()


def stray(root: Path, workspace: str | None = None, *, mtime: float = OLD) -> Path:
    """A blob no row references, written straight into the storage directory."""
    path = root / (workspace or str(uuid.uuid4())) / str(uuid.uuid4())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left behind by a killed upload")
    os.utime(path, (mtime, mtime))
    return path


def age(path: Path) -> None:
    os.utime(path, (OLD, OLD))


# -- a deleted file -------------------------------------------------------------------


async def test_a_deleted_files_blobs_are_removed_by_the_worker(
    client: Client, worker: Worker, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    made = await uploaded(client, ada.auth)
    await add_version(client, ada.auth, made["id"], b"second")
    paths = [storage_root / key for key in await storage_keys(engine, made["id"])]
    assert len(paths) == 2
    assert all(p.exists() for p in paths)

    response = await client.delete(f"{FILES}/{made['id']}", headers=ada.auth)

    assert response.status_code == 204
    await eventually(lambda: not any(p.exists() for p in paths), what="blobs deleted")


async def test_deleting_a_file_leaves_other_files_blobs(
    client: Client, worker: Worker, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    gone = await uploaded(client, ada.auth, content=b"gone")
    kept = await uploaded(client, ada.auth, content=b"kept")
    gone_path = storage_root / (await storage_keys(engine, gone["id"]))[0]
    kept_path = storage_root / (await storage_keys(engine, kept["id"]))[0]

    await client.delete(f"{FILES}/{gone['id']}", headers=ada.auth)

    await eventually(lambda: not gone_path.exists(), what="the deleted file's blob removed")
    assert kept_path.read_bytes() == b"kept"


# -- a deleted workspace --------------------------------------------------------------


async def test_deleting_a_workspace_removes_its_file_rows_at_once(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    owner = await signup(client, mailbox, "owner@example.com")
    workspace = await create_workspace(client, owner, "Doomed")
    for _ in range(2):
        await uploaded(client, owner.in_(workspace))

    response = await client.delete(f"{WORKSPACES}/{workspace}", headers=owner.auth)

    assert response.status_code == 204, response.text
    assert await count_rows(engine, "files", workspace_id=workspace) == 0
    assert await count_rows(engine, "file_versions", workspace_id=workspace) == 0


async def test_deleting_a_workspace_removes_its_blobs_through_the_worker(
    client: Client, mailbox: Mailbox, engine: AsyncEngine, storage_root: Path
) -> None:
    owner = await signup(client, mailbox, "owner@example.com")
    workspace = await create_workspace(client, owner, "Doomed")
    made = await uploaded(client, owner.in_(workspace))
    await add_version(client, owner.in_(workspace), made["id"], b"second")
    personal = await uploaded(client, owner.auth, content=b"personal")
    personal_path = storage_root / (await storage_keys(engine, personal["id"]))[0]
    assert len(list((storage_root / workspace).iterdir())) == 2

    await client.delete(f"{WORKSPACES}/{workspace}", headers=owner.auth)

    await eventually(
        lambda: not any(p.is_file() for p in (storage_root / workspace).rglob("*")),
        what="the workspace's blobs removed",
    )
    assert personal_path.read_bytes() == b"personal"


# -- the reconciler -------------------------------------------------------------------


async def test_the_reconciler_removes_an_old_stray_blob(
    client: Client, container: AsyncContainer, storage_root: Path
) -> None:
    path = stray(storage_root)
    removed = await reconcile_blobs({"container": container})
    assert removed == 1
    assert not path.exists()


async def test_the_reconciler_spares_a_blob_young_enough_to_be_an_upload_in_progress(
    client: Client, container: AsyncContainer, storage_root: Path
) -> None:
    path = stray(storage_root, mtime=time.time() - 60)
    assert await reconcile_blobs({"container": container}) == 0
    assert path.exists()


async def test_the_reconciler_keeps_old_blobs_that_rows_reference(
    client: Client, container: AsyncContainer, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    made = await uploaded(client, ada.auth, content=b"still wanted")
    path = storage_root / (await storage_keys(engine, made["id"]))[0]
    age(path)

    assert await reconcile_blobs({"container": container}) == 0

    assert path.read_bytes() == b"still wanted"


async def test_the_reconciler_removes_a_stray_beside_a_referenced_blob(
    client: Client, container: AsyncContainer, engine: AsyncEngine, storage_root: Path
) -> None:
    ada = await account(client)
    made = await uploaded(client, ada.auth)
    key = (await storage_keys(engine, made["id"]))[0]
    workspace = key.split("/")[0]
    age(storage_root / key)
    left = stray(storage_root, workspace)

    await reconcile_blobs({"container": container})

    assert not left.exists()
    assert (storage_root / key).exists()


async def test_releasing_blobs_through_the_app_container_is_idempotent(
    client: Client, container: AsyncContainer, storage_root: Path
) -> None:
    path = stray(storage_root)
    key = path.relative_to(storage_root).as_posix()
    for _ in range(2):  # an event delivered twice: the second finds nothing, and is fine
        async with container() as request:
            handler = await request.get(ReleaseBlobsHandler)
            await handler.execute(ReleaseBlobs(keys=[key]))
    assert not path.exists()


# -- an upload whose process is killed ------------------------------------------------


async def test_an_upload_killed_with_its_process_leaves_nothing_once_reconciled(
    client: Client,
    container: AsyncContainer,
    engine: AsyncEngine,
    servers: Servers,
    settings: Settings,
    storage_root: Path,
) -> None:
    ada = await account(client)
    boundary = "killed-upload-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.zip"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    sent_enough, killed = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield head + b"PK\x03\x04" + os.urandom(64 * 1024)
        for _ in range(48):  # 3 MiB, then the body stalls: the upload is in progress
            yield os.urandom(64 * 1024)
        sent_enough.set()
        await killed.wait()
        yield os.urandom(64 * 1024)  # into a closed connection
        yield f"\r\n--{boundary}--\r\n".encode()

    with api_process(servers, settings, FILE_STORAGE_DIR=str(storage_root)) as (url, process):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            uploading = asyncio.create_task(
                http.post(
                    UPLOAD,
                    content=body(),
                    headers={
                        **ada.auth,
                        "Content-Type": f"multipart/form-data; boundary={boundary}",
                    },
                )
            )
            await sent_enough.wait()
            await eventually(lambda: any(p.stat().st_size >= 1 << 20 for p in blobs(storage_root)))
            process.kill()
            process.wait(10)
            killed.set()
            with pytest.raises(httpx.TransportError):
                await uploading

    [left] = blobs(storage_root)  # the process died mid-write: its partial file remains
    assert await count_rows(engine, "file_versions") == 0
    assert await reconcile_blobs({"container": container}) == 0  # too young: maybe in progress
    age(left)

    assert await reconcile_blobs({"container": container}) == 1

    assert blobs(storage_root) == []
