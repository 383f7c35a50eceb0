"""The official openai and anthropic SDKs, unchanged, against the gateway's
``/v1`` — for models of either provider."""

from __future__ import annotations

import asyncio
import base64
import struct

import anthropic
import httpx
import openai
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.gateway.conftest import UPSTREAM_ANTHROPIC_KEY, UPSTREAM_OPENAI_KEY, Caller
from tests.fakes.llm_upstream import FakeUpstream, Step

pytestmark = pytest.mark.e2e


def openai_client(caller: Caller) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=caller.v1, api_key=caller.key, max_retries=0)


def anthropic_client(caller: Caller) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=caller.url, api_key=caller.key, max_retries=0)


async def usage_rows(engine: AsyncEngine, count: int = 1) -> list[dict[str, object]]:
    """The usage records, once the buffered writer has flushed ``count`` of them."""
    for _ in range(200):
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM llm_usage ORDER BY created_at"))).all()
        if len(rows) >= count:
            return [dict(row._mapping) for row in rows]
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} usage records, found {len(rows)}")


async def test_openai_sdk_chat_reaches_the_provider_with_the_operators_key(
    caller: Caller, upstream: FakeUpstream, engine: AsyncEngine
) -> None:
    sdk = openai_client(caller)
    raw = await sdk.chat.completions.with_raw_response.create(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "echo: hello there"
    assert completion.model == "openai/gpt-4o-mini"
    assert completion.usage is not None and completion.usage.prompt_tokens == 2
    assert raw.headers["x-request-id"]
    assert float(raw.headers["x-gateway-overhead-ms"]) >= 0
    sent = upstream.last
    assert sent.body["model"] == "gpt-4o-mini"
    assert sent.headers["authorization"] == f"Bearer {UPSTREAM_OPENAI_KEY}"
    [row] = await usage_rows(engine)
    assert row["model"] == "openai/gpt-4o-mini" and row["status"] == "ok"
    assert row["input_tokens"] == 2 and row["output_tokens"] == 3
    assert row["cost_micros"] is not None and row["cost_micros"] > 0  # a priced model
    assert row["workspace_id"] is not None and row["api_key_id"] is not None


async def test_openai_sdk_streams_a_claude_model_with_usage(
    caller: Caller, upstream: FakeUpstream
) -> None:
    sdk = openai_client(caller)
    stream = await sdk.chat.completions.create(
        model="anthropic/claude-sonnet-4-5",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text_parts, usage = [], None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            text_parts.append(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    assert "".join(text_parts) == "echo: one two three"
    assert usage is not None and usage.completion_tokens == 4
    assert upstream.last.path == "/v1/messages"
    assert upstream.last.headers.get("authorization", "").endswith(UPSTREAM_ANTHROPIC_KEY)


async def test_openai_sdk_tool_calls_round_trip(caller: Caller) -> None:
    sdk = openai_client(caller)
    tools = [
        {
            "type": "function",
            "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}},
        }
    ]
    first = await sdk.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[{"role": "user", "content": "please call lookup"}],
        tools=tools,  # type: ignore[arg-type]
    )
    call = first.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert first.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "lookup"  # type: ignore[union-attr]
    second = await sdk.chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=[
            {"role": "user", "content": "please call lookup"},
            first.choices[0].message.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"role": "tool", "tool_call_id": call.id, "content": "found it"},
        ],
        tools=tools,  # type: ignore[arg-type]
    )
    assert second.choices[0].message.content == "echo: found it"


async def test_anthropic_sdk_messages_for_an_openai_model(caller: Caller) -> None:
    sdk = anthropic_client(caller)
    message = await sdk.messages.create(
        model="openai/gpt-4o-mini",
        max_tokens=64,
        messages=[{"role": "user", "content": "hi claude"}],
    )
    assert message.content[0].text == "echo: hi claude"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 3


async def test_anthropic_sdk_streams_with_x_api_key(caller: Caller) -> None:
    async with httpx.AsyncClient() as plain:  # x-api-key, as older anthropic clients send it
        response = await plain.post(
            f"{caller.v1}/messages",
            headers={"x-api-key": caller.key, "anthropic-version": "2023-06-01"},
            json={
                "model": "anthropic/claude-sonnet-4-5",
                "max_tokens": 64,
                "stream": True,
                "messages": [{"role": "user", "content": "stream me"}],
            },
        )
    assert response.status_code == 200
    events = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events
    sdk = anthropic_client(caller)
    async with sdk.messages.stream(
        model="anthropic/claude-sonnet-4-5",
        max_tokens=64,
        messages=[{"role": "user", "content": "stream me"}],
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].text == "echo: stream me"  # type: ignore[union-attr]


async def test_embeddings_in_the_sdks_default_base64(caller: Caller) -> None:
    sdk = openai_client(caller)
    result = await sdk.embeddings.create(
        model="openai/text-embedding-3-small", input=["alpha", "beta gamma"]
    )
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == 8
    assert all(0 <= x < 1 for x in result.data[1].embedding)
    assert result.usage.prompt_tokens == 3
    raw = await sdk.embeddings.with_raw_response.create(
        model="openai/text-embedding-3-small", input="alpha", encoding_format="base64"
    )
    encoded = raw.http_response.json()["data"][0]["embedding"]
    floats = struct.unpack("<8f", base64.b64decode(encoded))
    assert floats == pytest.approx(result.data[0].embedding, rel=1e-6)


async def test_errors_come_in_the_dialects_shape(caller: Caller) -> None:
    sdk = openai_client(caller)
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.chat.completions.create(
            model="no-such-route", messages=[{"role": "user", "content": "x"}]
        )
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        await sdk.chat.completions.create(model="openai/gpt-4o-mini", messages=[])
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(
            base_url=caller.v1, api_key="sk-ss-" + "x" * 50, max_retries=0
        ).chat.completions.create(
            model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    with pytest.raises(anthropic.NotFoundError):
        await anthropic_client(caller).messages.create(
            model="nope", max_tokens=8, messages=[{"role": "user", "content": "x"}]
        )


async def test_models_lists_what_the_workspace_can_call(caller: Caller) -> None:
    models = await openai_client(caller).models.list()
    ids = {m.id for m in models.data}
    assert "openai/gpt-4o-mini" in ids
    assert any(i.startswith("anthropic/claude") for i in ids)


async def test_the_provider_key_never_reaches_the_caller(
    caller: Caller, upstream: FakeUpstream, http: httpx.AsyncClient
) -> None:
    upstream.script("gpt-4o-mini", [Step.unauthorized()])
    response = await http.post(
        "/v1/chat/completions",
        headers=caller.key_headers,
        json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "provider_authentication_failed"
    assert UPSTREAM_OPENAI_KEY not in response.text
    assert UPSTREAM_OPENAI_KEY[-8:] not in response.text
