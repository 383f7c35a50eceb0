"""OpenAI's dialect against the official openai SDK, over a fake transport.

The SDK builds its real request bodies (captured by an httpx2.MockTransport,
no network) and parses our encoded responses and streams itself.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx2
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.common.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    StorageUnavailable,
    Unauthenticated,
)
from domain.llm.chat import (
    ChatChunk,
    ChatResponse,
    EmbeddingResponse,
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
    LimitExceeded,
    ModelLacksCapability,
    ModelNotFound,
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    UnpricedModelRefused,
)
from entrypoints.http.llm import wire_openai
from entrypoints.http.llm.wire_openai import (
    DONE,
    DialectError,
    OpenAIStreamEncoder,
    decode_chat,
    decode_embeddings,
    encode_chat,
    encode_embeddings,
    encode_models,
    openai_error_for,
)

Handler = Callable[[httpx2.Request], httpx2.Response]


class Gateway:
    """A fake transport: records what the SDK sends, answers what a test says."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.reply: Handler = lambda _: httpx2.Response(500, json={"error": {"message": "unset"}})

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.bodies.append(request.content)
        return self.reply(request)

    @property
    def last(self) -> bytes:
        return self.bodies[-1]


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway()


@pytest.fixture(scope="module")
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://gateway.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(gateway)),
        max_retries=0,
    )


def json_reply(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda _: httpx2.Response(
        status, content=body, headers={"content-type": "application/json", **(headers or {})}
    )


def sse_reply(body: bytes) -> Handler:
    return lambda _: httpx2.Response(
        200, content=body, headers={"content-type": "text/event-stream"}
    )


def capture(gateway: Gateway, send: Callable[[], object]) -> bytes:
    """The body the SDK sends for ``send`` (answered with an error it swallows here)."""
    gateway.reply = json_reply(b'{"error":{"message":"captured","type":"x"}}', status=400)
    with pytest.raises(openai.BadRequestError):
        send()
    return gateway.last


async def _aiter(chunks: Iterable[ChatChunk]) -> AsyncIterator[ChatChunk]:
    for chunk in chunks:
        yield chunk


def stream_body(chunks: Iterable[ChatChunk], *, include_usage: bool, model: str = "m") -> bytes:
    encoder = OpenAIStreamEncoder(model=model, created=1_700_000_000, include_usage=include_usage)

    async def collect() -> bytes:
        return b"".join([frame async for frame in encoder.frames(_aiter(chunks))])

    return asyncio.run(collect())


USER: Any = [{"role": "user", "content": "hi"}]

# ---------------------------------------------------------------------------
# Requests as the SDK builds them


def test_a_full_sdk_request_decodes_into_the_domain_request(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    body = capture(
        gateway,
        lambda: client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[
                {"role": "developer", "content": "Be terse."},
                {"role": "system", "content": [{"type": "text", "text": "Answer in French."}]},
                {
                    "role": "user",
                    "name": "ana",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {
                            "type": "image_url",
                            "image_url": {"url": "https://img.test/cat.png", "detail": "low"},
                        },
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": '{"q":"cat"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            ],
            temperature=0.2,
            top_p=0.9,
            max_completion_tokens=64,
            stop=["END", "STOP"],
            seed=7,
            user="u-1",
            tools=[
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "description": "Look something up.",
                        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
                        "strict": True,
                    },
                }
            ],
            tool_choice={"type": "function", "function": {"name": "lookup"}},
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
            },
            presence_penalty=0.1,
            frequency_penalty=0.2,
            logit_bias={"50256": -100},
            logprobs=False,
            parallel_tool_calls=False,
            metadata={"k": "v"},
            store=False,
            service_tier="auto",
            reasoning_effort="low",
            n=1,
        ),
    )
    request, options = decode_chat(body)

    assert request.model == "openai/gpt-4o-mini"
    assert [m.role for m in request.messages] == [
        Role.SYSTEM,
        Role.SYSTEM,
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
    ]
    assert request.messages[0].content == "Be terse."
    assert request.messages[1].content == "Answer in French."
    assert request.messages[2].name == "ana"
    assert request.messages[2].content == (
        TextPart("What is this?"),
        ImagePart("https://img.test/cat.png", "low"),
    )
    assert request.messages[3].tool_calls == (
        ToolCall(id="call_1", name="lookup", arguments='{"q":"cat"}'),
    )
    assert request.messages[3].content == ""
    assert request.messages[4].tool_call_id == "call_1"
    assert request.messages[4].content == "a cat"
    assert (request.temperature, request.top_p, request.max_tokens) == (0.2, 0.9, 64)
    assert request.stop == ("END", "STOP")
    assert (request.seed, request.user) == (7, "u-1")
    assert request.tools == (
        Tool(
            name="lookup",
            description="Look something up.",
            parameters={"type": "object", "properties": {"q": {"type": "string"}}},
        ),
    )
    assert request.tool_choice == ToolChoice(mode="tool", name="lookup")
    assert request.response_format == ResponseFormat(
        kind="json_schema", schema={"type": "object"}, name="answer", strict=True
    )
    assert request.stream is False
    assert options.include_usage is False


