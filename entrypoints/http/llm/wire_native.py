"""The native dialect: ``POST /api/v1/llm/chat``, its response and its SSE events.

The request is strict like the rest of the native API (unknown fields are
rejected; Litestar answers 422 with the field's path). The status table here
is the gateway's canonical one: the OpenAI and Anthropic dialects start from
it and change only what their clients expect differently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal, Protocol

import msgspec
import structlog

from domain.common.errors import DomainError, InvalidInput
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ContentPart,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    TextPart,
    Tool,
    ToolCall,
    ToolChoice,
    Usage,
)
from domain.llm.usage import UsageRecord
from entrypoints.http.errors import status_of
from entrypoints.http.llm import sse

log = structlog.get_logger(__name__)


def retry_after(exc: BaseException) -> int | None:
    """Whole seconds to wait before retrying, when the error says."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        return None
    seconds = float(value)
    return max(1, int(seconds) + (0 if seconds.is_integer() else 1))


def usd(micros: int | None) -> str | None:
    """Integer micro-dollars as a USD string with 6 decimals (None stays None: unknown)."""
    if micros is None:
        return None
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


# ---------------------------------------------------------------------------
# Request

ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Text = Annotated[str, msgspec.Meta(max_length=10_000_000)]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
JsonSchema = dict[str, Any]


class Body(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


class TextPartIn(Body, kw_only=True, tag_field="type", tag="text"):
    text: Text


class ImagePartIn(Body, kw_only=True, tag_field="type", tag="image_url"):
    url: Annotated[str, msgspec.Meta(min_length=1, max_length=20_000_000)]
    detail: Literal["auto", "low", "high"] | None = None


PartIn = TextPartIn | ImagePartIn


class ToolCallIn(Body, kw_only=True):
    id: ShortText
    name: ShortText
    arguments: Text = ""


class MessageIn(Body, kw_only=True):
    role: Literal["system", "user", "assistant", "tool"]
    content: Text | Annotated[list[PartIn], msgspec.Meta(max_length=1_000)] = ""
    tool_calls: Annotated[list[ToolCallIn], msgspec.Meta(max_length=1_000)] | None = None
    tool_call_id: ShortText | None = None
    name: ShortText | None = None


class ToolIn(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    description: Annotated[str, msgspec.Meta(max_length=100_000)] | None = None
    parameters: JsonSchema | None = None


class ToolNameIn(Body, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class ResponseFormatIn(Body, kw_only=True):
    type: Literal["text", "json_object", "json_schema"]
    schema: JsonSchema | None = None
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    strict: bool | None = None


class ChatIn(Body, kw_only=True):
    model: ModelName
    messages: Annotated[list[MessageIn], msgspec.Meta(min_length=1, max_length=10_000)]
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=10_000_000)] | None = None
    stop: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=1_000)]
        | Annotated[
            list[Annotated[str, msgspec.Meta(min_length=1, max_length=1_000)]],
            msgspec.Meta(max_length=16),
        ]
        | None
    ) = None
    tools: Annotated[list[ToolIn], msgspec.Meta(max_length=512)] | None = None
    tool_choice: Literal["auto", "none", "required"] | ToolNameIn | None = None
    response_format: ResponseFormatIn | None = None
    stream: bool = False


def _content(content: str | list[PartIn]) -> str | tuple[ContentPart, ...]:
    if isinstance(content, str):
        return content
    return tuple(
        TextPart(part.text) if isinstance(part, TextPartIn) else ImagePart(part.url, part.detail)
        for part in content
    )


