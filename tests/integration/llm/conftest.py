"""The fake provider server (one per session, reset per test) and the clients
over each HTTP transport the gateway can use (the SDKs over aiohttp or httpx,
and the direct aiohttp path)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from adapters.llm.clients import LlmClients, Transport
from adapters.llm.provider_model import ProviderChatModel
from application.ports.llm import Endpoint
from domain.llm.models import Provider
from tests.fakes.llm_upstream import FakeUpstream

OPENAI_KEY = "sk-test-openai-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    with FakeUpstream() as server:
        yield server


@pytest.fixture
def fake(upstream: FakeUpstream) -> FakeUpstream:
    upstream.reset()
    return upstream


@pytest.fixture(params=["aiohttp", "httpx", "direct"])
async def clients(request: pytest.FixtureRequest) -> AsyncIterator[LlmClients]:
    transport: Transport = request.param
    pool = LlmClients(transport=transport)
    yield pool
    await pool.aclose()


@pytest.fixture
def model(clients: LlmClients) -> ProviderChatModel:
    return ProviderChatModel(clients, default_max_tokens=1024)


@pytest.fixture
def openai_endpoint(fake: FakeUpstream) -> Endpoint:
    return Endpoint(provider=Provider.OPENAI, base_url=fake.openai_base_url, api_key=OPENAI_KEY)


@pytest.fixture
def anthropic_endpoint(fake: FakeUpstream) -> Endpoint:
    return Endpoint(provider=Provider.ANTHROPIC, base_url=fake.url, api_key=ANTHROPIC_KEY)
