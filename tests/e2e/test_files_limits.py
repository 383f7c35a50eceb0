"""Upload size limit, workspace quota and interrupted uploads: refused with
nothing kept (no row, no blob), over a real streaming transport."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import Servers
from tests.e2e.files_helpers import (
    BASE_URL,
    FILES,
    MULTIPART_TAIL,
    MULTIPART_TYPE,
    UPLOAD,
    Account,
    account,
    blobs,
    count_rows,
    limited_settings,
    live_client,
    multipart,
    multipart_head,
    upload,
)
from tests.e2e.helpers import assert_problem

LIMIT = 4_096


@pytest.fixture
async def small_limit(
    servers: Servers, tmp_path: Path, clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = limited_settings(servers, tmp_path, file_max_upload_bytes=LIMIT)
    async with live_client(settings) as client:
        yield client


@pytest.fixture
async def small_quota(
    servers: Servers, tmp_path: Path, clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    settings = limited_settings(servers, tmp_path, file_workspace_quota_bytes=10_000)
    async with live_client(settings) as client:
        yield client


def chunked(*pieces: bytes, pulled: list[int] | None = None) -> AsyncIterator[bytes]:
    async def body() -> AsyncIterator[bytes]:
        for piece in pieces:
            if pulled is not None:
                pulled.append(len(piece))
            yield piece
            await asyncio.sleep(0)

    return body()


def upload_headers(user: Account, **extra: str) -> dict[str, str]:
    return {**user.auth, "Content-Type": MULTIPART_TYPE, **extra}


async def nothing_kept(engine: AsyncEngine, root: Path) -> None:
    assert await count_rows(engine, "files") == 0
    assert await count_rows(engine, "file_versions") == 0
    assert blobs(root) == []


# -- the size limit -------------------------------------------------------------------


async def test_a_file_at_the_size_limit_is_accepted(small_limit: httpx.AsyncClient) -> None:
    ada = await account(small_limit)
    response = await upload(small_limit, ada.auth, content=b"x" * LIMIT)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == LIMIT


async def test_a_file_over_the_limit_with_a_declared_length_is_413_and_nothing_kept(
    small_limit: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_limit)
    response = await upload(small_limit, ada.auth, content=b"x" * (LIMIT + 1))
    assert_problem(response, 413, "file_too_large")
    await nothing_kept(engine, tmp_path)


async def test_a_chunked_file_over_the_limit_is_413_and_nothing_kept(
    small_limit: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_limit)
    body = chunked(multipart_head(), *[b"x" * 1000] * 10, MULTIPART_TAIL)
    response = await small_limit.post(UPLOAD, content=body, headers=upload_headers(ada))
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "file_too_large")
    await nothing_kept(engine, tmp_path)


async def test_a_chunked_upload_is_stopped_soon_after_the_limit(
    small_limit: httpx.AsyncClient, tmp_path: Path
) -> None:
    ada = await account(small_limit)
    pulled: list[int] = []
    body = chunked(multipart_head(), *[b"x" * 1000] * 1000, MULTIPART_TAIL, pulled=pulled)
    response = await small_limit.post(UPLOAD, content=body, headers=upload_headers(ada))
    assert response.status_code == 413
    assert sum(pulled) < 20 * LIMIT  # not the whole megabyte
    assert blobs(tmp_path) == []


async def test_a_declared_length_far_over_the_limit_is_refused_before_reading(
    small_limit: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_limit)
    pulled: list[int] = []
    size = 3 << 20
    body = chunked(multipart_head(), b"x" * size, MULTIPART_TAIL, pulled=pulled)
    declared = len(multipart_head()) + size + len(MULTIPART_TAIL)
    response = await small_limit.post(
        UPLOAD, content=body, headers=upload_headers(ada, **{"Content-Length": str(declared)})
    )
    assert_problem(response, 413, "file_too_large")
    assert pulled == []
    await nothing_kept(engine, tmp_path)


# -- the workspace quota --------------------------------------------------------------


async def test_an_upload_over_the_workspace_quota_is_413_quota_exceeded(
    small_quota: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_quota)
    first = await upload(small_quota, ada.auth, content=b"a" * 6_000)
    assert first.status_code == 201, first.text

    response = await upload(small_quota, ada.auth, content=b"b" * 6_000)

    assert_problem(response, 413, "quota_exceeded")
    assert await count_rows(engine, "files") == 1
    assert len(blobs(tmp_path)) == 1


async def test_a_new_version_counts_towards_the_quota(
    small_quota: httpx.AsyncClient, tmp_path: Path
) -> None:
    ada = await account(small_quota)
    first = await upload(small_quota, ada.auth, content=b"a" * 6_000)
    response = await small_quota.post(
        f"/api/v1/files/{first.json()['id']}/versions",
        files={"file": ("notes.txt", b"b" * 6_000, "text/plain")},
        headers=ada.auth,
    )
    assert_problem(response, 413, "quota_exceeded")
    assert len(blobs(tmp_path)) == 1


async def test_the_quota_is_per_workspace(small_quota: httpx.AsyncClient) -> None:
    ada = await account(small_quota, "ada@example.com")
    bob = await account(small_quota, "bob@example.com")
    assert (await upload(small_quota, ada.auth, content=b"a" * 6_000)).status_code == 201
    assert (await upload(small_quota, bob.auth, content=b"b" * 6_000)).status_code == 201


async def test_two_concurrent_uploads_that_together_exceed_the_quota_one_succeeds(
    small_quota: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_quota)
    started: list[int] = []
    both_started = asyncio.Event()

    async def body(fill: bytes) -> AsyncIterator[bytes]:
        # By the time the body is read, the request has checked the room left
        # (10 000 bytes each): only the commit-time check can stop one of them.
        yield multipart_head(filename=f"{fill.decode()}.txt")
        started.append(1)
        if len(started) == 2:
            both_started.set()
        await asyncio.wait_for(both_started.wait(), 10)
        for _ in range(6):
            yield fill * 1_000
            await asyncio.sleep(0)
        yield MULTIPART_TAIL

    responses = await asyncio.gather(
        small_quota.post(UPLOAD, content=body(b"a"), headers=upload_headers(ada)),
        small_quota.post(UPLOAD, content=body(b"b"), headers=upload_headers(ada)),
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 413], [r.text for r in responses]
    [refused] = [r for r in responses if r.status_code == 413]
    assert_problem(refused, 413, "quota_exceeded")
    assert await count_rows(engine, "files") == 1
    assert len(blobs(tmp_path)) == 1


async def test_deleting_a_file_gives_its_bytes_back_to_the_quota(
    small_quota: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await account(small_quota)
    first = await upload(small_quota, ada.auth, content=b"a" * 6_000)
    assert (await upload(small_quota, ada.auth, content=b"b" * 6_000)).status_code == 413

    deleted = await small_quota.delete(f"{FILES}/{first.json()['id']}", headers=ada.auth)
    assert deleted.status_code == 204

    assert (await upload(small_quota, ada.auth, content=b"b" * 6_000)).status_code == 201
    assert await usage_counters(engine) == await version_sums(engine)


async def test_the_usage_counter_follows_every_version_added_and_removed(
    small_quota: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    ada = await account(small_quota, "ada@example.com")
    bob = await account(small_quota, "bob@example.com")
    kept = await upload(small_quota, ada.auth, content=b"a" * 1_000)
    dropped = await upload(small_quota, ada.auth, content=b"b" * 2_000)
    for size in (300, 40):
        added = await small_quota.post(
            f"{FILES}/{dropped.json()['id']}/versions",
            files={"file": ("notes.txt", b"c" * size, "text/plain")},
            headers=ada.auth,
        )
        assert added.status_code == 201, added.text
    restored = await small_quota.post(
        f"{FILES}/{dropped.json()['id']}/versions/1/restore", headers=ada.auth
    )
    assert restored.status_code == 200, restored.text
    assert (await upload(small_quota, bob.auth, content=b"d" * 5_000)).status_code == 201
    assert await usage_counters(engine) == {ada.email: 3_340, bob.email: 5_000}

    await small_quota.delete(f"{FILES}/{dropped.json()['id']}", headers=ada.auth)

    assert await usage_counters(engine) == {ada.email: 1_000, bob.email: 5_000}
    assert await usage_counters(engine) == await version_sums(engine)
    assert kept.status_code == 201


async def usage_counters(engine: AsyncEngine) -> dict[str, int]:
    """The triggers' counter per workspace, by its owner's email."""
    return await _by_owner(
        engine, "SELECT workspace_id, used_bytes AS bytes FROM workspace_file_usage"
    )


async def version_sums(engine: AsyncEngine) -> dict[str, int]:
    return await _by_owner(
        engine,
        "SELECT workspace_id, sum(size) AS bytes FROM file_versions GROUP BY workspace_id",
    )


async def _by_owner(engine: AsyncEngine, per_workspace: str) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                f"SELECT u.email, c.bytes FROM ({per_workspace}) c "  # noqa: S608
                "JOIN memberships m ON m.workspace_id = c.workspace_id AND m.role = 'owner' "
                "JOIN users u ON u.id = m.user_id"
            )
        )
        return {email: int(total) for email, total in rows}


# -- slow clients ---------------------------------------------------------------------


@pytest.fixture
async def two_connections(
    servers: Servers, tmp_path: Path, clean: None
) -> AsyncIterator[httpx.AsyncClient]:
    """A pool of one connection plus one overflow."""
    settings = limited_settings(servers, tmp_path, db_pool_size=1)
    async with live_client(settings) as client:
        yield client


async def test_uploads_waiting_on_slow_clients_hold_no_database_connection(
    two_connections: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Were each stalled upload to keep its pooled connection, the third would
    wait out the pool timeout, and so would every other request meanwhile."""
    ada = await account(two_connections)
    stalled, go_on = [], asyncio.Event()

    async def slow_body(name: str) -> AsyncIterator[bytes]:
        yield multipart_head(filename=f"{name}.txt")
        yield b"x" * 1_000
        stalled.append(name)
        await go_on.wait()
        yield b"y" * 1_000
        yield MULTIPART_TAIL

    uploads = [
        asyncio.create_task(
            two_connections.post(UPLOAD, content=slow_body(name), headers=upload_headers(ada))
        )
        for name in ("a", "b", "c", "d")
    ]
    async with asyncio.timeout(3):  # the pool would time out after 5 s
        while len(stalled) < len(uploads):
            await asyncio.sleep(0.01)
        listed = await two_connections.get(FILES, headers=ada.auth)
    assert listed.status_code == 200, listed.text

    go_on.set()
    answers = await asyncio.gather(*uploads)
    assert [r.status_code for r in answers] == [201] * 4, [r.text for r in answers]
    assert await count_rows(engine, "files") == 4


