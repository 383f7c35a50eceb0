"""The Anthropic adapter against the fake provider, over both HTTP transports."""

from __future__ import annotations

import time

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
    ModelLacksCapability,
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
from tests.integration.llm.conftest import ANTHROPIC_KEY

MESSAGES = "/v1/messages"
CLAUDE = "claude-fake"
WEATHER = Tool(
    name="get_weather",
    description="The weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}},
)


def ask(text: str, **options: object) -> ChatRequest:
    return ChatRequest(
        model="anthropic/fake",
        messages=(Message(role=Role.USER, content=text),),
        **options,  # type: ignore[arg-type]
    )


async def collect(
    model: ProviderChatModel,
    endpoint: Endpoint,
    name: str,
    request: ChatRequest,
    *,
    time_limit: float = 5.0,
) -> list[ChatChunk]:
    return [chunk async for chunk in model.stream(endpoint, name, request, time_limit=time_limit)]


async def call(
    model: ProviderChatModel,
    endpoint: Endpoint,
    request: ChatRequest,
    *,
    streaming: bool,
    time_limit: float = 5.0,
) -> str:
    if streaming:
        chunks = await collect(model, endpoint, CLAUDE, request, time_limit=time_limit)
        return "".join(c.text for c in chunks)
    response = await model.complete(endpoint, CLAUDE, request, time_limit=time_limit)
    return response.content


async def drain(
    model: ProviderChatModel,
    endpoint: Endpoint,
    request: ChatRequest,
    into: list[ChatChunk],
    *,
    time_limit: float = 5.0,
) -> None:
    async for chunk in model.stream(endpoint, CLAUDE, request, time_limit=time_limit):
        into.append(chunk)


# -- JSON ----------------------------------------------------------------------------------


