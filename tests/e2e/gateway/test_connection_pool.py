"""Gateway calls hold no database connection while they wait on a provider.

A request that kept its pooled connection through the upstream call, while
the gateway's own reads (policy, routes, credentials) took another, would
deadlock once as many calls were in flight as the pool has connections: the
benchmark's 64 streamed connections once stalled exactly so. Here the pool
has two connections and the caches are off, so every call reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from msgspec.structs import replace

from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.e2e.gateway.conftest import Caller, served
from tests.fakes.llm_upstream import FakeUpstream, Step

CALLS = 12
MODEL = "openai/gpt-4o-mini"


@pytest.fixture
async def small_pool_url(gateway_settings: Settings) -> AsyncIterator[str]:
    settings = replace(gateway_settings, db_pool_size=1, api_key_cache_seconds=0.0)
    async with served(create_app(settings)) as url:
        yield url


async def test_more_calls_in_flight_than_pooled_connections_all_finish(
    caller: Caller, upstream: FakeUpstream, small_pool_url: str
) -> None:
    upstream.script(MODEL, [Step.slow(0.2)] * CALLS)
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}

    async def call(client: httpx.AsyncClient, stream: bool) -> tuple[int, str]:
        response = await client.post(
            "/v1/chat/completions",
            json={**body, "stream": stream},
            headers=caller.key_headers,
        )
        return response.status_code, response.text

    async with httpx.AsyncClient(base_url=small_pool_url, timeout=20) as client:
        answers = await asyncio.wait_for(
            asyncio.gather(*(call(client, stream=i % 2 == 0) for i in range(CALLS))), 15
        )
    assert [status for status, _ in answers] == [200] * CALLS, answers
    streamed = [text for i, (_, text) in enumerate(answers) if i % 2 == 0]
    assert all(text.rstrip().endswith("data: [DONE]") for text in streamed)