# -- interrupted uploads --------------------------------------------------------------


async def test_an_upload_whose_body_breaks_midway_leaves_nothing(
    small_quota: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_quota)

    async def broken() -> AsyncIterator[bytes]:
        yield multipart_head()
        yield b"x" * 3_000
        await asyncio.sleep(0)
        raise ConnectionResetError("the client went away")

    try:
        response = await small_quota.post(UPLOAD, content=broken(), headers=upload_headers(ada))
    except ConnectionResetError:
        pass  # the app let the failure through: the transport re-raises it
    else:
        assert response.status_code >= 400, response.text
    await nothing_kept(engine, tmp_path)


async def test_a_client_that_disconnects_midway_leaves_nothing(
    small_quota: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_quota)
    app: Any = small_quota._transport.app  # type: ignore[attr-defined]
    messages = [
        {"type": "http.request", "body": multipart_head(), "more_body": True},
        {"type": "http.request", "body": b"x" * 3_000, "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # pragma: no cover - never asked again
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": UPLOAD,
        "raw_path": UPLOAD.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (k.lower().encode(), v.encode())
            for k, v in {**upload_headers(ada), "host": BASE_URL.split("//")[1]}.items()
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
    }
    with contextlib.suppress(Exception):
        await asyncio.wait_for(app(scope, receive, send), 10)
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert all(status >= 400 for status in statuses), statuses
    await nothing_kept(engine, tmp_path)


async def test_a_multipart_body_cut_short_is_refused_and_nothing_kept(
    small_quota: httpx.AsyncClient, engine: AsyncEngine, tmp_path: Path
) -> None:
    ada = await account(small_quota)
    truncated = multipart(b"x" * 3_000)[: -len(MULTIPART_TAIL) - 10]
    response = await small_quota.post(UPLOAD, content=truncated, headers=upload_headers(ada))
    assert 400 <= response.status_code < 500, response.text
    await nothing_kept(engine, tmp_path)
