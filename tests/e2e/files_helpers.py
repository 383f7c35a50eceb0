"""What the files e2e tests share.

Each test module that imports the fixtures below gets its own app whose blobs
go to a temporary directory (emptied before every test), so a test can look
at what is on disk. Import them with::

    from tests.e2e.files_helpers import (  # noqa: F401
        files_app, files_client, files_settings, files_storage_root,
    )

They override ``settings``/``app``/``client`` from the e2e conftest, so the
``worker`` and ``mailbox`` fixtures use the same storage directory too.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.conftest import Servers, make_settings
from tests.e2e.conftest import bearer
from tests.e2e.helpers import login, register

Client = AsyncTestClient[Litestar] | httpx.AsyncClient

FILES = "/api/v1/files"
UPLOAD = f"{FILES}/upload"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
BASE_URL = "http://testserver.local"


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module", name="storage_root")
def files_storage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blobs")


@pytest.fixture(scope="module", name="settings")
def files_settings(servers: Servers, storage_root: Path) -> Settings:
    return make_settings(servers, file_storage_dir=str(storage_root))


@pytest.fixture(scope="module", name="app")
def files_app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture(name="client")
async def files_client(
    app: Litestar, clean: None, storage_root: Path
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    empty(storage_root)
    async with AsyncTestClient(app, base_url=BASE_URL) as client:
        yield client


def empty(directory: Path) -> None:
    for child in directory.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()


@contextlib.asynccontextmanager
async def live_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An app built from ``settings``, served in this event loop: request bodies
    really stream (an async generator is sent chunk by chunk) and concurrent
    requests interleave."""
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=30
        ) as client:
            yield client
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[misc]


def limited_settings(servers: Servers, storage_root: Path, **overrides: object) -> Settings:
    return make_settings(servers, file_storage_dir=str(storage_root), **overrides)


# -- accounts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return dict(bearer(self.token))

    def in_(self, workspace: str) -> dict[str, str]:
        return {**self.auth, "X-Workspace-Id": workspace}


async def account(client: Client, email: str = "ada@example.com") -> Account:
    """Registered and signed in; acts in its personal workspace (no worker needed)."""
    created = await register(client, email)
    tokens = await login(client, email)
    return Account(str(created["id"]), email, str(tokens["access_token"]))


# -- uploads --------------------------------------------------------------------------


async def upload(
    client: Client,
    headers: dict[str, str],
    content: bytes = b"hello world\n",
    filename: str = "notes.txt",
    content_type: str = "text/plain",
    **fields: str | list[str],
) -> httpx.Response:
    return await client.post(
        UPLOAD,
        files={"file": (filename, content, content_type)},
        data=fields,
        headers=headers,
    )


async def uploaded(client: Client, headers: dict[str, str], **kw: Any) -> dict[str, Any]:
    response = await upload(client, headers, **kw)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def add_version(
    client: Client,
    headers: dict[str, str],
    file_id: str,
    content: bytes,
    filename: str = "notes.txt",
    content_type: str = "text/plain",
) -> httpx.Response:
    return await client.post(
        f"{FILES}/{file_id}/versions",
        files={"file": (filename, content, content_type)},
        headers=headers,
    )


BOUNDARY = "----synapscale-test-boundary-7f3a"


def multipart_head(
    filename: str = "big.txt", content_type: str = "text/plain", **fields: str
) -> bytes:
    """The start of a multipart body: the fields, then a file part's headers."""
    out = b""
    for name, value in fields.items():
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    out += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    return out


MULTIPART_TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def multipart(
    content: bytes, filename: str = "big.txt", content_type: str = "text/plain", **fields: str
) -> bytes:
    return multipart_head(filename, content_type, **fields) + content + MULTIPART_TAIL


# -- downloads ------------------------------------------------------------------------


def local(url: str) -> str:
    """A link the API made, as a path the test client can fetch."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def content_url(file_id: str, query: dict[str, str]) -> str:
    return f"{FILES}/{file_id}/content?{urlencode(query)}"


async def download_link(
    client: Client, headers: dict[str, str], file_id: str, version: int | None = None
) -> str:
    params = {"version": version} if version is not None else {}
    response = await client.get(f"{FILES}/{file_id}/download", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["url"])


async def download(
    client: Client, auth: dict[str, str], file_id: str, version: int | None = None, **kw: Any
) -> httpx.Response:
    """Ask for a link with ``auth``, then fetch it (``kw`` go to that fetch)."""
    return await client.get(local(await download_link(client, auth, file_id, version)), **kw)


# -- what is stored -------------------------------------------------------------------


def blobs(root: Path) -> list[Path]:
    """Every file under the storage root, finished or partial."""
    return sorted(p for p in root.rglob("*") if p.is_file())


async def count_rows(engine: AsyncEngine, table: str, **where: Any) -> int:
    assert table in {"files", "file_versions"}
    condition = " AND ".join(f"{column} = :{column}" for column in where) or "true"
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {condition}"),  # noqa: S608
                    {k: uuid.UUID(v) if isinstance(v, str) else v for k, v in where.items()},
                )
            ).scalar_one()
        )


async def storage_keys(engine: AsyncEngine, file_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT storage_key FROM file_versions WHERE file_id = :id ORDER BY number"),
            {"id": uuid.UUID(file_id)},
        )
        return [row[0] for row in rows]


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], *, timeout: float = 10.0, what: str = ""
) -> None:
    """Wait (letting the worker run) until ``check`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def nothing_new_outside(root: Path, base: Path) -> Iterator[None]:
    """Asserts that no file appears under ``base`` except inside ``root``."""

    def outside() -> set[Path]:
        return {p for p in base.rglob("*") if p.is_file() and not p.is_relative_to(root)}

    before = outside()
    yield
    assert outside() - before == set()
