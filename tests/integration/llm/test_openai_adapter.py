"""The OpenAI-protocol adapter against the fake provider, over both HTTP transports."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from adapters.llm.provider_model import ProviderChatModel
from application.ports.llm import Endpoint
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    EmbeddingRequest,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    StopReason,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)
from domain.llm.errors import (
    ContextTooLong,
    ProviderAuthenticationFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from domain.llm.models import Provider
from tests.fakes.llm_upstream import MODELS, FakeUpstream, Step
from tests.integration.llm.conftest import OPENAI_KEY

CHAT = "/v1/chat/completions"
WEATHER = Tool(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def ask(text: str, **options: object) -> ChatRequest:
    return ChatRequest(
        model="openai/fake",
        messages=(Message(role=Role.USER, content=text),),
        **options,  # type: ignore[arg-type]
    )


async def call(
    model: ProviderChatModel,
    endpoint: Endpoint,
    name: str,
    request: ChatRequest,
    *,
    streaming: bool,
    time_limit: float = 5.0,
) -> str:
    """The reply text, by a JSON call or a drained stream."""
    if streaming:
        chunks = await collect(model, endpoint, name, request, time_limit=time_limit)
        return "".join(c.text for c in chunks)
    response = await model.complete(endpoint, name, request, time_limit=time_limit)
    return response.content


async def drain(
    model: ProviderChatModel,
    endpoint: Endpoint,
    name: str,
    request: ChatRequest,
    into: list[ChatChunk],
    *,
    time_limit: float = 5.0,
) -> None:
    """Read a stream, keeping what arrived before it failed."""
    async for chunk in model.stream(endpoint, name, request, time_limit=time_limit):
        into.append(chunk)


async def collect(
    model: ProviderChatModel,
    endpoint: Endpoint,
    name: str,
    request: ChatRequest,
    *,
    time_limit: float = 5.0,
) -> list[ChatChunk]:
    return [chunk async for chunk in model.stream(endpoint, name, request, time_limit=time_limit)]


# -- JSON ----------------------------------------------------------------------------------


async def test_completion_echoes_the_last_user_text_with_usage_and_stop_reason(
    model: ProviderChatModel, openai_endpoint: Endpoint
) -> None:
    response = await model.complete(
        openai_endpoint, "fake-model", ask("hello there world"), time_limit=5
    )

    assert response.content == "echo: hello there world"
    assert response.model == "fake-model"
    assert response.id.startswith("chatcmpl-")
    assert response.stop_reason is StopReason.STOP
    assert response.usage == Usage(input_tokens=3, output_tokens=4, cached_tokens=0)
    assert response.tool_calls == ()


async def test_api_key_is_sent_as_a_bearer_token(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    await model.complete(openai_endpoint, "fake-model", ask("hi"), time_limit=5)

    headers = fake.last.headers
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert "x-api-key" not in headers


async def test_cached_tokens_come_from_prompt_tokens_details(
    model: ProviderChatModel, openai_endpoint: Endpoint
) -> None:
    response = await model.complete(
        openai_endpoint, "fake-cached", ask("one two three four"), time_limit=5
    )

    assert response.usage == Usage(input_tokens=4, output_tokens=5, cached_tokens=2)


async def test_a_reply_cut_by_max_tokens_stops_for_length(
    model: ProviderChatModel, openai_endpoint: Endpoint
) -> None:
    response = await model.complete(
        openai_endpoint, "fake-model", ask("a b c d e", max_tokens=2), time_limit=5
    )

    assert response.content == "echo: a"
    assert response.stop_reason is StopReason.LENGTH


async def test_every_request_option_reaches_the_provider(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    request = ChatRequest(
        model="openai/fake",
        messages=(
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(role=Role.USER, content="hi", name="ann"),
        ),
        temperature=0.5,
        top_p=0.9,
        max_tokens=64,
        stop=("END",),
        seed=7,
        user="user-1",
        tools=(WEATHER,),
        tool_choice=ToolChoice(mode="tool", name="get_weather"),
        response_format=ResponseFormat(
            kind="json_schema", name="answer", schema={"type": "object"}, strict=True
        ),
    )

    await model.complete(openai_endpoint, "fake-model", request, time_limit=5)

    body = fake.last.body
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi", "name": "ann"},
    ]
    assert body["temperature"] == 0.5
    assert body["top_p"] == 0.9
    assert body["max_completion_tokens"] == 64
    assert "max_tokens" not in body
    assert body["stop"] == ["END"]
    assert body["seed"] == 7
    assert body["user"] == "user-1"
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city.",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}, "strict": True},
    }
    assert "stream" not in body


@pytest.mark.parametrize("provider", [Provider.GEMINI, Provider.OLLAMA, Provider.VLLM])
async def test_compatible_servers_get_the_classic_max_tokens(
    model: ProviderChatModel, fake: FakeUpstream, provider: Provider
) -> None:
    endpoint = Endpoint(provider=provider, base_url=fake.openai_base_url, api_key="local")

    await model.complete(endpoint, "llama3.2", ask("hi", max_tokens=10), time_limit=5)

    assert fake.last.body["max_tokens"] == 10
    assert "max_completion_tokens" not in fake.last.body


async def test_json_mode_asks_for_a_json_object(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    response = await model.complete(
        openai_endpoint,
        "fake-model",
        ask("hi", response_format=ResponseFormat(kind="json_object")),
        time_limit=5,
    )

    assert fake.last.body["response_format"] == {"type": "json_object"}
    assert response.content == '{"echo":"hi"}'


async def test_images_are_sent_as_image_url_parts(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    content = (
        TextPart("what is this"),
        ImagePart("https://example.com/cat.png", detail="low"),
        ImagePart("data:image/png;base64,iVBORw0KGgo="),
    )
    request = ChatRequest(model="openai/fake", messages=(Message(role=Role.USER, content=content),))

    response = await model.complete(openai_endpoint, "fake-model", request, time_limit=5)

    assert fake.last.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    assert response.content == "echo: what is this"


async def test_the_model_calls_a_tool(model: ProviderChatModel, openai_endpoint: Endpoint) -> None:
    response = await model.complete(
        openai_endpoint,
        "fake-model",
        ask("please call get_weather for Paris", tools=(WEATHER,)),
        time_limit=5,
    )

    assert response.stop_reason is StopReason.TOOL_CALLS
    assert response.content == ""
    (call,) = response.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("call_")
    assert call.arguments == '{"text":"please call get_weather for Paris"}'


async def test_tool_calls_and_results_are_sent_back_in_openai_shape(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    request = ChatRequest(
        model="openai/fake",
        messages=(
            Message(role=Role.USER, content="call get_weather"),
            Message(
                role=Role.ASSISTANT,
                tool_calls=(
                    ToolCall(id="call_9", name="get_weather", arguments='{"city":"Oslo"}'),
                ),
            ),
            Message(role=Role.TOOL, tool_call_id="call_9", content="sunny"),
        ),
        tools=(WEATHER,),
    )

    response = await model.complete(openai_endpoint, "fake-model", request, time_limit=5)

    assert fake.last.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "call_9"},
    ]
    assert response.content == "echo: sunny"
    assert response.stop_reason is StopReason.STOP


# -- streaming -----------------------------------------------------------------------------


async def test_stream_yields_text_then_the_stop_reason_then_usage(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    chunks = await collect(model, openai_endpoint, "fake-cached", ask("hello world"))

    assert "".join(c.text for c in chunks) == "echo: hello world"
    assert [c.text for c in chunks[:3]] == ["echo:", " hello", " world"]
    assert chunks[-2].stop_reason is StopReason.STOP
    assert chunks[-1].usage == Usage(input_tokens=2, output_tokens=3, cached_tokens=1)
    assert all(c.id == chunks[0].id and c.model == "fake-cached" for c in chunks)
    assert fake.last.body["stream"] is True
    assert fake.last.body["stream_options"] == {"include_usage": True}


async def test_stream_yields_tool_call_fragments(
    model: ProviderChatModel, openai_endpoint: Endpoint
) -> None:
    chunks = await collect(
        model, openai_endpoint, "fake-model", ask("call get_weather", tools=(WEATHER,))
    )

    deltas = [delta for chunk in chunks for delta in chunk.tool_calls]
    assert deltas[0].index == 0
    assert deltas[0].name == "get_weather"
    assert deltas[0].id is not None
    assert all(d.index == 0 for d in deltas)
    assert "".join(d.arguments for d in deltas) == '{"text":"call get_weather"}'
    assert [c.stop_reason for c in chunks if c.stop_reason] == [StopReason.TOOL_CALLS]


async def test_a_slow_stream_within_the_time_limit_completes(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.slow(0.05)])

    chunks = await collect(model, openai_endpoint, "fake-model", ask("a b"), time_limit=1)

    assert "".join(c.text for c in chunks) == "echo: a b"


# -- faults --------------------------------------------------------------------------------

FAULTS = [
    pytest.param(Step.status(429, retry_after=2), ProviderRateLimited, 429, 2.0, id="429-seconds"),
    pytest.param(
        Step.status(429, retry_after_ms=1500, retry_after=9),
        ProviderRateLimited,
        429,
        1.5,
        id="429-ms-wins",
    ),
    pytest.param(Step.status(500), ProviderUnavailable, 500, None, id="500"),
    pytest.param(Step.status(502), ProviderUnavailable, 502, None, id="502"),
    pytest.param(Step.status(503), ProviderOverloaded, 503, None, id="503"),
    pytest.param(Step.overloaded(), ProviderOverloaded, 529, None, id="529"),
    pytest.param(Step.context_too_long(), ContextTooLong, 400, None, id="context"),
    pytest.param(Step.unauthorized(), ProviderAuthenticationFailed, 401, None, id="401"),
    pytest.param(Step.status(403), ProviderAuthenticationFailed, 403, None, id="403"),
    pytest.param(
        Step.status(404, message="The model `x` does not exist"),
        ProviderBadRequest,
        404,
        None,
        id="404",
    ),
    pytest.param(
        Step.status(400, message="bad temperature"), ProviderBadRequest, 400, None, id="400"
    ),
]


@pytest.mark.parametrize(("step", "error", "status", "retry_after"), FAULTS)
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_provider_errors_map_to_ours(
    model: ProviderChatModel,
    openai_endpoint: Endpoint,
    fake: FakeUpstream,
    step: Step,
    error: type[ProviderError],
    status: int,
    retry_after: float | None,
    streaming: bool,
) -> None:
    fake.script("fake-model", [step])

    with pytest.raises(error) as caught:
        await call(
            model, openai_endpoint, "fake-model", ask("hi"), streaming=streaming, time_limit=5
        )

    assert type(caught.value) is error
    assert caught.value.upstream_status == status
    assert caught.value.retry_after == retry_after
    assert OPENAI_KEY not in str(caught.value)
    assert OPENAI_KEY not in caught.value.detail


async def test_the_key_a_provider_echoes_is_redacted(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.unauthorized()])

    with pytest.raises(ProviderAuthenticationFailed) as caught:
        await model.complete(openai_endpoint, "fake-model", ask("hi"), time_limit=5)

    assert "Incorrect API key provided: [redacted]" in caught.value.detail
    assert OPENAI_KEY[-10:] not in repr(caught.value.args)


async def test_retry_after_as_an_http_date(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake.script("fake-model", [Step.status(429, retry_after=when)])

    with pytest.raises(ProviderRateLimited) as caught:
        await model.complete(openai_endpoint, "fake-model", ask("hi"), time_limit=5)

    assert caught.value.retry_after is not None
    assert 27 <= caught.value.retry_after <= 30


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_malformed_json_is_unavailable(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream, streaming: bool
) -> None:
    fake.script("fake-model", [Step.malformed()])

    with pytest.raises(ProviderUnavailable, match="not readable JSON"):
        await call(
            model, openai_endpoint, "fake-model", ask("hi"), streaming=streaming, time_limit=5
        )


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_a_hang_times_out_within_the_limit(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream, streaming: bool
) -> None:
    fake.script("fake-model", [Step.hang()])
    started = time.perf_counter()

    with pytest.raises(ProviderTimeout):
        await call(
            model, openai_endpoint, "fake-model", ask("hi"), streaming=streaming, time_limit=0.3
        )

    assert 0.25 <= time.perf_counter() - started < 1.5


async def test_a_stream_that_stalls_between_chunks_times_out(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.stall(after_chunks=2)])
    received: list[ChatChunk] = []
    started = time.perf_counter()

    with pytest.raises(ProviderTimeout):
        await drain(model, openai_endpoint, "fake-model", ask("a b c"), received, time_limit=0.3)

    assert [c.text for c in received] == ["echo:"]
    assert time.perf_counter() - started < 1.5


async def test_a_slow_start_beyond_the_limit_times_out(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.slow(1.0)])

    with pytest.raises(ProviderTimeout):
        await collect(model, openai_endpoint, "fake-model", ask("a b c"), time_limit=0.3)


async def test_a_stream_dropped_midway_is_unavailable(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.drop(after_chunks=2)])
    received: list[ChatChunk] = []

    with pytest.raises(ProviderUnavailable):
        await drain(model, openai_endpoint, "fake-model", ask("a b c"), received, time_limit=5)

    assert [c.text for c in received] == ["echo:"]


async def test_a_stream_closed_cleanly_before_done_is_unavailable(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    # role, "echo:", " hi", finish, usage: everything but [DONE]
    fake.script("fake-model", [Step.drop(after_chunks=5)])

    with pytest.raises(ProviderUnavailable):
        await collect(model, openai_endpoint, "fake-model", ask("hi"))


async def test_a_json_body_cut_short_is_unavailable(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.drop()])

    with pytest.raises(ProviderUnavailable):
        await model.complete(openai_endpoint, "fake-model", ask("hi"), time_limit=5)


async def test_an_error_inside_the_stream_is_mapped(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.stream_error()])

    with pytest.raises(ProviderUnavailable, match="Overloaded"):
        await collect(model, openai_endpoint, "fake-model", ask("hi"))


async def test_a_refused_connection_is_unavailable(model: ProviderChatModel) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = Endpoint(
        provider=Provider.OPENAI, base_url=f"http://127.0.0.1:{port}/v1", api_key=OPENAI_KEY
    )

    with pytest.raises(ProviderUnavailable) as caught:
        await model.complete(endpoint, "fake-model", ask("hi"), time_limit=2)
    assert OPENAI_KEY not in str(caught.value)


async def test_concurrent_calls_share_the_pool(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("fake-model", [Step.slow(0.1)] * 20)

    responses = await asyncio.gather(
        *(
            model.complete(openai_endpoint, "fake-model", ask(f"n{i}"), time_limit=5)
            for i in range(20)
        )
    )

    assert sorted(r.content for r in responses) == sorted(f"echo: n{i}" for i in range(20))
    assert fake.max_in_flight >= 10


# -- embeddings and ping ---------------------------------------------------------------------


async def test_embeddings_come_back_in_input_order_as_floats(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    response = await model.embed(
        openai_endpoint,
        "text-embedding-3-small",
        EmbeddingRequest(model="openai/e", inputs=("one two", "three"), dimensions=4, user="u"),
        time_limit=5,
    )

    assert fake.last.path == "/v1/embeddings"
    assert fake.last.body == {
        "model": "text-embedding-3-small",
        "input": ["one two", "three"],
        "encoding_format": "float",
        "dimensions": 4,
        "user": "u",
    }
    assert len(response.vectors) == 2
    assert all(len(v) == 4 for v in response.vectors)
    assert response.vectors[0] != response.vectors[1]
    assert response.usage == Usage(input_tokens=3)


async def test_embedding_errors_are_mapped(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script("text-embedding-3-small", [Step.status(429, retry_after=1)])

    with pytest.raises(ProviderRateLimited):
        await model.embed(
            openai_endpoint,
            "text-embedding-3-small",
            EmbeddingRequest(model="openai/e", inputs=("x",)),
            time_limit=5,
        )


async def test_ping_lists_models_with_the_key(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    await model.ping(openai_endpoint, time_limit=5)

    assert fake.last.method == "GET"
    assert fake.last.path == "/v1/models"
    assert fake.last.headers["authorization"] == f"Bearer {OPENAI_KEY}"


async def test_ping_with_a_bad_key_fails_authentication(
    model: ProviderChatModel, openai_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(MODELS, [Step.unauthorized()])

    with pytest.raises(ProviderAuthenticationFailed) as caught:
        await model.ping(openai_endpoint, time_limit=5)
    assert OPENAI_KEY not in str(caught.value)
    assert len(fake.requests_to(CHAT)) == 0