def test_streaming_request_with_include_usage(gateway: Gateway, client: openai.OpenAI) -> None:
    body = capture(
        gateway,
        lambda: client.chat.completions.create(
            model="m",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=10,
            stop="\n",
        ),
    )
    request, options = decode_chat(body)
    assert request.stream is True
    assert options.include_usage is True
    assert request.max_tokens == 10
    assert request.stop == ("\n",)


def test_include_usage_means_nothing_without_stream() -> None:
    _, options = decode_chat(
        b'{"model":"m","messages":[{"role":"user","content":"x"}],'
        b'"stream_options":{"include_usage":true}}'
    )
    assert options.include_usage is False


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", ToolChoice(mode="auto")),
        ("none", ToolChoice(mode="none")),
        ("required", ToolChoice(mode="required")),
    ],
)
def test_tool_choice_strings(choice: str, expected: ToolChoice) -> None:
    body = {
        "model": "m",
        "messages": USER,
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": choice,
    }
    request, _ = decode_chat(json.dumps(body).encode())
    assert request.tool_choice == expected
    assert request.tools == (Tool(name="f"),)


def test_allowed_tools_choice_keeps_only_the_allowed_tools() -> None:
    body = {
        "model": "m",
        "messages": USER,
        "tools": [
            {"type": "function", "function": {"name": "a"}},
            {"type": "function", "function": {"name": "b"}},
        ],
        "tool_choice": {
            "type": "allowed_tools",
            "allowed_tools": {
                "mode": "required",
                "tools": [{"type": "function", "function": {"name": "b"}}],
            },
        },
    }
    request, _ = decode_chat(json.dumps(body).encode())
    assert [tool.name for tool in request.tools] == ["b"]
    assert request.tool_choice == ToolChoice(mode="required")


def test_legacy_functions_map_to_tools_and_calls() -> None:
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "function_call": {"name": "weather", "arguments": "{}"},
            },
            {"role": "function", "name": "weather", "content": "sunny"},
        ],
        "functions": [{"name": "weather", "parameters": {"type": "object"}}],
        "function_call": {"name": "weather"},
    }
    request, _ = decode_chat(json.dumps(body).encode())
    call = request.messages[1].tool_calls[0]
    assert (call.name, call.arguments) == ("weather", "{}")
    assert request.messages[2].role is Role.TOOL
    assert request.messages[2].tool_call_id == call.id
    assert request.tools == (Tool(name="weather", parameters={"type": "object"}),)
    assert request.tool_choice == ToolChoice(mode="tool", name="weather")


def test_response_format_json_object_and_text() -> None:
    base = {"model": "m", "messages": USER}
    request, _ = decode_chat(json.dumps({**base, "response_format": {"type": "text"}}).encode())
    assert request.response_format is None
    request, _ = decode_chat(
        json.dumps({**base, "response_format": {"type": "json_object"}}).encode()
    )
    assert request.response_format == ResponseFormat(kind="json_object")


def test_nulls_and_unknown_fields_are_accepted() -> None:
    request, _ = decode_chat(
        b'{"model":"m","messages":[{"role":"user","content":"x","extra":1}],'
        b'"temperature":null,"tools":null,"stop":null,"n":null,"stream":null,'
        b'"something_new":{"a":[1,2]}}'
    )
    assert request.temperature is None
    assert request.tools == ()
    assert request.stream is False


