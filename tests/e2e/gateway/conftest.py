"""The gateway served by a real HTTP server (uvicorn on loopback), its
operator endpoints pointing at the fake provider server, and a signed-in
account with an API key to call it with."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.cli.embedded import free_port
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.conftest import Servers, make_settings
from tests.e2e.conftest import Mailbox
from tests.e2e.tenancy_helpers import User, create_key, personal_workspace, signup
from tests.fakes.llm_upstream import FakeUpstream

UPSTREAM_OPENAI_KEY = "sk-upstream-openai-7f3a9c0d1e2b4a5c"
UPSTREAM_ANTHROPIC_KEY = "sk-ant-upstream-8e1d2c3b4a5f6e7d"
PRICED = "openai/priced-model"  # 1 $/MTok in, 2 $/MTok out (catalogue file below)


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture(scope="session")
def gateway_settings(
    servers: Servers, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    catalogue = tmp_path_factory.mktemp("llm") / "catalogue.json"
    catalogue.write_text(
        json.dumps({"models": {PRICED: {"input_per_mtok": 1.0, "output_per_mtok": 2.0}}})
    )
    return make_settings(
        servers,
        openai_base_url=upstream.openai_base_url,
        openai_api_key=UPSTREAM_OPENAI_KEY,
        anthropic_base_url=upstream.url,
        anthropic_api_key=UPSTREAM_ANTHROPIC_KEY,
        llm_catalogue_file=str(catalogue),
        llm_attempt_timeout_seconds=1.5,
        llm_request_deadline_seconds=6.0,
        llm_breaker_failure_threshold=3,
        llm_breaker_cooldown_seconds=0.5,
        llm_policy_cache_seconds=0.0,
        llm_usage_flush_seconds=0.05,
    )


@pytest.fixture(scope="session")
def gateway_app(gateway_settings: Settings) -> Litestar:
    return create_app(gateway_settings)


@asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port, for as long as the block runs."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="session")
async def gateway_url(gateway_app: Litestar) -> AsyncIterator[str]:
    async with served(gateway_app) as url:
        yield url


@dataclass
class Caller:
    user: User
    workspace: str
    key: str
    url: str

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    @property
    def key_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
async def caller(
    client: AsyncTestClient[Litestar], mailbox: Mailbox, gateway_url: str, upstream: FakeUpstream
) -> Caller:
    upstream.reset()
    user = await signup(client, mailbox, "gw@example.com")
    workspace = await personal_workspace(client, user)
    key = await create_key(client, user, workspace)
    return Caller(user=user, workspace=workspace, key=key["secret"], url=gateway_url)


@pytest.fixture
async def http(gateway_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=20) as client:
        yield client