def _message(index: int, message: MessageIn) -> Message:
    role = Role(message.role)
    where = f"messages[{index}]"
    if message.tool_calls and role is not Role.ASSISTANT:
        raise InvalidInput("Only assistant messages carry tool_calls.", field=f"{where}.tool_calls")
    if role is Role.TOOL and not message.tool_call_id:
        raise InvalidInput(
            "A tool message needs the tool_call_id it answers.", field=f"{where}.tool_call_id"
        )
    if (
        role in (Role.SYSTEM, Role.ASSISTANT)
        and not isinstance(message.content, str)
        and any(isinstance(part, ImagePartIn) for part in message.content)
    ):
        raise InvalidInput(
            f"Images are only accepted in user and tool messages, not {role.value}.",
            field=f"{where}.content",
        )
    return Message(
        role=role,
        content=_content(message.content),
        tool_calls=tuple(
            ToolCall(id=call.id, name=call.name, arguments=call.arguments)
            for call in message.tool_calls or ()
        ),
        tool_call_id=message.tool_call_id if role is Role.TOOL else None,
        name=message.name,
    )


def to_domain(body: ChatIn) -> ChatRequest:
    """The native request as the gateway's request (rules msgspec cannot say → 422)."""
    tools = tuple(
        Tool(name=tool.name, description=tool.description, parameters=tool.parameters or {})
        for tool in body.tools or ()
    )
    choice: ToolChoice | None = None
    if isinstance(body.tool_choice, ToolNameIn):
        if body.tool_choice.name not in {tool.name for tool in tools}:
            raise InvalidInput("tool_choice names a tool not in tools.", field="tool_choice.name")
        choice = ToolChoice(mode="tool", name=body.tool_choice.name)
    elif body.tool_choice is not None:
        if body.tool_choice == "required" and not tools:
            raise InvalidInput("tool_choice 'required' needs tools.", field="tool_choice")
        choice = ToolChoice(mode=body.tool_choice)
    fmt: ResponseFormat | None = None
    if body.response_format is not None:
        given = body.response_format
        if given.type == "json_schema" and given.schema is None:
            raise InvalidInput(
                "A json_schema response format needs its schema.", field="response_format.schema"
            )
        fmt = ResponseFormat(
            kind=given.type,
            schema=given.schema if given.type == "json_schema" else None,
            name=given.name,
            strict=given.strict,
        )
    stop = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
    return ChatRequest(
        model=body.model,
        messages=tuple(_message(i, m) for i, m in enumerate(body.messages)),
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.max_tokens,
        stop=stop,
        tools=tools,
        tool_choice=choice,
        response_format=fmt,
        stream=body.stream,
    )


# ---------------------------------------------------------------------------
# Response


class UsageOut(msgspec.Struct, kw_only=True):
    input_tokens: int
    output_tokens: int
    cached_tokens: int


class ToolCallOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    arguments: str


class AttemptOut(msgspec.Struct, kw_only=True):
    model: str
    error: str | None


class ChatOut(msgspec.Struct, kw_only=True):
    id: str
    model: str  # what answered: provider/model
    requested_model: str  # what the caller named: provider/model or a route
    content: str
    tool_calls: list[ToolCallOut]
    stop_reason: str | None
    usage: UsageOut
    cost_usd: str | None  # 6 decimals; null when the model's price is unknown
    attempts: list[AttemptOut]
    latency_ms: int


_encoder = msgspec.json.Encoder()


def _usage_of(record: UsageRecord) -> UsageOut:
    return UsageOut(
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cached_tokens=record.cached_tokens,
    )


class AnsweredChat(Protocol):
    """What :func:`encode_result` reads; application.llm.complete_chat.ChatResult is one."""

    @property
    def response(self) -> ChatResponse: ...

    @property
    def model(self) -> object: ...

    @property
    def record(self) -> UsageRecord: ...


def chat_out(result: AnsweredChat) -> ChatOut:
    response, record = result.response, result.record
    return ChatOut(
        id=response.id,
        model=str(result.model),
        requested_model=record.requested_model,
        content=response.content,
        tool_calls=[
            ToolCallOut(id=call.id, name=call.name, arguments=call.arguments)
            for call in response.tool_calls
        ],
        stop_reason=response.stop_reason.value if response.stop_reason else None,
        usage=_usage_of(record),
        cost_usd=usd(record.cost_micros),
        attempts=[AttemptOut(model=a.model, error=a.error) for a in record.attempts],
        latency_ms=record.latency_ms,
    )


