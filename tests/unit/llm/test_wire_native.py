"""The native dialect: strict request, response and SSE events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import TestClient
from openai._streaming import SSEDecoder

from domain.common.errors import DomainError, InvalidInput
from domain.llm.chat import (
    ChatChunk,
    ChatResponse,
    ImagePart,
    ResponseFormat,
    Role,
    StopReason,
    TextPart,
    Tool,
    ToolCall,
    ToolCallDelta,
    ToolChoice,
    Usage,
)
from domain.llm.errors import (
    BudgetExceeded,
    CircuitOpen,
    ContextTooLong,
    ModelNotFound,
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from domain.llm.models import ModelName, Provider
from domain.llm.usage import Attempt, UsageRecord
from domain.tenancy.ids import WorkspaceId
from entrypoints.http.errors import EXCEPTION_HANDLERS, status_of
from entrypoints.http.llm.wire_native import (
    ChatIn,
    encode_error_event,
    encode_result,
    retry_after,
    stream_events,
    to_domain,
    usd,
)


def decode(body: dict[str, Any]) -> ChatIn:
    return msgspec.json.decode(json.dumps(body).encode(), type=ChatIn)


USER = [{"role": "user", "content": "hi"}]

# ---------------------------------------------------------------------------
# Request


def test_a_full_request_maps_to_the_domain() -> None:
    request = to_domain(
        decode(
            {
                "model": "anthropic/claude-sonnet-4-5",
                "messages": [
                    {"role": "system", "content": "Be terse."},
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What is it?"},
                            {
                                "type": "image_url",
                                "url": "data:image/png;base64,AA",
                                "detail": "high",
                            },
                        ],
                        "name": "ana",
                    },
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"id": "c1", "name": "look", "arguments": '{"q":1}'}],
                    },
                    {"role": "tool", "content": "found", "tool_call_id": "c1"},
                ],
                "temperature": 0,
                "top_p": 1,
                "max_tokens": 100,
                "stop": ["END"],
                "tools": [
                    {"name": "look", "description": "Look.", "parameters": {"type": "object"}}
                ],
                "tool_choice": {"name": "look"},
                "response_format": {
                    "type": "json_schema",
                    "schema": {"type": "object"},
                    "name": "a",
                },
                "stream": True,
            }
        )
    )
    assert request.model == "anthropic/claude-sonnet-4-5"
    assert [m.role for m in request.messages] == [
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
    ]
    assert request.messages[1].content == (
        TextPart("What is it?"),
        ImagePart("data:image/png;base64,AA", "high"),
    )
    assert request.messages[1].name == "ana"
    assert request.messages[2].tool_calls == (ToolCall(id="c1", name="look", arguments='{"q":1}'),)
    assert request.messages[3].tool_call_id == "c1"
    assert (request.temperature, request.top_p, request.max_tokens) == (0, 1, 100)
    assert request.stop == ("END",)
    assert request.tools == (Tool(name="look", description="Look.", parameters={"type": "object"}),)
    assert request.tool_choice == ToolChoice(mode="tool", name="look")
    assert request.response_format == ResponseFormat(
        kind="json_schema", schema={"type": "object"}, name="a"
    )
    assert request.stream is True


def test_minimal_request_defaults() -> None:
    request = to_domain(
        decode({"model": "m", "messages": USER, "stop": "x", "tool_choice": "none"})
    )
    assert request.stop == ("x",)
    assert request.tool_choice == ToolChoice(mode="none")
    assert request.stream is False
    assert request.response_format is None


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "messages": USER, "seed": 1},
        {"model": "m", "messages": [{"role": "user", "content": "x", "extra": 1}]},
        {"model": "m", "messages": []},
        {"model": "m", "messages": USER * 10_001},
        {"model": "", "messages": USER},
        {"model": "m", "messages": [{"role": "developer", "content": "x"}]},
        {"model": "m", "messages": USER, "temperature": 2.5},
        {"model": "m", "messages": USER, "temperature": -0.1},
        {"model": "m", "messages": USER, "top_p": 1.1},
        {"model": "m", "messages": USER, "max_tokens": 0},
        {"model": "m", "messages": USER, "stop": ["a"] * 17},
        {"model": "m", "messages": USER, "tool_choice": "maybe"},
        {"model": "m", "messages": USER, "response_format": {"type": "yaml"}},
        {"model": "m", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
        {"model": "m", "messages": USER, "tools": [{"name": "f", "strict": True}]},
    ],
)
def test_the_request_is_strict(body: dict[str, Any]) -> None:
    with pytest.raises(msgspec.ValidationError):
        decode(body)


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        (
            {"model": "m", "messages": USER, "response_format": {"type": "json_schema"}},
            "response_format.schema",
        ),
        ({"model": "m", "messages": USER, "tool_choice": {"name": "f"}}, "tool_choice.name"),
        ({"model": "m", "messages": USER, "tool_choice": "required"}, "tool_choice"),
        (
            {"model": "m", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0].tool_call_id",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "user", "content": "x", "tool_calls": [{"id": "a", "name": "b"}]}
                ],
            },
            "messages[0].tool_calls",
        ),
        (
            {
                "model": "m",
                "messages": [
                    {"role": "system", "content": [{"type": "image_url", "url": "https://x"}]}
                ],
            },
            "messages[0].content",
        ),
    ],
)
def test_rules_beyond_the_schema_are_invalid_input(body: dict[str, Any], field_name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        to_domain(decode(body))
    assert caught.value.field == field_name


@post("/chat", sync_to_thread=False)
def chat(data: JSONBody[ChatIn]) -> dict[str, int]:
    return {"messages": len(to_domain(data).messages)}


@pytest.fixture(scope="module")
def app_client() -> Any:
    with TestClient(Litestar([chat], exception_handlers=EXCEPTION_HANDLERS)) as client:
        yield client


def test_litestar_answers_422_with_the_field_path(app_client: Any) -> None:
    ok = app_client.post("/chat", json={"model": "m", "messages": USER})
    assert (ok.status_code, ok.json()) == (201, {"messages": 1})

    unknown = app_client.post("/chat", json={"model": "m", "messages": USER, "seed": 1})
    assert unknown.status_code == 422
    assert [e["field"] for e in unknown.json()["errors"]] == ["seed"]

    hot = app_client.post("/chat", json={"model": "m", "messages": USER, "temperature": 9})
    assert hot.status_code == 422
    assert [e["field"] for e in hot.json()["errors"]] == ["temperature"]

    rule = app_client.post(
        "/chat", json={"model": "m", "messages": USER, "response_format": {"type": "json_schema"}}
    )
    assert rule.status_code == 422
    assert rule.json()["errors"][0]["field"] == "response_format.schema"


def test_the_request_schema_renders_in_openapi(app_client: Any) -> None:
    schema = app_client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "ChatIn" in json.dumps(schema.json()["components"]["schemas"])


# ---------------------------------------------------------------------------
# Response


def record(**overrides: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "workspace_id": WorkspaceId(uuid.uuid4()),
        "api_key_id": None,
        "user_id": None,
        "route_id": None,
        "route_name": "fast",
        "requested_model": "fast",
        "model": "openai/gpt-4o-mini",
        "provider": "openai",
        "endpoint": "chat",
        "stream": False,
        "attempts": (
            Attempt(model="anthropic/claude-haiku-4-5", error="overloaded"),
            Attempt(model="openai/gpt-4o-mini", error=None),
        ),
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_tokens": 2,
        "cost_micros": 1_234,
        "latency_ms": 321,
        "ttft_ms": None,
        "status": "ok",
        "request_id": None,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return UsageRecord(**(values | overrides))


@dataclass
class Result:
    response: ChatResponse
    model: ModelName
    record: UsageRecord


def test_the_response_says_what_answered_and_what_it_cost() -> None:
    result = Result(
        response=ChatResponse(
            id="chatcmpl-1",
            model="gpt-4o-mini-2024-07-18",
            content="Hi.",
            tool_calls=(ToolCall(id="c", name="f", arguments="{}"),),
            stop_reason=StopReason.TOOL_CALLS,
            usage=Usage(input_tokens=10, output_tokens=5, cached_tokens=2),
        ),
        model=ModelName(Provider.OPENAI, "gpt-4o-mini"),
        record=record(),
    )
    assert json.loads(encode_result(result)) == {
        "id": "chatcmpl-1",
        "model": "openai/gpt-4o-mini",
        "requested_model": "fast",
        "content": "Hi.",
        "tool_calls": [{"id": "c", "name": "f", "arguments": "{}"}],
        "stop_reason": "tool_calls",
        "usage": {"input_tokens": 10, "output_tokens": 5, "cached_tokens": 2},
        "cost_usd": "0.001234",
        "attempts": [
            {"model": "anthropic/claude-haiku-4-5", "error": "overloaded"},
            {"model": "openai/gpt-4o-mini", "error": None},
        ],
        "latency_ms": 321,
    }


def test_an_unknown_price_is_null_never_zero() -> None:
    result = Result(
        response=ChatResponse(id="x", model="m", content=""),
        model=ModelName(Provider.OLLAMA, "llama3.2"),
        record=record(cost_micros=None),
    )
    decoded = json.loads(encode_result(result))
    assert decoded["cost_usd"] is None
    assert decoded["stop_reason"] is None


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_usd_is_exact_with_six_decimals(micros: int) -> None:
    text = usd(micros)
    assert text is not None
    assert len(text.split(".")[1]) == 6
    assert Decimal(text) * 1_000_000 == micros


def test_usd_examples() -> None:
    assert usd(0) == "0.000000"
    assert usd(1) == "0.000001"
    assert usd(12_345_678) == "12.345678"
    assert usd(None) is None


# ---------------------------------------------------------------------------
# SSE


@dataclass
class FakeStream:
    chunks: list[ChatChunk]
    final: UsageRecord | None = None
    fail: BaseException | None = None
    model: ModelName = field(
        default_factory=lambda: ModelName(Provider.ANTHROPIC, "claude-haiku-4")
    )
    record: UsageRecord | None = field(default=None)

    async def __aiter__(self) -> AsyncIterator[ChatChunk]:
        for chunk in self.chunks:
            yield chunk
        if self.fail is not None:
            raise self.fail
        self.record = self.final


def events(stream: FakeStream) -> list[tuple[str | None, Any]]:
    async def collect() -> bytes:
        return b"".join([frame async for frame in stream_events(stream)])

    body = asyncio.run(collect())
    return [(e.event, json.loads(e.data)) for e in SSEDecoder().iter_bytes(iter([body]))]


def test_stream_events_in_order_with_accounted_usage() -> None:
    stream = FakeStream(
        chunks=[
            ChatChunk(text="Hel"),
            ChatChunk(text=""),
            ChatChunk(text="lo\nthere"),
            ChatChunk(tool_calls=(ToolCallDelta(index=0, id="c", name="f", arguments="{"),)),
            ChatChunk(tool_calls=(ToolCallDelta(index=0, arguments="}"),)),
            ChatChunk(stop_reason=StopReason.TOOL_CALLS, usage=Usage(input_tokens=1)),
        ],
        final=record(input_tokens=7, output_tokens=3, cached_tokens=1, cost_micros=50),
    )
    assert events(stream) == [
        ("chunk", {"text": "Hel"}),
        ("chunk", {"text": "lo\nthere"}),
        (
            "chunk",
            {"text": "", "tool_calls": [{"index": 0, "id": "c", "name": "f", "arguments": "{"}]},
        ),
        ("chunk", {"text": "", "tool_calls": [{"index": 0, "arguments": "}"}]}),
        (
            "usage",
            {"input_tokens": 7, "output_tokens": 3, "cached_tokens": 1, "cost_usd": "0.000050"},
        ),
        ("done", {"stop_reason": "tool_calls", "model": "anthropic/claude-haiku-4"}),
    ]


def test_without_a_record_the_stream_s_own_usage_is_sent_with_unknown_cost() -> None:
    stream = FakeStream(chunks=[ChatChunk(text="a", usage=Usage(input_tokens=4, output_tokens=2))])
    assert events(stream)[1] == (
        "usage",
        {"input_tokens": 4, "output_tokens": 2, "cached_tokens": 0, "cost_usd": None},
    )


def test_a_failure_mid_stream_is_the_last_event() -> None:
    stream = FakeStream(chunks=[ChatChunk(text="a")], fail=ProviderTimeout("Too slow."))
    assert events(stream) == [
        ("chunk", {"text": "a"}),
        ("error", {"code": "timeout", "detail": "Too slow.", "status": 504}),
    ]


def test_an_unexpected_failure_mid_stream_hides_its_details() -> None:
    stream = FakeStream(chunks=[], fail=KeyError("api_key=sk-123"))
    assert events(stream) == [
        (
            "error",
            {"code": "internal_error", "detail": "An internal error occurred.", "status": 500},
        )
    ]
    assert b"sk-123" not in encode_error_event(KeyError("api_key=sk-123"))


# ---------------------------------------------------------------------------
# The gateway's status table


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (BudgetExceeded(), 402),
        (ProviderRateLimited(), 429),
        (ProviderOverloaded(), 503),
        (CircuitOpen(), 503),
        (ProviderUnavailable(), 502),
        (ProviderAuthenticationFailed(), 502),
        (ProviderTimeout(), 504),
        (ContextTooLong(), 400),
        (ProviderBadRequest(), 400),
        (ModelNotFound(), 404),
        (InvalidInput(), 422),
        (DomainError(), 500),
    ],
)
def test_gateway_statuses(exc: DomainError, status: int) -> None:
    assert status_of(exc) == status


@pytest.mark.parametrize(
    ("seconds", "header"), [(None, None), (0.0, 1), (0.1, 1), (1.0, 1), (1.5, 2), (30, 30)]
)
def test_retry_after_rounds_up_to_whole_seconds(seconds: float | None, header: int | None) -> None:
    assert retry_after(ProviderRateLimited(retry_after=seconds)) == header
