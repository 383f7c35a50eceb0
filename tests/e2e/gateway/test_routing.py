"""Routes as model names: fallbacks before the first byte, streamed or not,
errors after it as a final stream event, and every attempt accounted."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import httpx
import openai
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.gateway.conftest import Caller
from tests.e2e.gateway.test_compatible_sdks import usage_rows
from tests.fakes.llm_upstream import FakeUpstream, Step

pytestmark = pytest.mark.e2e


async def make_route(
    client: AsyncTestClient[Litestar], caller: Caller, name: str, *models: str, **extra: Any
) -> None:
    response = await client.post(
        "/api/v1/llm/routes",
        json={
            "name": name,
            "strategy": "priority",
            "targets": [{"model": m, "priority": i} for i, m in enumerate(models)],
            **extra,
        },
        headers=caller.user.in_(caller.workspace),
    )
    assert response.status_code == 201, response.text


def sse_events(body: str) -> list[tuple[str, Any]]:
    events, name = [], "message"
    for line in body.splitlines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            payload = line[6:]
            events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
            name = "message"
    return events


async def test_a_failing_target_falls_back_to_the_next(
    client: AsyncTestClient[Litestar],
    caller: Caller,
    upstream: FakeUpstream,
    engine: AsyncEngine,
) -> None:
    await make_route(client, caller, "smart", "openai/fb-primary", "anthropic/claude-fb")
    upstream.script("fb-primary", [Step.status(500), Step.status(500)])
    sdk = openai.AsyncOpenAI(base_url=caller.v1, api_key=caller.key, max_retries=0)
    completion = await sdk.chat.completions.create(
        model="smart", messages=[{"role": "user", "content": "fall back"}]
    )
    assert completion.choices[0].message.content == "echo: fall back"
    assert completion.model == "smart"
    [row] = await usage_rows(engine)
    assert row["route_name"] == "smart" and row["model"] == "anthropic/claude-fb"
    assert row["attempts"] == 3
    assert [a["error"] for a in row["fallback_path"]] == [
        "upstream_unavailable",
        "upstream_unavailable",
        None,
    ]


async def test_a_stream_falls_back_before_its_first_byte(
    client: AsyncTestClient[Litestar],
    caller: Caller,
    upstream: FakeUpstream,
    http: httpx.AsyncClient,
) -> None:
    await make_route(client, caller, "streamy", "openai/sfb-primary", "openai/sfb-second")
    upstream.script("sfb-primary", [Step.status(429, retry_after=30)])
    response = await http.post(
        "/v1/chat/completions",
        headers=caller.key_headers,
        json={"model": "streamy", "stream": True, "messages": [{"role": "user", "content": "a b"}]},
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    text = "".join(
        e[1]["choices"][0]["delta"].get("content") or ""
        for e in events
        if e[1] != "[DONE]" and e[1]["choices"]
    )
    assert text == "echo: a b"
    assert events[-1][1] == "[DONE]"
    assert [r.body["model"] for r in upstream.requests_to("/v1/chat/completions")] == [
        "sfb-primary",
        "sfb-second",
    ]


async def test_an_error_after_the_first_byte_is_the_streams_last_event(
    caller: Caller, upstream: FakeUpstream, http: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    upstream.script("drops", [Step.drop(after_chunks=2)])
    response = await http.post(
        "/api/v1/llm/chat",
        headers=caller.key_headers,
        json={
            "model": "openai/drops",
            "stream": True,
            "messages": [{"role": "user", "content": "one two three four"}],
        },
    )
    assert response.status_code == 200
    events = sse_events(response.text)
    assert events[0][0] == "chunk"
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "upstream_unavailable"
    [row] = await usage_rows(engine)
    assert row["status"] == "upstream_unavailable" and row["stream"] is True


async def test_a_request_error_does_not_fall_back(
    client: AsyncTestClient[Litestar],
    caller: Caller,
    upstream: FakeUpstream,
    http: httpx.AsyncClient,
) -> None:
    await make_route(client, caller, "strict", "openai/ctx-primary", "openai/ctx-second")
    upstream.script("ctx-primary", [Step.context_too_long()])
    response = await http.post(
        "/v1/chat/completions",
        headers=caller.key_headers,
        json={"model": "strict", "messages": [{"role": "user", "content": "long"}]},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"
    assert len(upstream.requests_to("/v1/chat/completions")) == 1


async def test_native_chat_answers_with_cost_and_attempts(
    caller: Caller, http: httpx.AsyncClient
) -> None:
    response = await http.post(
        "/api/v1/llm/chat",
        headers=caller.key_headers,
        json={"model": "openai/priced-model", "messages": [{"role": "user", "content": "a b c"}]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["content"] == "echo: a b c"
    assert body["model"] == "openai/priced-model"
    # 3 input tokens at 1 $/MTok + 4 output tokens at 2 $/MTok = 11 µ$
    assert body["cost_usd"] == "0.000011"
    assert body["attempts"] == [{"model": "openai/priced-model", "error": None}]
    unknown = await http.post(
        "/api/v1/llm/chat",
        headers=caller.key_headers,
        json={"model": "openai/some-new-model", "messages": [{"role": "user", "content": "x"}]},
    )
    assert unknown.status_code == 200
    assert unknown.json()["cost_usd"] is None  # unknown, never $0


async def test_native_chat_refuses_unknown_fields(caller: Caller, http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/v1/llm/chat",
        headers=caller.key_headers,
        json={"model": "openai/x", "messages": [{"role": "user", "content": "x"}], "n": 2},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_breaker_opens_and_fails_fast(
    caller: Caller, upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.script("flaky", [Step.status(500)] * 6)
    body = {"model": "openai/flaky", "messages": [{"role": "user", "content": "x"}]}
    statuses = [
        (await http.post("/v1/chat/completions", headers=caller.key_headers, json=body))
        for _ in range(3)
    ]
    # 2 attempts per call; the third failure opens the breaker during the second call
    assert [r.status_code for r in statuses] == [502, 503, 503]
    assert statuses[2].json()["error"]["code"] == "circuit_open"
    assert len(upstream.requests_to("/v1/chat/completions")) == 3


@pytest.mark.parametrize("stage", ["waiting", "before-first-chunk", "streaming"])
async def test_a_client_that_leaves_cancels_the_upstream_call(
    caller: Caller, upstream: FakeUpstream, engine: AsyncEngine, stage: str
) -> None:
    model = f"leaves-{stage}"
    stream = stage != "waiting"
    steps = {
        "waiting": Step.hang(30),
        "before-first-chunk": Step.stall(after_chunks=1, seconds=30),  # only the role chunk
        "streaming": Step.stall(after_chunks=3, seconds=30),  # some text, then nothing
    }
    upstream.script(model, [steps[stage]])
    body = {
        "model": f"openai/{model}",
        "stream": stream,
        "messages": [{"role": "user", "content": "wait for it"}],
    }
    async with httpx.AsyncClient(base_url=caller.url, timeout=20) as leaving:
        request = asyncio.ensure_future(
            leaving.post("/v1/chat/completions", headers=caller.key_headers, json=body)
        )
        for _ in range(100):
            if upstream.in_flight:
                break
            await asyncio.sleep(0.02)
        assert upstream.in_flight == 1
        request.cancel()  # the client goes away
        with contextlib.suppress(asyncio.CancelledError):
            await request
    for _ in range(100):
        if upstream.in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert upstream.in_flight == 0  # long before the provider's 30 s
    [row] = await usage_rows(engine)
    assert row["status"] == "client_closed"