def encode_result(result: AnsweredChat) -> bytes:
    return _encoder.encode(chat_out(result))


# ---------------------------------------------------------------------------
# Streaming: `chunk`, `usage`, `done`, `error`


class ToolCallDeltaOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ChunkOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    text: str
    tool_calls: list[ToolCallDeltaOut] | None = None


class StreamUsageOut(msgspec.Struct, kw_only=True):
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: str | None


class DoneOut(msgspec.Struct, kw_only=True):
    stop_reason: str | None
    model: str


class ErrorOut(msgspec.Struct, kw_only=True):
    code: str
    detail: str
    status: int


def encode_chunk_event(chunk: ChatChunk) -> bytes:
    """``event: chunk`` for a chunk's text and tool-call deltas (b"" when it has neither)."""
    if not chunk.tool_calls:
        if not chunk.text:
            return b""
        return sse.event(b"chunk", b'{"text":' + _encoder.encode(chunk.text) + b"}")
    calls = [
        ToolCallDeltaOut(index=d.index, id=d.id, name=d.name, arguments=d.arguments)
        for d in chunk.tool_calls
    ]
    return sse.event(b"chunk", _encoder.encode(ChunkOut(text=chunk.text, tool_calls=calls)))


def encode_usage_event(usage: Usage, cost_micros: int | None) -> bytes:
    return sse.event(
        b"usage",
        _encoder.encode(
            StreamUsageOut(
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cached_tokens=usage.cached_tokens,
                cost_usd=usd(cost_micros),
            )
        ),
    )


def encode_done_event(stop_reason: str | None, model: str) -> bytes:
    return sse.event(b"done", _encoder.encode(DoneOut(stop_reason=stop_reason, model=model)))


def encode_error_event(exc: BaseException) -> bytes:
    """``event: error`` for a failure after the stream started; internals stay hidden."""
    if isinstance(exc, DomainError):
        body = ErrorOut(code=exc.code, detail=exc.detail, status=status_of(exc))
    else:
        body = ErrorOut(code="internal_error", detail="An internal error occurred.", status=500)
    return sse.event(b"error", _encoder.encode(body))


class OpenedStream(Protocol):
    """What :func:`stream_events` reads; application.llm.stream_chat.ChatStream is one."""

    @property
    def model(self) -> object: ...

    @property
    def record(self) -> UsageRecord | None: ...

    def __aiter__(self) -> AsyncIterator[ChatChunk]: ...


async def stream_events(stream: OpenedStream) -> AsyncIterator[bytes]:
    """The native SSE stream of an opened chat stream.

    ``stream`` is iterated once; its ``record`` (the accounted usage and cost,
    set when the iteration ends) fills the ``usage`` event, and its ``model``
    (what answered) the ``done`` event. A failure mid-stream becomes an
    ``error`` event and ends the stream.
    """
    stop_reason: str | None = None
    usage: Usage | None = None
    try:
        async for chunk in stream:
            frame = encode_chunk_event(chunk)
            if frame:
                yield frame
            if chunk.stop_reason is not None:
                stop_reason = chunk.stop_reason.value
            if chunk.usage is not None:
                usage = chunk.usage
    except DomainError as exc:
        yield encode_error_event(exc)
        return
    except Exception as exc:
        log.exception("llm.stream_failed", dialect="native")
        yield encode_error_event(exc)
        return
    record = stream.record
    if record is not None:
        usage = Usage(
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            cached_tokens=record.cached_tokens,
        )
    yield encode_usage_event(usage or Usage(), record.cost_micros if record else None)
    yield encode_done_event(stop_reason, str(stream.model))