async def test_completion_echoes_with_usage_and_stop_reason(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    response = await model.complete(anthropic_endpoint, CLAUDE, ask("hello world"), time_limit=5)

    assert response.content == "echo: hello world"
    assert response.id.startswith("msg_")
    assert response.model == CLAUDE
    assert response.stop_reason is StopReason.STOP
    assert response.usage == Usage(input_tokens=2, output_tokens=3, cached_tokens=0)
    assert fake.last.path == MESSAGES
    assert fake.last.body["max_tokens"] == 1024  # the adapter's default: Anthropic requires one


async def test_api_key_is_sent_the_way_the_official_sdk_sends_it(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    await model.complete(anthropic_endpoint, CLAUDE, ask("hi"), time_limit=5)

    # anthropic 2.x (API version 2026-10-21) sends an API key as a bearer token, not x-api-key
    assert fake.last.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"
    assert "x-api-key" not in fake.last.headers
    assert "anthropic-version" in fake.last.headers


async def test_a_base_url_given_with_v1_still_reaches_messages(
    model: ProviderChatModel, fake: FakeUpstream
) -> None:
    endpoint = Endpoint(
        provider=Provider.ANTHROPIC, base_url=f"{fake.url}/v1/", api_key=ANTHROPIC_KEY
    )

    response = await model.complete(endpoint, CLAUDE, ask("hi"), time_limit=5)

    assert response.content == "echo: hi"
    assert fake.last.path == MESSAGES


async def test_cache_reads_and_writes_count_as_input_and_reads_as_cached(
    model: ProviderChatModel, anthropic_endpoint: Endpoint
) -> None:
    # the fake reports 8 input words as input 2 + cache read 4 + cache write 2
    response = await model.complete(
        anthropic_endpoint, "claude-cached", ask("a b c d e f g h"), time_limit=5
    )

    assert response.usage == Usage(input_tokens=8, output_tokens=9, cached_tokens=4)


async def test_a_reply_cut_by_max_tokens_stops_for_length(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    response = await model.complete(
        anthropic_endpoint, CLAUDE, ask("a b c d", max_tokens=3), time_limit=5
    )

    assert fake.last.body["max_tokens"] == 3
    assert response.content == "echo: a b"
    assert response.stop_reason is StopReason.LENGTH


async def test_system_messages_options_and_tools_in_anthropic_shape(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    request = ChatRequest(
        model="anthropic/fake",
        messages=(
            Message(role=Role.SYSTEM, content="Be brief."),
            Message(role=Role.USER, content="hi"),
            Message(role=Role.SYSTEM, content="Be kind."),
        ),
        temperature=0.2,
        top_p=0.8,
        stop=("END",),
        seed=3,
        user="user-1",
        tools=(WEATHER, Tool(name="noop")),
        tool_choice=ToolChoice(mode="required"),
    )

    await model.complete(anthropic_endpoint, CLAUDE, request, time_limit=5)

    body = fake.last.body
    assert body["system"] == "Be brief.\n\nBe kind."
    assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    assert "temperature" not in body  # the SDK's Messages API has no sampling parameters
    assert "top_p" not in body
    assert body["stop_sequences"] == ["END"]
    assert body["metadata"] == {"user_id": "user-1"}
    assert "seed" not in body
    assert body["tools"] == [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
        {"name": "noop", "input_schema": {"type": "object", "properties": {}}},
    ]
    assert body["tool_choice"] == {"type": "any"}


@pytest.mark.parametrize(
    ("choice", "sent"),
    [
        (ToolChoice(mode="auto"), {"type": "auto"}),
        (ToolChoice(mode="none"), {"type": "none"}),
        (ToolChoice(mode="tool", name="get_weather"), {"type": "tool", "name": "get_weather"}),
    ],
)
async def test_tool_choice_modes(
    model: ProviderChatModel,
    anthropic_endpoint: Endpoint,
    fake: FakeUpstream,
    choice: ToolChoice,
    sent: dict[str, str],
) -> None:
    await model.complete(
        anthropic_endpoint, CLAUDE, ask("hi", tools=(WEATHER,), tool_choice=choice), time_limit=5
    )

    assert fake.last.body["tool_choice"] == sent


async def test_json_schema_becomes_a_system_instruction(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    schema = {"type": "object", "properties": {"echo": {"type": "string"}}}
    response = await model.complete(
        anthropic_endpoint,
        CLAUDE,
        ask("hi", response_format=ResponseFormat(kind="json_schema", schema=schema)),
        time_limit=5,
    )

    system = fake.last.body["system"]
    assert "JSON" in system
    assert '{"type":"object","properties":{"echo":{"type":"string"}}}' in system
    assert "response_format" not in fake.last.body
    assert response.content == '{"echo":"hi"}'


async def test_json_object_asks_for_json_only(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    await model.complete(
        anthropic_endpoint,
        CLAUDE,
        ask("hi", response_format=ResponseFormat(kind="json_object")),
        time_limit=5,
    )

    assert "one valid JSON object only" in fake.last.body["system"]


async def test_images_become_base64_and_url_blocks(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    content = (
        TextPart("what is this"),
        ImagePart("data:image/PNG;base64,iVBORw0KGgo="),
        ImagePart("https://example.com/cat.jpg"),
    )
    request = ChatRequest(
        model="anthropic/fake", messages=(Message(role=Role.USER, content=content),)
    )

    await model.complete(anthropic_endpoint, CLAUDE, request, time_limit=5)

    assert fake.last.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this"},
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


@pytest.mark.parametrize(
    "url", ["data:image/png,rawbytes", "data:image/png;base64,not base64!", "data:;base64,AAAA"]
)
async def test_an_unusable_data_url_is_refused_before_calling(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream, url: str
) -> None:
    request = ChatRequest(
        model="anthropic/fake",
        messages=(Message(role=Role.USER, content=(ImagePart(url),)),),
    )

    with pytest.raises(ProviderBadRequest):
        await model.complete(anthropic_endpoint, CLAUDE, request, time_limit=5)
    assert fake.requests_to(MESSAGES) == []


async def test_the_model_calls_a_tool(
    model: ProviderChatModel, anthropic_endpoint: Endpoint
) -> None:
    response = await model.complete(
        anthropic_endpoint, CLAUDE, ask("call get_weather now", tools=(WEATHER,)), time_limit=5
    )

    assert response.stop_reason is StopReason.TOOL_CALLS
    assert response.content == "calling get_weather"
    (call,) = response.tool_calls
    assert call.name == "get_weather"
    assert call.id.startswith("toolu_")
    assert call.arguments == '{"text":"call get_weather now"}'


async def test_tool_calls_and_results_are_sent_as_blocks_with_roles_merged(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    request = ChatRequest(
        model="anthropic/fake",
        messages=(
            Message(role=Role.USER, content="call get_weather twice"),
            Message(
                role=Role.ASSISTANT,
                content="checking",
                tool_calls=(
                    ToolCall(id="toolu_1", name="get_weather", arguments='{"city": "Oslo"}'),
                    ToolCall(id="toolu_2", name="get_weather", arguments=""),
                ),
            ),
            Message(role=Role.TOOL, tool_call_id="toolu_1", content="sunny"),
            Message(role=Role.TOOL, tool_call_id="toolu_2", content="rainy"),
        ),
        tools=(WEATHER,),
    )

    response = await model.complete(anthropic_endpoint, CLAUDE, request, time_limit=5)

    assert fake.last.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "checking"},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {"city": "Oslo"},
                },
                {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": "rainy"},
            ],
        },
    ]
    assert response.content == "echo: sunny rainy"


@pytest.mark.parametrize("arguments", ['{"city": ', "[1, 2]"])
async def test_tool_arguments_that_are_not_a_json_object_are_refused_before_calling(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream, arguments: str
) -> None:
    request = ChatRequest(
        model="anthropic/fake",
        messages=(
            Message(role=Role.USER, content="hi"),
            Message(
                role=Role.ASSISTANT,
                tool_calls=(ToolCall(id="t1", name="get_weather", arguments=arguments),),
            ),
            Message(role=Role.TOOL, tool_call_id="t1", content="x"),
        ),
    )

    with pytest.raises(ProviderBadRequest, match="t1"):
        await model.complete(anthropic_endpoint, CLAUDE, request, time_limit=5)
    assert fake.requests_to(MESSAGES) == []


# -- streaming -----------------------------------------------------------------------------


async def test_stream_yields_text_then_stop_reason_with_usage(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    chunks = await collect(model, anthropic_endpoint, "claude-cached", ask("a b c d e f g h"))

    assert [c.text for c in chunks if c.text] == [
        "echo:",
        " a",
        " b",
        " c",
        " d",
        " e",
        " f",
        " g",
        " h",
    ]
    last = chunks[-1]
    assert last.stop_reason is StopReason.STOP
    assert last.usage == Usage(input_tokens=8, output_tokens=9, cached_tokens=4)
    assert all(c.id and c.id.startswith("msg_") for c in chunks)
    assert fake.last.body["stream"] is True


async def test_stream_numbers_tool_calls_from_zero_whatever_the_block_index(
    model: ProviderChatModel, anthropic_endpoint: Endpoint
) -> None:
    chunks = await collect(
        model, anthropic_endpoint, CLAUDE, ask("call get_weather", tools=(WEATHER,))
    )

    assert "".join(c.text for c in chunks) == "calling get_weather"
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0].index == 0
    assert deltas[0].name == "get_weather"
    assert deltas[0].id is not None
    assert deltas[0].id.startswith("toolu_")
    assert all(d.index == 0 for d in deltas)
    assert "".join(d.arguments for d in deltas) == '{"text":"call get_weather"}'
    assert chunks[-1].stop_reason is StopReason.TOOL_CALLS


async def test_an_overloaded_error_event_mid_stream_is_overloaded(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(CLAUDE, [Step.stream_error()])

    with pytest.raises(ProviderOverloaded, match="Overloaded"):
        await collect(model, anthropic_endpoint, CLAUDE, ask("hi"))


async def test_a_stream_dropped_midway_is_unavailable(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    # message_start, block start, ping, "echo:" then the connection goes
    fake.script(CLAUDE, [Step.drop(after_chunks=4)])
    received: list[ChatChunk] = []

    with pytest.raises(ProviderUnavailable):
        await drain(model, anthropic_endpoint, ask("a b c"), received)

    assert [c.text for c in received] == ["echo:"]


async def test_a_stream_closed_before_message_stop_is_unavailable(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    # message_start, block start, ping, 2 deltas, block stop, message_delta: no message_stop
    fake.script(CLAUDE, [Step.drop(after_chunks=7)])
    received: list[ChatChunk] = []

    with pytest.raises(ProviderUnavailable):
        await drain(model, anthropic_endpoint, ask("hi"), received)

    assert received[-1].stop_reason is StopReason.STOP


# -- faults --------------------------------------------------------------------------------

FAULTS = [
    pytest.param(Step.status(429, retry_after=3), ProviderRateLimited, 429, 3.0, id="429"),
    pytest.param(Step.status(500), ProviderUnavailable, 500, None, id="500"),
    pytest.param(Step.status(503), ProviderOverloaded, 503, None, id="503"),
    pytest.param(Step.overloaded(), ProviderOverloaded, 529, None, id="529"),
    pytest.param(Step.context_too_long(), ContextTooLong, 400, None, id="context"),
    pytest.param(Step.unauthorized(), ProviderAuthenticationFailed, 401, None, id="401"),
    pytest.param(Step.status(404, message="model: x"), ProviderBadRequest, 404, None, id="404"),
    pytest.param(Step.status(413), ProviderBadRequest, 413, None, id="413"),
]


@pytest.mark.parametrize(("step", "error", "status", "retry_after"), FAULTS)
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_provider_errors_map_to_ours(
    model: ProviderChatModel,
    anthropic_endpoint: Endpoint,
    fake: FakeUpstream,
    step: Step,
    error: type[ProviderError],
    status: int,
    retry_after: float | None,
    streaming: bool,
) -> None:
    fake.script(CLAUDE, [step])

    with pytest.raises(error) as caught:
        await call(model, anthropic_endpoint, ask("hi"), streaming=streaming)

    assert type(caught.value) is error
    assert caught.value.upstream_status == status
    assert caught.value.retry_after == retry_after
    assert ANTHROPIC_KEY not in str(caught.value)


async def test_the_key_a_provider_echoes_is_redacted(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(CLAUDE, [Step.unauthorized()])

    with pytest.raises(ProviderAuthenticationFailed) as caught:
        await model.complete(anthropic_endpoint, CLAUDE, ask("hi"), time_limit=5)

    assert "[redacted]" in caught.value.detail
    assert ANTHROPIC_KEY[-10:] not in str(caught.value)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_malformed_json_is_unavailable(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream, streaming: bool
) -> None:
    fake.script(CLAUDE, [Step.malformed()])

    with pytest.raises(ProviderUnavailable, match="not readable JSON"):
        await call(model, anthropic_endpoint, ask("hi"), streaming=streaming)


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "sse"])
async def test_a_hang_times_out_within_the_limit(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream, streaming: bool
) -> None:
    fake.script(CLAUDE, [Step.hang()])
    started = time.perf_counter()

    with pytest.raises(ProviderTimeout):
        await call(model, anthropic_endpoint, ask("hi"), streaming=streaming, time_limit=0.3)

    assert 0.25 <= time.perf_counter() - started < 1.5


async def test_a_slow_drip_within_the_limit_completes_and_beyond_it_times_out(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(CLAUDE, [Step.slow(0.05), Step.slow(1.0)])

    text = await call(model, anthropic_endpoint, ask("a b"), streaming=True, time_limit=0.5)
    assert text == "echo: a b"

    with pytest.raises(ProviderTimeout):
        await call(model, anthropic_endpoint, ask("a b"), streaming=True, time_limit=0.3)


async def test_a_stream_that_stalls_between_events_times_out(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(CLAUDE, [Step.stall(after_chunks=4)])
    received: list[ChatChunk] = []
    started = time.perf_counter()

    with pytest.raises(ProviderTimeout):
        await drain(model, anthropic_endpoint, ask("a b"), received, time_limit=0.3)

    assert [c.text for c in received] == ["echo:"]
    assert time.perf_counter() - started < 1.5


async def test_a_json_body_cut_short_is_unavailable(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(CLAUDE, [Step.drop()])

    with pytest.raises(ProviderUnavailable):
        await model.complete(anthropic_endpoint, CLAUDE, ask("hi"), time_limit=5)


# -- embeddings and ping ---------------------------------------------------------------------


async def test_anthropic_has_no_embeddings(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    with pytest.raises(ModelLacksCapability):
        await model.embed(
            anthropic_endpoint,
            CLAUDE,
            EmbeddingRequest(model="anthropic/x", inputs=("a",)),
            time_limit=5,
        )
    assert fake.requests == []


async def test_ping_lists_models_with_the_key(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    await model.ping(anthropic_endpoint, time_limit=5)

    assert (fake.last.method, fake.last.path) == ("GET", "/v1/models")
    assert fake.last.headers["authorization"] == f"Bearer {ANTHROPIC_KEY}"


async def test_ping_with_a_bad_key_fails_authentication(
    model: ProviderChatModel, anthropic_endpoint: Endpoint, fake: FakeUpstream
) -> None:
    fake.script(MODELS, [Step.unauthorized()])

    with pytest.raises(ProviderAuthenticationFailed) as caught:
        await model.ping(anthropic_endpoint, time_limit=5)
    assert ANTHROPIC_KEY not in str(caught.value)