def test_assistant_refusal_and_text_parts_become_its_text() -> None:
    request, _ = decode_chat(
        json.dumps(
            {
                "model": "m",
                "messages": [
                    {
                        "role": "assistant",
                        "content": [
                            {"type": "text", "text": "no "},
                            {"type": "refusal", "refusal": "thanks"},
                        ],
                    }
                ],
            }
        ).encode()
    )
    assert request.messages[0].content == "no thanks"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[]", None),
        (b'{"model":"m"}', "messages"),
        (b'{"messages":[{"role":"user","content":"x"}]}', "model"),
        (b'{"model":"m","messages":[]}', "messages"),
        (b'{"model":"m","messages":[{"role":"wizard","content":"x"}]}', "messages[0].role"),
        (b'{"model":"m","messages":[{"role":"user"}]}', "messages[0].content"),
        (b'{"model":"m","messages":[{"role":"tool","content":"x"}]}', "messages[0].tool_call_id"),
        (b'{"model":"m","messages":[{"role":"user","content":5}]}', "messages[0].content"),
        (
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio",'
            b'"input_audio":{"data":"AA==","format":"wav"}}]}]}',
            "messages[0].content[0].type",
        ),
        (
            b'{"model":"m","messages":[{"role":"system","content":[{"type":"image_url",'
            b'"image_url":{"url":"https://x"}}]}]}',
            "messages[0].content[0].type",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":[{"type":"image_url",'
            b'"image_url":{"url":"file:///etc/passwd"}}]}]}',
            "messages[0].content[0].image_url",
        ),
        (
            b'{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"c",'
            b'"type":"custom","custom":{"name":"x","input":"y"}}]}]}',
            "messages[0].tool_calls[0].type",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}',
            "temperature",
        ),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":-1}', "top_p"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}', "max_tokens"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}', "n"),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"logprobs":true}', "logprobs"),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"modalities":["audio"]}',
            "modalities",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"type":"custom","custom":{"name":"x"}}]}',
            "tools[0].type",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],'
            b'"tools":[{"type":"function","function":{"name":"f"}}],'
            b'"tool_choice":{"type":"function","function":{"name":"g"}}}',
            "tool_choice",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}',
            "tool_choice",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":"maybe"}',
            "tool_choice",
        ),
        (
            b'{"model":"m","messages":[{"role":"user","content":"x"}],'
            b'"response_format":{"type":"yaml"}}',
            "response_format.type",
        ),
        (b'{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[1]}', "stop"),
    ],
)
def test_invalid_requests_are_400s_naming_the_param(body: bytes, param: str | None) -> None:
    with pytest.raises(DialectError) as caught:
        decode_chat(body)
    error = caught.value
    assert (error.status, error.type) == (400, "invalid_request_error")
    assert error.param == param or (param is not None and (error.param or "").startswith(param))
    assert error.message
    status, body_out, _ = openai_error_for(error)
    assert status == 400
    assert json.loads(body_out)["error"]["param"] == error.param


@given(st.binary(max_size=200))
def test_no_bytes_make_decoding_fail_other_than_with_a_dialect_error(body: bytes) -> None:
    with contextlib.suppress(DialectError):
        decode_chat(body)


# ---------------------------------------------------------------------------
# Responses as the SDK parses them


def test_sdk_parses_a_text_completion(gateway: Gateway, client: openai.OpenAI) -> None:
    response = ChatResponse(
        id="chatcmpl-1",
        model="gpt-4o-mini-2024-07-18",
        content="Bonjour.",
        stop_reason=StopReason.STOP,
        usage=Usage(input_tokens=12, output_tokens=3, cached_tokens=8),
    )
    gateway.reply = json_reply(encode_chat(response, request_model="my-route", created=123))
    parsed = client.chat.completions.create(model="my-route", messages=USER)

    assert parsed.id == "chatcmpl-1"
    assert parsed.object == "chat.completion"
    assert parsed.model == "my-route"
    assert parsed.created == 123
    choice = parsed.choices[0]
    assert (choice.message.role, choice.message.content) == ("assistant", "Bonjour.")
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    assert parsed.usage is not None
    assert (parsed.usage.prompt_tokens, parsed.usage.completion_tokens) == (12, 3)
    assert parsed.usage.total_tokens == 15
    assert parsed.usage.prompt_tokens_details is not None
    assert parsed.usage.prompt_tokens_details.cached_tokens == 8


