"""Anthropic's dialect against the official anthropic SDK, over a fake transport.

The anthropic SDK speaks through ``httpx2``; its MockTransport records the
bodies the SDK builds and serves our encoded responses and streams back to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import anthropic
import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.common.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    QuotaExceeded,
    Unauthenticated,
)
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
    ContextTooLong,
    LimitExceeded,
    ModelNotFound,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from entrypoints.http.llm.wire_anthropic import (
    AnthropicStreamEncoder,
    anthropic_error_for,
    decode_messages,
    encode_message,
    error_event,
    tool_input,
)
from entrypoints.http.llm.wire_openai import DialectError

Handler = Callable[[httpx2.Request], httpx2.Response]


class Gateway:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.reply: Handler = lambda _: httpx2.Response(500)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(request.content)
        return self.reply(request)


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway()


def make_client(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://gateway.test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(gateway)),
        max_retries=0,
    )


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> anthropic.Anthropic:
    return make_client(gateway)


def json_reply(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda _: httpx2.Response(
        status, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


def sse_reply(body: bytes) -> Handler:
    return lambda _: httpx2.Response(
        200, content=body, headers={"content-type": "text/event-stream"}
    )


def capture(gateway: Gateway, send: Callable[[], object]) -> bytes:
    gateway.reply = json_reply(
        b'{"type":"error","error":{"type":"invalid_request_error","message":"captured"}}', 400
    )
    with pytest.raises(anthropic.BadRequestError):
        send()
    return gateway.bodies[-1]


async def _aiter(chunks: Iterable[ChatChunk]) -> AsyncIterator[ChatChunk]:
    for chunk in chunks:
        yield chunk


def stream_body(chunks: Iterable[ChatChunk], model: str = "asked") -> bytes:
    encoder = AnthropicStreamEncoder(model=model)

    async def collect() -> bytes:
        return b"".join([frame async for frame in encoder.frames(_aiter(chunks))])

    return asyncio.run(collect())


USER: Any = [{"role": "user", "content": "hi"}]

# ---------------------------------------------------------------------------
# Requests as the SDK builds them


def test_a_full_sdk_request_decodes_into_the_domain_request(
    gateway: Gateway, client: anthropic.Anthropic
) -> None:
    body = capture(
        gateway,
        lambda: client.messages.create(
            model="anthropic/claude-sonnet-4-5",
            max_tokens=256,
            system=[
                {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Answer in French."},
            ],
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What are these?"},
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"},
                        },
                        {
                            "type": "image",
                            "source": {"type": "url", "url": "https://img.test/cat.png"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                        {"type": "text", "text": "Let me look."},
                        {
                            "type": "tool_use",
                            "id": "toolu_1",
                            "name": "lookup",
                            "input": {"q": "cat"},
                        },
                        {"type": "tool_use", "id": "toolu_2", "name": "time", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a cat"},
                        {
                            "type": "tool_result",
                            "tool_use_id": "toolu_2",
                            "is_error": True,
                            "content": [
                                {"type": "text", "text": "clock "},
                                {"type": "text", "text": "broken"},
                            ],
                        },
                        {"type": "text", "text": "Thanks!"},
                    ],
                },
            ],
            tools=[
                {
                    "name": "lookup",
                    "description": "Look something up.",
                    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
                },
                {"name": "time", "input_schema": {"type": "object"}},
            ],
            tool_choice={"type": "tool", "name": "lookup", "disable_parallel_tool_use": True},
            stop_sequences=["END"],
            metadata={"user_id": "u-9"},
            thinking={"type": "enabled", "budget_tokens": 1024},
            cache_control={"type": "ephemeral"},
            # This SDK no longer offers sampling knobs; older ones and other clients send them.
            extra_body={"temperature": 0.3, "top_p": 0.8, "top_k": 40},
        ),
    )
    request = decode_messages(body)

    assert request.model == "anthropic/claude-sonnet-4-5"
    assert request.max_tokens == 256
    assert [m.role for m in request.messages] == [
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.TOOL,
        Role.USER,
    ]
    assert request.messages[0].content == "Be terse.\n\nAnswer in French."
    assert request.messages[1].content == (
        TextPart("What are these?"),
        ImagePart("data:image/png;base64,iVBO"),
        ImagePart("https://img.test/cat.png"),
    )
    assistant = request.messages[2]
    assert assistant.content == "Let me look."
    assert [(c.id, c.name, json.loads(c.arguments)) for c in assistant.tool_calls] == [
        ("toolu_1", "lookup", {"q": "cat"}),
        ("toolu_2", "time", {}),
    ]
    assert (request.messages[3].tool_call_id, request.messages[3].content) == ("toolu_1", "a cat")
    assert (request.messages[4].tool_call_id, request.messages[4].content) == (
        "toolu_2",
        "clock broken",
    )
    assert request.messages[5].content == (TextPart("Thanks!"),)
    assert request.tools == (
        Tool(
            name="lookup",
            description="Look something up.",
            parameters={"type": "object", "properties": {"q": {"type": "string"}}},
        ),
        Tool(name="time", parameters={"type": "object"}),
    )
    assert request.tool_choice == ToolChoice(mode="tool", name="lookup")
    assert request.stop == ("END",)
    assert (request.temperature, request.top_p) == (0.3, 0.8)
    assert request.user == "u-9"
    assert request.stream is False


def test_stream_string_system_and_plain_content(
    gateway: Gateway, client: anthropic.Anthropic
) -> None:
    def send() -> None:
        with client.messages.stream(model="m", max_tokens=5, system="Sys", messages=USER) as s:
            s.get_final_message()

    body = capture(gateway, send)
    request = decode_messages(body)
    assert request.stream is True
    assert [(m.role, m.content) for m in request.messages] == [
        (Role.SYSTEM, "Sys"),
        (Role.USER, "hi"),
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, ToolChoice(mode="auto")),
        ({"type": "any"}, ToolChoice(mode="required")),
        ({"type": "none"}, ToolChoice(mode="none")),
    ],
)
def test_tool_choices(choice: dict[str, str], expected: ToolChoice) -> None:
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": USER,
        "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "tool_choice": choice,
    }
    assert decode_messages(json.dumps(body).encode()).tool_choice == expected


def test_system_messages_in_the_list_and_output_format() -> None:
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": [{"role": "system", "content": "Rules."}, *USER],
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
    }
    request = decode_messages(json.dumps(body).encode())
    assert request.messages[0] == request.messages[0].__class__(role=Role.SYSTEM, content="Rules.")
    assert request.response_format == ResponseFormat(kind="json_schema", schema={"type": "object"})


def test_a_tool_result_with_an_image_keeps_its_parts() -> None:
    body = {
        "model": "m",
        "max_tokens": 1,
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t",
                        "content": [
                            {"type": "text", "text": "chart:"},
                            {
                                "type": "image",
                                "source": {
                                    "type": "base64",
                                    "media_type": "image/gif",
                                    "data": "R0",
                                },
                            },
                        ],
                    }
                ],
            }
        ],
    }
    request = decode_messages(json.dumps(body).encode())
    assert request.messages == (
        request.messages[0].__class__(
            role=Role.TOOL,
            content=(TextPart("chart:"), ImagePart("data:image/gif;base64,R0")),
            tool_call_id="t",
        ),
    )


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"nope", None),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}]}', "max_tokens"),
        (b'{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]}', "max_tokens"),
        (b'{"model":"m","max_tokens":1,"messages":[]}', "messages"),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"tool","content":"x"}]}',
            "messages[0].role",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],"temperature":1.5}',
            "temperature",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document",'
            b'"source":{"type":"text","data":"x","media_type":"text/plain"}}]}]}',
            "messages[0].content[0].type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image",'
            b'"source":{"type":"file","file_id":"f"}}]}]}',
            "messages[0].content[0].source.type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use",'
            b'"id":"t","name":"f","input":{}}]}]}',
            "messages[0].content[0].type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_result",'
            b'"tool_use_id":"t"}]}]}',
            "messages[0].content[0].type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"type":"web_search_20250305","name":"web_search"}]}',
            "tools[0].type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"name":"f"}]}',
            "tools[0].input_schema",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"name":"f","input_schema":{}}],"tool_choice":{"type":"tool","name":"g"}}',
            "tool_choice.name",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],'
            b'"tool_choice":{"type":"any"}}',
            "tool_choice.type",
        ),
        (
            b'{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"x"}],'
            b'"system":[{"type":"image","source":{"type":"url","url":"https://x"}}]}',
            "system[0].type",
        ),
    ],
)
def test_invalid_requests_are_400s_naming_the_param(body: bytes, param: str | None) -> None:
    with pytest.raises(DialectError) as caught:
        decode_messages(body)
    assert caught.value.status == 400
    assert caught.value.param == param
    status, out, _ = anthropic_error_for(caught.value)
    assert status == 400
    assert json.loads(out) == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": caught.value.message},
    }


@given(st.binary(max_size=200))
def test_no_bytes_make_decoding_fail_other_than_with_a_dialect_error(body: bytes) -> None:
    with contextlib.suppress(DialectError):
        decode_messages(body)


# ---------------------------------------------------------------------------
# Responses as the SDK parses them


def test_sdk_parses_text_and_tool_use(gateway: Gateway, client: anthropic.Anthropic) -> None:
    response = ChatResponse(
        id="chatcmpl-7",
        model="gpt-4o",
        content="Checking.",
        tool_calls=(ToolCall(id="call_1", name="lookup", arguments='{"q": "cat", "n": [1, 2]}'),),
        stop_reason=StopReason.TOOL_CALLS,
        usage=Usage(input_tokens=100, output_tokens=20, cached_tokens=60),
    )
    gateway.reply = json_reply(encode_message(response, request_model="openai/gpt-4o"))
    message = client.messages.create(model="openai/gpt-4o", max_tokens=10, messages=USER)

    assert message.id.startswith("msg_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "openai/gpt-4o")
    assert [block.type for block in message.content] == ["text", "tool_use"]
    text, tool = message.content
    assert text.type == "text"
    assert text.text == "Checking."
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "lookup", {"q": "cat", "n": [1, 2]})
    assert message.stop_reason == "tool_use"
    assert message.stop_sequence is None
    assert message.usage.input_tokens == 40
    assert message.usage.cache_read_input_tokens == 60
    assert message.usage.output_tokens == 20


@pytest.mark.parametrize(
    ("reason", "tools", "expected"),
    [
        (StopReason.STOP, False, "end_turn"),
        (StopReason.LENGTH, False, "max_tokens"),
        (StopReason.TOOL_CALLS, True, "tool_use"),
        (StopReason.CONTENT_FILTER, False, "refusal"),
        (None, False, "end_turn"),
        (None, True, "tool_use"),
    ],
)
def test_stop_reasons(reason: StopReason | None, tools: bool, expected: str) -> None:
    calls = (ToolCall(id="t", name="f", arguments="{}"),) if tools else ()
    body = encode_message(
        ChatResponse(id="msg_1", model="m", content="", tool_calls=calls, stop_reason=reason),
        request_model="m",
    )
    decoded = json.loads(body)
    assert decoded["stop_reason"] == expected
    assert decoded["id"] == "msg_1"
    assert [b["type"] for b in decoded["content"]] == (["tool_use"] if tools else ["text"])


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [("", {}), ("not json", {}), ("[1,2]", {}), ('{"a":1}', {"a": 1}), ('{"a":', {})],
)
def test_tool_arguments_that_are_not_an_object_become_empty_input(
    arguments: str, expected: dict[str, Any]
) -> None:
    assert tool_input(arguments) == expected


# ---------------------------------------------------------------------------
# Streams as the SDK accumulates them


def test_sdk_accumulates_alternating_text_and_tool_blocks(
    gateway: Gateway, client: anthropic.Anthropic
) -> None:
    chunks = [
        ChatChunk(text="Let me ", id="chatcmpl-9", usage=Usage(input_tokens=30, cached_tokens=10)),
        ChatChunk(text="check."),
        ChatChunk(tool_calls=(ToolCallDelta(index=0, id="call_a", name="lookup", arguments=""),)),
        ChatChunk(tool_calls=(ToolCallDelta(index=0, arguments='{"q": '),)),
        ChatChunk(tool_calls=(ToolCallDelta(index=0, arguments='"cat"}'),)),
        ChatChunk(tool_calls=(ToolCallDelta(index=1, id="call_b", name="time", arguments="{}"),)),
        ChatChunk(text="Done."),
        ChatChunk(stop_reason=StopReason.TOOL_CALLS),
        ChatChunk(usage=Usage(input_tokens=30, output_tokens=12, cached_tokens=10)),
    ]
    gateway.reply = sse_reply(stream_body(chunks))
    with client.messages.stream(model="asked", max_tokens=10, messages=USER) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()

    assert texts == ["Let me ", "check.", "Done."]
    assert final.id == "msg_chatcmpl-9"
    assert final.model == "asked"
    assert [block.type for block in final.content] == ["text", "tool_use", "tool_use", "text"]
    first, lookup, clock, last = final.content
    assert first.type == "text"
    assert first.text == "Let me check."
    assert lookup.type == "tool_use"
    assert (lookup.id, lookup.name, lookup.input) == ("call_a", "lookup", {"q": "cat"})
    assert clock.type == "tool_use"
    assert (clock.id, clock.name, clock.input) == ("call_b", "time", {})
    assert last.type == "text"
    assert last.text == "Done."
    assert final.stop_reason == "tool_use"
    assert final.usage.output_tokens == 12
    assert final.usage.input_tokens == 20
    assert final.usage.cache_read_input_tokens == 10


def test_event_order_and_indexes_on_the_wire() -> None:
    body = stream_body(
        [
            ChatChunk(text="a"),
            ChatChunk(tool_calls=(ToolCallDelta(index=3, id="t", name="f", arguments="{}"),)),
            ChatChunk(stop_reason=StopReason.TOOL_CALLS),
        ]
    )
    events = []
    for frame in body.split(b"\n\n")[:-1]:
        name_line, data_line = frame.split(b"\n")
        payload = json.loads(data_line.removeprefix(b"data: "))
        assert payload["type"] == name_line.removeprefix(b"event: ").decode()
        events.append((payload["type"], payload.get("index")))
    assert events == [
        ("message_start", None),
        ("ping", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("message_delta", None),
        ("message_stop", None),
    ]


def test_an_empty_stream_is_still_a_whole_message(
    gateway: Gateway, client: anthropic.Anthropic
) -> None:
    gateway.reply = sse_reply(stream_body([]))
    with client.messages.stream(model="asked", max_tokens=10, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.content == []
    assert final.stop_reason == "end_turn"


def test_record_usage_fills_in_when_the_stream_reported_none() -> None:
    class Recorded:
        def __init__(self) -> None:
            self.record: Any = None

        async def __aiter__(self) -> AsyncIterator[ChatChunk]:
            yield ChatChunk(text="x")
            self.record = type(
                "R", (), {"input_tokens": 9, "output_tokens": 4, "cached_tokens": 1}
            )()

    async def collect() -> bytes:
        return b"".join([f async for f in AnthropicStreamEncoder(model="m").frames(Recorded())])

    body = asyncio.run(collect())
    delta = next(
        json.loads(f.split(b"\ndata: ")[1])
        for f in body.split(b"\n\n")
        if f.startswith(b"event: message_delta")
    )
    assert delta["usage"] == {"output_tokens": 4, "input_tokens": 8, "cache_read_input_tokens": 1}


def test_an_error_mid_stream_reaches_the_sdk(gateway: Gateway, client: anthropic.Anthropic) -> None:
    async def failing() -> AsyncIterator[ChatChunk]:
        yield ChatChunk(text="par")
        raise ProviderOverloaded("Upstream overloaded.")

    async def collect() -> bytes:
        return b"".join([f async for f in AnthropicStreamEncoder(model="m").frames(failing())])

    body = asyncio.run(collect())
    assert body.endswith(error_event(ProviderOverloaded("Upstream overloaded.")))
    gateway.reply = sse_reply(body)
    seen: list[str] = []
    with (
        pytest.raises(anthropic.APIStatusError) as caught,
        client.messages.stream(model="m", max_tokens=10, messages=USER) as stream,
    ):
        seen.extend(stream.text_stream)
    assert seen == ["par"]
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Upstream overloaded."},
    }


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=10)
json_objects = st.dictionaries(
    st.text(max_size=5),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
        ),
        max_leaves=5,
    ),
    max_size=3,
)


@st.composite
def turns(draw: st.DrawFn) -> tuple[list[ChatChunk], list[tuple[str, Any]]]:
    """Random runs of text and tool calls (arguments cut at random points) and the
    content blocks a client must rebuild from them."""
    chunks: list[ChatChunk] = []
    blocks: list[tuple[str, Any]] = []
    tool_index = 0
    for kind in draw(st.lists(st.sampled_from(["text", "tool"]), max_size=6)):
        if kind == "text":
            pieces = draw(st.lists(texts.filter(bool), min_size=1, max_size=4))
            chunks.extend(ChatChunk(text=p) for p in pieces)
            if blocks and blocks[-1][0] == "text":
                blocks[-1] = ("text", blocks[-1][1] + "".join(pieces))
            else:
                blocks.append(("text", "".join(pieces)))
        else:
            value = draw(json_objects)
            arguments = json.dumps(value)
            cuts = sorted(draw(st.lists(st.integers(0, len(arguments)), max_size=4)))
            bounds = [0, *cuts, len(arguments)]
            fragments = [arguments[a:b] for a, b in itertools.pairwise(bounds)]
            call_id = f"call_{tool_index}"
            chunks.append(
                ChatChunk(
                    tool_calls=(
                        ToolCallDelta(
                            index=tool_index,
                            id=call_id,
                            name=f"f{tool_index}",
                            arguments=fragments[0],
                        ),
                    )
                )
            )
            chunks.extend(
                ChatChunk(tool_calls=(ToolCallDelta(index=tool_index, arguments=f),))
                for f in fragments[1:]
            )
            blocks.append(("tool", (call_id, f"f{tool_index}", value)))
            tool_index += 1
    chunks.append(ChatChunk(stop_reason=StopReason.STOP, usage=Usage(output_tokens=len(chunks))))
    return chunks, blocks


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turns())
def test_sdk_rebuilds_any_stream_we_encode(
    turn: tuple[list[ChatChunk], list[tuple[str, Any]]],
) -> None:
    chunks, blocks = turn
    gateway = Gateway()
    gateway.reply = sse_reply(stream_body(chunks))
    with make_client(gateway).messages.stream(model="m", max_tokens=1, messages=USER) as stream:
        final = stream.get_final_message()
    rebuilt: list[tuple[str, Any]] = []
    for block in final.content:
        if block.type == "text":
            rebuilt.append(("text", block.text))
        else:
            assert block.type == "tool_use"
            rebuilt.append(("tool", (block.id, block.name, block.input)))
    assert rebuilt == blocks
    assert final.usage.output_tokens == len(chunks) - 1


# ---------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("exc", "status", "kind", "retry_after"),
    [
        (InvalidInput("bad", field="messages"), 400, "invalid_request_error", None),
        (ContextTooLong("too long"), 400, "invalid_request_error", None),
        (Unauthenticated(), 401, "authentication_error", None),
        (BudgetExceeded("Monthly budget spent."), 402, "billing_error", None),
        (Forbidden(), 403, "permission_error", None),
        (ModelNotFound("nope"), 404, "not_found_error", None),
        (QuotaExceeded(), 413, "request_too_large", None),
        (LimitExceeded(retry_after=4), 429, "rate_limit_error", "4"),
        (ProviderRateLimited(retry_after=0.2), 429, "rate_limit_error", "1"),
        (ProviderOverloaded(), 529, "overloaded_error", None),
        (ProviderUnavailable(), 502, "api_error", None),
        (ProviderTimeout(), 504, "timeout_error", None),
        (DomainError("odd"), 500, "api_error", None),
    ],
)
def test_domain_errors_take_anthropic_s_shape(
    exc: DomainError, status: int, kind: str, retry_after: str | None
) -> None:
    got_status, body, headers = anthropic_error_for(exc)
    assert got_status == status
    assert json.loads(body) == {"type": "error", "error": {"type": kind, "message": exc.detail}}
    assert headers.get("Retry-After") == retry_after


def test_non_domain_errors_are_opaque() -> None:
    status, body, _ = anthropic_error_for(ValueError("token=abc123"))
    assert status == 500
    assert b"abc123" not in body


@pytest.mark.parametrize(
    ("exc", "sdk_error"),
    [
        (BudgetExceeded("Budget spent."), anthropic.PaymentRequiredError),
        (LimitExceeded(retry_after=1), anthropic.RateLimitError),
        (ProviderOverloaded(), anthropic.OverloadedError),
        (ModelNotFound("nope"), anthropic.NotFoundError),
        (Unauthenticated(), anthropic.AuthenticationError),
    ],
)
def test_sdk_raises_its_own_error_for_our_error_responses(
    gateway: Gateway, client: anthropic.Anthropic, exc: DomainError, sdk_error: type[Exception]
) -> None:
    status, body, headers = anthropic_error_for(exc)
    gateway.reply = json_reply(body, status=status, headers=headers)
    with pytest.raises(sdk_error) as caught:
        client.messages.create(model="m", max_tokens=1, messages=USER)
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.status_code == status
    assert exc.detail in caught.value.message