def test_sdk_parses_tool_calls(gateway: Gateway, client: openai.OpenAI) -> None:
    response = ChatResponse(
        id="x",
        model="m",
        content="",
        tool_calls=(
            ToolCall(id="call_a", name="lookup", arguments='{"q": "é"}'),
            ToolCall(id="call_b", name="time", arguments="{}"),
        ),
        stop_reason=None,
        usage=None,
    )
    gateway.reply = json_reply(encode_chat(response, request_model="m", created=1))
    parsed = client.chat.completions.create(model="m", messages=USER)

    message = parsed.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    calls = [c for c in message.tool_calls if c.type == "function"]
    assert [(c.id, c.function.name, c.function.arguments) for c in calls] == [
        ("call_a", "lookup", '{"q": "é"}'),
        ("call_b", "time", "{}"),
    ]
    assert parsed.choices[0].finish_reason == "tool_calls"
    assert parsed.usage is None


@pytest.mark.parametrize("reason", list(StopReason))
def test_finish_reasons_are_openai_s(reason: StopReason) -> None:
    body = encode_chat(
        ChatResponse(id="x", model="m", content="a", stop_reason=reason),
        request_model="m",
        created=0,
    )
    assert json.loads(body)["choices"][0]["finish_reason"] == reason.value


# ---------------------------------------------------------------------------
# Streams as the SDK accumulates them


def test_sdk_accumulates_a_streamed_answer_with_usage(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    chunks = [
        ChatChunk(text="Hel", id="chatcmpl-s"),
        ChatChunk(text="lo"),
        ChatChunk(tool_calls=(ToolCallDelta(index=0, id="c1", name="f", arguments='{"a"'),)),
        ChatChunk(tool_calls=(ToolCallDelta(index=0, arguments=":1}"),)),
        ChatChunk(stop_reason=StopReason.TOOL_CALLS),
        ChatChunk(usage=Usage(input_tokens=5, output_tokens=3, cached_tokens=2)),
    ]
    gateway.reply = sse_reply(stream_body(chunks, include_usage=True, model="asked"))
    with client.chat.completions.stream(
        model="asked", messages=USER, stream_options={"include_usage": True}
    ) as stream:
        events = [event.type for event in stream]
        final = stream.get_final_completion()

    assert "content.done" in events
    assert final.id == "chatcmpl-s"
    assert final.model == "asked"
    message = final.choices[0].message
    assert message.content == "Hello"
    assert message.tool_calls is not None
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls] == [
        ("c1", "f", '{"a":1}')
    ]
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (5, 3)
    assert final.usage.prompt_tokens_details is not None
    assert final.usage.prompt_tokens_details.cached_tokens == 2


def test_raw_chunks_carry_role_first_and_usage_last(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    chunks = [
        ChatChunk(text="a"),
        ChatChunk(text="b", stop_reason=StopReason.STOP, usage=Usage(input_tokens=1)),
    ]
    gateway.reply = sse_reply(stream_body(chunks, include_usage=True))
    received = list(
        client.chat.completions.create(
            model="m", messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert received[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].delta.content for c in received if c.choices] == ["a", "b", None]
    assert [c.choices[0].finish_reason for c in received if c.choices] == [None, None, "stop"]
    assert received[-1].choices == []
    assert received[-1].usage is not None
    assert received[-1].usage.prompt_tokens == 1
    assert len({c.id for c in received}) == 1


def test_without_include_usage_no_usage_frame_is_sent() -> None:
    body = stream_body(
        [ChatChunk(text="a", usage=Usage(input_tokens=3, output_tokens=1))], include_usage=False
    )
    assert b'"usage"' not in body
    assert body.endswith(DONE)


def test_a_stream_without_stop_reason_still_finishes() -> None:
    frames = [json.loads(f[6:]) for f in stream_body([], include_usage=False).split(b"\n\n")[:-2]]
    assert frames[0]["choices"][0]["delta"]["role"] == "assistant"
    assert frames[-1]["choices"][0]["finish_reason"] == "stop"


def test_record_usage_fills_in_when_the_stream_reported_none() -> None:
    class Recorded:
        def __init__(self) -> None:
            self.record: Any = None

        async def __aiter__(self) -> AsyncIterator[ChatChunk]:
            yield ChatChunk(text="x")
            self.record = type(
                "R", (), {"input_tokens": 9, "output_tokens": 4, "cached_tokens": 0}
            )()

    async def collect() -> bytes:
        encoder = OpenAIStreamEncoder(model="m", created=0, include_usage=True)
        return b"".join([f async for f in encoder.frames(Recorded())])

    body = asyncio.run(collect())
    usage = json.loads(body.split(b"\n\n")[-3][6:])["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (9, 4)


def test_an_error_mid_stream_reaches_the_sdk_as_an_api_error(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    async def failing() -> AsyncIterator[ChatChunk]:
        yield ChatChunk(text="par")
        raise ProviderUnavailable("The provider dropped the connection.")

    async def collect() -> bytes:
        encoder = OpenAIStreamEncoder(model="m", created=0)
        return b"".join([f async for f in encoder.frames(failing())])

    body = asyncio.run(collect())
    assert not body.endswith(DONE)
    gateway.reply = sse_reply(body)
    seen: list[str | None] = []
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)
    with pytest.raises(openai.APIError) as caught:  # noqa: PT012 - the error comes mid-iteration
        for chunk in stream:
            seen.append(chunk.choices[0].delta.content)
    assert seen == ["par"]
    assert "dropped the connection" in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["code"] == "upstream_unavailable"


def test_an_unexpected_failure_mid_stream_hides_its_details() -> None:
    async def failing() -> AsyncIterator[ChatChunk]:
        yield ChatChunk(text="x")
        raise RuntimeError("secret internals sk-live-123")

    async def collect() -> bytes:
        return b"".join(
            [f async for f in OpenAIStreamEncoder(model="m", created=0).frames(failing())]
        )

    body = asyncio.run(collect())
    assert b"sk-live" not in body
    assert b'"server_error"' in body


def test_stateless_encode_chunk_frames() -> None:
    body = wire_openai.encode_chunk(
        ChatChunk(
            text="hi",
            tool_calls=(ToolCallDelta(index=0, id="c", name="f", arguments="{"),),
            stop_reason=StopReason.LENGTH,
        ),
        id="x",
        created=5,
        model="m",
        role=True,
    )
    first, second = (json.loads(f[6:]) for f in body.split(b"\n\n")[:2])
    delta = first["choices"][0]["delta"]
    assert delta["role"] == "assistant"
    assert delta["content"] == "hi"
    assert delta["tool_calls"][0] == {
        "index": 0,
        "id": "c",
        "type": "function",
        "function": {"name": "f", "arguments": "{"},
    }
    assert second["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "length"}
    assert (first["id"], first["created"], first["object"]) == (
        "x",
        5,
        "chat.completion.chunk",
    )
    usage = wire_openai.usage_frame(Usage(input_tokens=2), id="x", created=5, model="m")
    assert json.loads(usage[6:])["choices"] == []


texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def streamed_answers(draw: st.DrawFn) -> tuple[list[ChatChunk], str, list[tuple[str, str, str]]]:
    """A random answer (text, then tool calls with their arguments in random
    pieces) as chunks, plus what the client must reassemble."""
    pieces = draw(st.lists(texts, max_size=6))
    calls = draw(
        st.lists(st.tuples(st.from_regex(r"[a-z_]{1,10}", fullmatch=True), json_values), max_size=3)
    )
    index_base = draw(st.sampled_from([0, 1, 5]))  # providers may number tool calls oddly
    chunks = [ChatChunk(text=piece) for piece in pieces]
    expected_calls = []
    for n, (name, value) in enumerate(calls):
        arguments = json.dumps({"v": value})
        cuts = sorted(draw(st.lists(st.integers(0, len(arguments)), max_size=4)))
        bounds = [0, *cuts, len(arguments)]
        fragments = [arguments[a:b] for a, b in itertools.pairwise(bounds)]
        call_id = f"call_{n}"
        chunks.append(
            ChatChunk(
                tool_calls=(
                    ToolCallDelta(
                        index=index_base + n, id=call_id, name=name, arguments=fragments[0]
                    ),
                )
            )
        )
        chunks.extend(
            ChatChunk(tool_calls=(ToolCallDelta(index=index_base + n, arguments=f),))
            for f in fragments[1:]
        )
        expected_calls.append((call_id, name, arguments))
    usage = Usage(input_tokens=draw(st.integers(0, 10**6)), output_tokens=draw(st.integers(0, 9)))
    chunks.append(
        ChatChunk(stop_reason=StopReason.TOOL_CALLS if calls else StopReason.STOP, usage=usage)
    )
    return chunks, "".join(pieces), expected_calls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(streamed_answers())
def test_sdk_reassembles_any_stream_we_encode(
    answer: tuple[list[ChatChunk], str, list[tuple[str, str, str]]],
) -> None:
    chunks, text, calls = answer
    gateway = Gateway()
    client = openai.OpenAI(
        api_key="k",
        base_url="http://gateway.test/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(gateway)),
        max_retries=0,
    )
    gateway.reply = sse_reply(stream_body(chunks, include_usage=True))
    with client.chat.completions.stream(
        model="m", messages=USER, stream_options={"include_usage": True}
    ) as stream:
        final = stream.get_final_completion()
    message = final.choices[0].message
    assert (message.content or "") == text
    got = [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]
    assert got == calls
    assert final.choices[0].finish_reason == ("tool_calls" if calls else "stop")
    assert final.usage is not None
    assert final.usage.prompt_tokens == chunks[-1].usage.input_tokens  # type: ignore[union-attr]


# ---------------------------------------------------------------------------
# Embeddings and models


def test_sdk_default_embeddings_are_base64_and_decode_to_our_floats(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    vectors = ((0.5, -1.25, 3.0e-5), (1.0, 0.0, -0.1))
    captured: list[tuple[Any, str]] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        call, encoding = decode_embeddings(request.content)
        captured.append((call, encoding))
        response = EmbeddingResponse(
            model="text-embedding-3-small", vectors=vectors, usage=Usage(input_tokens=6)
        )
        body = encode_embeddings(response, request_model=call.model, encoding_format=encoding)
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    gateway.reply = answer
    parsed = client.embeddings.create(model="openai/emb", input=["a", "b"], dimensions=3)

    call, encoding = captured[0]
    assert encoding == "base64"
    assert call.inputs == ("a", "b")
    assert call.dimensions == 3
    assert parsed.model == "openai/emb"
    assert [d.index for d in parsed.data] == [0, 1]
    for got, want in zip(parsed.data, vectors, strict=True):
        assert got.embedding == array.array("f", want).tolist()
    assert parsed.usage.prompt_tokens == parsed.usage.total_tokens == 6


def test_float_embeddings_are_plain_arrays(gateway: Gateway, client: openai.OpenAI) -> None:
    def answer(request: httpx2.Request) -> httpx2.Response:
        call, encoding = decode_embeddings(request.content)
        assert encoding == "float"
        response = EmbeddingResponse(model="x", vectors=((0.1, 0.2),), usage=Usage(input_tokens=1))
        body = encode_embeddings(response, request_model=call.model, encoding_format=encoding)
        return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

    gateway.reply = answer
    parsed = client.embeddings.create(model="m", input="hello", encoding_format="float")
    assert parsed.data[0].embedding == [0.1, 0.2]


def test_embeddings_default_to_float_when_no_format_is_given() -> None:
    request, encoding = decode_embeddings(b'{"model":"m","input":"x"}')
    assert (request.inputs, encoding) == (("x",), "float")


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"model":"m","input":[1,2,3]}', "input"),
        (b'{"model":"m","input":[[1,2],[3]]}', "input[0]"),
        (b'{"model":"m","input":[]}', "input"),
        (b'{"model":"m","input":""}', "input"),
        (b'{"model":"m","input":["a",""]}', "input[1]"),
        (b'{"model":"m","input":"a","encoding_format":"int8"}', "encoding_format"),
        (b'{"model":"m","input":"a","dimensions":0}', "dimensions"),
        (b'{"input":"a"}', "model"),
    ],
)
def test_invalid_embedding_requests_name_the_param(body: bytes, param: str) -> None:
    with pytest.raises(DialectError) as caught:
        decode_embeddings(body)
    assert caught.value.param == param


def test_too_many_embedding_inputs_are_refused() -> None:
    body = json.dumps({"model": "m", "input": ["x"] * 2049}).encode()
    with pytest.raises(DialectError, match="2048"):
        decode_embeddings(body)


def test_sdk_lists_our_models(gateway: Gateway, client: openai.OpenAI) -> None:
    gateway.reply = json_reply(
        encode_models(["openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5"], 0, "synapscale")
    )
    listed = list(client.models.list())
    assert [(m.id, m.object, m.owned_by, m.created) for m in listed] == [
        ("openai/gpt-4o-mini", "model", "synapscale", 0),
        ("anthropic/claude-sonnet-4-5", "model", "synapscale", 0),
    ]


# ---------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    ("exc", "status", "kind", "retry_after"),
    [
        (InvalidInput("bad", field="messages"), 400, "invalid_request_error", None),
        (ModelLacksCapability("no vision", field="model"), 400, "invalid_request_error", None),
        (ContextTooLong("too long"), 400, "invalid_request_error", None),
        (ProviderBadRequest("upstream said no"), 400, "invalid_request_error", None),
        (Unauthenticated(), 401, "invalid_request_error", None),
        (BudgetExceeded("Monthly budget spent."), 402, "insufficient_quota", None),
        (Forbidden(), 403, "permission_error", None),
        (UnpricedModelRefused(), 403, "permission_error", None),
        (ModelNotFound("no such model", field="model"), 404, "invalid_request_error", None),
        (NotFound(), 404, "invalid_request_error", None),
        (Conflict(), 409, "invalid_request_error", None),
        (LimitExceeded(retry_after=7), 429, "rate_limit_error", "7"),
        (ProviderRateLimited("slow down", retry_after=2.5), 429, "rate_limit_error", "3"),
        (ProviderAuthenticationFailed(), 502, "server_error", None),
        (ProviderUnavailable(), 502, "server_error", None),
        (CircuitOpen(), 503, "server_error", None),
        (ProviderOverloaded(retry_after=1), 503, "server_error", "1"),
        (StorageUnavailable(), 503, "server_error", None),
        (ProviderTimeout(), 504, "server_error", None),
        (DomainError("odd"), 500, "server_error", None),
    ],
)
def test_domain_errors_take_openai_s_shape(
    exc: DomainError, status: int, kind: str, retry_after: str | None
) -> None:
    got_status, body, headers = openai_error_for(exc)
    error = json.loads(body)["error"]
    assert got_status == status
    assert error == {"message": exc.detail, "type": kind, "param": exc.field, "code": exc.code}
    assert headers.get("Retry-After") == retry_after


def test_non_domain_errors_are_opaque_500s() -> None:
    status, body, _ = openai_error_for(RuntimeError("db password=hunter2"))
    assert status == 500
    assert b"hunter2" not in body


@pytest.mark.parametrize(
    ("exc", "sdk_error"),
    [
        (BudgetExceeded("Budget spent."), openai.APIStatusError),
        (LimitExceeded(retry_after=1), openai.RateLimitError),
        (ModelNotFound("nope"), openai.NotFoundError),
        (InvalidInput("bad"), openai.BadRequestError),
        (Unauthenticated(), openai.AuthenticationError),
        (ProviderTimeout(), openai.InternalServerError),
    ],
)
def test_sdk_raises_its_own_error_for_our_error_responses(
    gateway: Gateway, client: openai.OpenAI, exc: DomainError, sdk_error: type[Exception]
) -> None:
    status, body, headers = openai_error_for(exc)
    gateway.reply = json_reply(body, status=status, headers=headers)
    with pytest.raises(sdk_error) as caught:
        client.chat.completions.create(model="m", messages=USER)
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == status
    assert caught.value.code == exc.code
    assert exc.detail in caught.value.message


def test_dialect_errors_keep_their_own_status_and_type() -> None:
    error = DialectError("nope", param="x", status=413, type="request_too_large")
    status, body, _ = openai_error_for(error)
    assert status == 413
    assert json.loads(body)["error"] == {
        "message": "nope",
        "type": "request_too_large",
        "param": "x",
        "code": "invalid_request",
    }
