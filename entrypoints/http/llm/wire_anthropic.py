"""Anthropic's dialect: ``POST /v1/messages``, its SSE events and its error shape.

Decisions, for whoever reads the wire:
- ``thinking`` is accepted and ignored (the model answers without extended
  thinking), and thinking blocks replayed in assistant turns are dropped:
  clients such as Claude Code send them on every call, and refusing them
  would make the gateway unusable for those clients.
- ``top_k``, ``cache_control``, ``service_tier`` and other knobs are ignored;
  server tools (web search, code execution…) and document blocks are a 400.
- A tool call whose arguments are not a JSON object is answered with
  ``input: {}`` (Anthropic's clients require an object).
- A spent budget is a 402 ``billing_error``, Anthropic's own type for it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from typing import Annotated, Any, Final, Literal

import msgspec
import structlog

from domain.common.errors import DomainError
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ContentPart,
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
from domain.llm.errors import ProviderOverloaded
from entrypoints.http.errors import status_of
from entrypoints.http.llm import sse
from entrypoints.http.llm.wire_native import retry_after
from entrypoints.http.llm.wire_openai import DialectError, decode_or_400

log = structlog.get_logger(__name__)

# ---------------------------------------------------------------------------
# Request


class _In(msgspec.Struct, kw_only=True):
    """Unknown fields are ignored."""


class TextBlockIn(_In, tag_field="type", tag="text"):
    text: str


class Base64SourceIn(_In, tag_field="type", tag="base64"):
    media_type: str
    data: str


class UrlSourceIn(_In, tag_field="type", tag="url"):
    url: str


class FileSourceIn(_In, tag_field="type", tag="file"):
    pass


class ImageBlockIn(_In, tag_field="type", tag="image"):
    source: Base64SourceIn | UrlSourceIn | FileSourceIn


class ToolUseBlockIn(_In, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any = None


class ToolResultBlockIn(_In, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlockIn | ImageBlockIn] | None = None
    is_error: bool | None = None


class ThinkingBlockIn(_In, tag_field="type", tag="thinking"):
    pass


class RedactedThinkingBlockIn(_In, tag_field="type", tag="redacted_thinking"):
    pass


BlockIn = (
    TextBlockIn
    | ImageBlockIn
    | ToolUseBlockIn
    | ToolResultBlockIn
    | ThinkingBlockIn
    | RedactedThinkingBlockIn
)


class MessageIn(_In):
    role: Literal["user", "assistant", "system"]
    content: str | list[BlockIn]


class ToolIn(_In):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    type: str | None = None  # None or "custom"; anything else is a server tool


class ToolChoiceIn(_In):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None


class MetadataIn(_In):
    user_id: str | None = None


class OutputFormatIn(_In):
    type: Literal["json_schema"]
    schema: dict[str, Any]


class OutputConfigIn(_In):
    format: OutputFormatIn | None = None


class MessagesIn(_In):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    max_tokens: int
    messages: list[MessageIn]
    system: str | list[TextBlockIn] | None = None
    tools: list[ToolIn] | None = None
    tool_choice: ToolChoiceIn | None = None
    stop_sequences: list[str] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    metadata: MetadataIn | None = None
    output_config: OutputConfigIn | None = None
    stream: bool | None = None


_decoder: Final = msgspec.json.Decoder(MessagesIn)
_encoder: Final = msgspec.json.Encoder()


def _image(block: ImageBlockIn, param: str) -> ImagePart:
    source = block.source
    if isinstance(source, Base64SourceIn):
        return ImagePart(f"data:{source.media_type};base64,{source.data}")
    if isinstance(source, UrlSourceIn):
        if not source.url.startswith(("https://", "http://")):
            raise DialectError("An image URL must be http(s).", param=f"{param}.source.url")
        return ImagePart(source.url)
    raise DialectError(
        "Images by file id are not supported; send base64 data or a URL.",
        param=f"{param}.source.type",
    )


def _parts(blocks: list[ContentPart]) -> str | tuple[ContentPart, ...]:
    """Text-only content as one string; with images, the parts."""
    if all(isinstance(part, TextPart) for part in blocks):
        return "".join(part.text for part in blocks if isinstance(part, TextPart))
    return tuple(blocks)


def _tool_result(block: ToolResultBlockIn, param: str) -> Message:
    content: str | tuple[ContentPart, ...]
    if block.content is None or isinstance(block.content, str):
        content = block.content or ""
    else:
        content = _parts(
            [
                TextPart(part.text)
                if isinstance(part, TextBlockIn)
                else _image(part, f"{param}.content[{i}]")
                for i, part in enumerate(block.content)
            ]
        )
    return Message(role=Role.TOOL, content=content, tool_call_id=block.tool_use_id)


def _user_messages(index: int, given: MessageIn) -> list[Message]:
    """One user turn; each tool_result block becomes its own tool message, in order."""
    if isinstance(given.content, str):
        return [Message(role=Role.USER, content=given.content)]
    out: list[Message] = []
    pending: list[ContentPart] = []
    for i, block in enumerate(given.content):
        where = f"messages[{index}].content[{i}]"
        if isinstance(block, TextBlockIn):
            pending.append(TextPart(block.text))
        elif isinstance(block, ImageBlockIn):
            pending.append(_image(block, where))
        elif isinstance(block, ToolResultBlockIn):
            if pending:
                out.append(Message(role=Role.USER, content=tuple(pending)))
                pending = []
            out.append(_tool_result(block, where))
        elif isinstance(block, ThinkingBlockIn | RedactedThinkingBlockIn):
            continue
        else:
            raise DialectError(
                "tool_use blocks belong in assistant messages.", param=f"{where}.type"
            )
    if pending or not out:
        out.append(Message(role=Role.USER, content=tuple(pending)))
    return out


def _arguments(value: Any) -> str:
    return "{}" if value is None else _encoder.encode(value).decode()


def _assistant_message(index: int, given: MessageIn) -> Message:
    if isinstance(given.content, str):
        return Message(role=Role.ASSISTANT, content=given.content)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for i, block in enumerate(given.content):
        if isinstance(block, TextBlockIn):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlockIn):
            calls.append(ToolCall(id=block.id, name=block.name, arguments=_arguments(block.input)))
        elif isinstance(block, ThinkingBlockIn | RedactedThinkingBlockIn):
            continue
        else:
            raise DialectError(
                f"Assistant messages cannot hold {type(block).__struct_config__.tag} blocks.",
                param=f"messages[{index}].content[{i}].type",
            )
    return Message(role=Role.ASSISTANT, content="".join(texts), tool_calls=tuple(calls))


def _system_text(content: str | list[TextBlockIn] | list[BlockIn], param: str) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for i, block in enumerate(content):
        if not isinstance(block, TextBlockIn):
            raise DialectError("System content takes text blocks only.", param=f"{param}[{i}].type")
        texts.append(block.text)
    return "\n\n".join(texts)


def _tools(given: MessagesIn) -> tuple[Tool, ...]:
    tools = []
    for i, tool in enumerate(given.tools or ()):
        if tool.type not in (None, "custom"):
            raise DialectError(
                f"Server tools ({tool.type}) are not supported; define your own tools.",
                param=f"tools[{i}].type",
            )
        if tool.input_schema is None:
            raise DialectError("A tool needs its input_schema.", param=f"tools[{i}].input_schema")
        tools.append(
            Tool(name=tool.name, description=tool.description, parameters=tool.input_schema)
        )
    return tuple(tools)


def _tool_choice(given: ToolChoiceIn | None, tools: tuple[Tool, ...]) -> ToolChoice | None:
    if given is None:
        return None
    if given.type == "tool":
        if not given.name or given.name not in {tool.name for tool in tools}:
            raise DialectError(
                "tool_choice names a tool that is not in tools.", param="tool_choice.name"
            )
        return ToolChoice(mode="tool", name=given.name)
    if given.type == "any":
        if not tools:
            raise DialectError("tool_choice 'any' needs tools.", param="tool_choice.type")
        return ToolChoice(mode="required")
    return ToolChoice(mode=given.type) if tools else None


def decode_messages(body: bytes) -> ChatRequest:
    """A ``/v1/messages`` body as the gateway's request."""
    given = decode_or_400(_decoder, body)
    if given.max_tokens < 1:
        raise DialectError("max_tokens must be at least 1.", param="max_tokens")
    if not given.messages:
        raise DialectError("messages must hold at least one message.", param="messages")
    messages: list[Message] = []
    if given.system:
        messages.append(Message(role=Role.SYSTEM, content=_system_text(given.system, "system")))
    for index, message in enumerate(given.messages):
        if message.role == "user":
            messages.extend(_user_messages(index, message))
        elif message.role == "assistant":
            messages.append(_assistant_message(index, message))
        else:
            text = _system_text(message.content, f"messages[{index}].content")
            messages.append(Message(role=Role.SYSTEM, content=text))
    tools = _tools(given)
    fmt = given.output_config.format if given.output_config else None
    return ChatRequest(
        model=given.model,
        messages=tuple(messages),
        temperature=given.temperature,
        top_p=given.top_p,
        max_tokens=given.max_tokens,
        stop=tuple(given.stop_sequences or ()),
        tools=tools,
        tool_choice=_tool_choice(given.tool_choice, tools),
        response_format=ResponseFormat(kind="json_schema", schema=fmt.schema) if fmt else None,
        stream=bool(given.stream),
        user=given.metadata.user_id if given.metadata else None,
    )


# ---------------------------------------------------------------------------
# Response


class TextBlockOut(msgspec.Struct, kw_only=True, tag_field="type", tag="text"):
    text: str


class ToolUseBlockOut(msgspec.Struct, kw_only=True, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: Any


class UsageOut(msgspec.Struct, kw_only=True):
    input_tokens: int
    output_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int = 0


class MessageOut(msgspec.Struct, kw_only=True):
    id: str
    type: str = "message"
    role: str = "assistant"
    model: str
    content: list[TextBlockOut | ToolUseBlockOut]
    stop_reason: str | None
    stop_sequence: str | None = None
    usage: UsageOut


_STOP_REASONS: Final = {
    StopReason.STOP: "end_turn",
    StopReason.LENGTH: "max_tokens",
    StopReason.TOOL_CALLS: "tool_use",
    StopReason.CONTENT_FILTER: "refusal",
}

_object_decoder: Final = msgspec.json.Decoder(dict[str, Any])


def tool_input(arguments: str) -> dict[str, Any]:
    """A tool call's arguments as Anthropic's ``input`` object ({} when they are not one)."""
    if not arguments.strip():
        return {}
    try:
        return _object_decoder.decode(arguments)
    except msgspec.DecodeError:
        return {}


def stop_reason(stop: StopReason | None, has_tool_calls: bool) -> str:
    if stop is None:
        return "tool_use" if has_tool_calls else "end_turn"
    return _STOP_REASONS[stop]


def message_id(raw: str | None) -> str:
    if not raw:
        return f"msg_{uuid.uuid4().hex}"
    return raw if raw.startswith("msg_") else f"msg_{raw}"


def usage_out(usage: Usage | None) -> UsageOut:
    """Anthropic counts cache reads apart from ``input_tokens``; we count them in it."""
    usage = usage or Usage()
    return UsageOut(
        input_tokens=max(0, usage.input_tokens - usage.cached_tokens),
        output_tokens=usage.output_tokens,
        cache_read_input_tokens=usage.cached_tokens,
    )


def encode_message(response: ChatResponse, *, request_model: str) -> bytes:
    content: list[TextBlockOut | ToolUseBlockOut] = []
    if response.content or not response.tool_calls:
        content.append(TextBlockOut(text=response.content))
    content.extend(
        ToolUseBlockOut(id=call.id, name=call.name, input=tool_input(call.arguments))
        for call in response.tool_calls
    )
    return _encoder.encode(
        MessageOut(
            id=message_id(response.id),
            model=request_model,
            content=content,
            stop_reason=stop_reason(response.stop_reason, bool(response.tool_calls)),
            usage=usage_out(response.usage),
        )
    )


# ---------------------------------------------------------------------------
# Streaming


class MessageStartOut(msgspec.Struct, kw_only=True, tag_field="type", tag="message_start"):
    message: MessageOut


class BlockStartOut(msgspec.Struct, kw_only=True, tag_field="type", tag="content_block_start"):
    index: int
    content_block: TextBlockOut | ToolUseBlockOut


class BlockStopOut(msgspec.Struct, kw_only=True, tag_field="type", tag="content_block_stop"):
    index: int


class MessageDeltaBody(msgspec.Struct, kw_only=True):
    stop_reason: str
    stop_sequence: str | None = None


class DeltaUsageOut(msgspec.Struct, kw_only=True):
    output_tokens: int
    input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class MessageDeltaOut(msgspec.Struct, kw_only=True, tag_field="type", tag="message_delta"):
    delta: MessageDeltaBody
    usage: DeltaUsageOut


class ErrorBody(msgspec.Struct, kw_only=True):
    type: str
    message: str


class ErrorOut(msgspec.Struct, kw_only=True, tag_field="type", tag="error"):
    error: ErrorBody


MESSAGE_STOP: Final = sse.event(b"message_stop", b'{"type":"message_stop"}')
PING: Final = sse.event(b"ping", b'{"type":"ping"}')


class AnthropicStreamEncoder:
    """Turns one stream's ChatChunks into Anthropic's SSE events.

    Text and tool calls become content blocks numbered in order; a block is
    stopped when another starts (text after a tool call opens a new text
    block), and each tool call is one ``tool_use`` block fed by
    ``input_json_delta``s.
    """

    def __init__(self, *, model: str, id: str | None = None) -> None:
        self.model = model
        self.id = id
        self._started = False
        self._blocks = 0
        self._open: int | None = None  # the index of the open block
        self._open_tool: int | None = None  # the stream's tool index of the open block
        self._tool_blocks: dict[int, int] = {}  # stream tool index -> block index
        self._saw_tool = False
        self._stop: StopReason | None = None
        self.usage: Usage | None = None

    def _start(self, chunk: ChatChunk | None) -> bytes:
        self._started = True
        if chunk is not None and chunk.usage is not None:
            self.usage = chunk.usage
        self.id = message_id(self.id or (chunk.id if chunk else None))
        skeleton = MessageOut(
            id=self.id,
            model=self.model,
            content=[],
            stop_reason=None,
            usage=usage_out(self.usage),
        )
        return (
            sse.event(b"message_start", _encoder.encode(MessageStartOut(message=skeleton))) + PING
        )

    def _close_open(self) -> bytes:
        if self._open is None:
            return b""
        frame = sse.event(b"content_block_stop", _encoder.encode(BlockStopOut(index=self._open)))
        self._open = None
        self._open_tool = None
        return frame

    def _open_block(self, block: TextBlockOut | ToolUseBlockOut) -> tuple[int, bytes]:
        out = self._close_open()
        index = self._blocks
        self._blocks += 1
        self._open = index
        start = BlockStartOut(index=index, content_block=block)
        return index, out + sse.event(b"content_block_start", _encoder.encode(start))

    def encode(self, chunk: ChatChunk) -> bytes:
        out = b"" if self._started else self._start(chunk)
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.stop_reason is not None:
            self._stop = chunk.stop_reason
        if chunk.text:
            if self._open is None or self._open_tool is not None:
                _, frames = self._open_block(TextBlockOut(text=""))
                out += frames
            out += sse.event(
                b"content_block_delta",
                b'{"type":"content_block_delta","index":'
                + str(self._open).encode()
                + b',"delta":{"type":"text_delta","text":'
                + _encoder.encode(chunk.text)
                + b"}}",
            )
        for delta in chunk.tool_calls:
            self._saw_tool = True
            index = self._tool_blocks.get(delta.index)
            if index is None:
                block = ToolUseBlockOut(
                    id=delta.id or f"toolu_{uuid.uuid4().hex[:24]}",
                    name=delta.name or "",
                    input={},
                )
                index, frames = self._open_block(block)
                self._open_tool = delta.index
                self._tool_blocks[delta.index] = index
                out += frames
            if delta.arguments:
                out += sse.event(
                    b"content_block_delta",
                    b'{"type":"content_block_delta","index":'
                    + str(index).encode()
                    + b',"delta":{"type":"input_json_delta","partial_json":'
                    + _encoder.encode(delta.arguments)
                    + b"}}",
                )
        return out

    def finish(self, usage: Usage | None = None) -> bytes:
        """Close the open block, then ``message_delta`` and ``message_stop``.
        ``usage`` stands in when the stream itself reported none."""
        out = b"" if self._started else self._start(None)
        out += self._close_open()
        final = self.usage or usage or Usage()
        delta = MessageDeltaOut(
            delta=MessageDeltaBody(stop_reason=stop_reason(self._stop, self._saw_tool)),
            usage=DeltaUsageOut(
                output_tokens=final.output_tokens,
                input_tokens=max(0, final.input_tokens - final.cached_tokens),
                cache_read_input_tokens=final.cached_tokens,
            ),
        )
        return out + sse.event(b"message_delta", _encoder.encode(delta)) + MESSAGE_STOP

    async def frames(self, stream: AsyncIterable[ChatChunk]) -> AsyncIterator[bytes]:
        """The whole SSE body for ``stream`` (iterated once); a failure after the
        start becomes an ``error`` event. A ChatStream's ``record`` fills a
        missing usage."""
        try:
            async for chunk in stream:
                out = self.encode(chunk)
                if out:
                    yield out
        except DomainError as exc:
            yield error_event(exc)
            return
        except Exception as exc:
            log.exception("llm.stream_failed", dialect="anthropic")
            yield error_event(exc)
            return
        record = getattr(stream, "record", None)
        fallback = (
            Usage(
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cached_tokens=record.cached_tokens,
            )
            if record is not None
            else None
        )
        yield self.finish(fallback)


def error_event(exc: BaseException) -> bytes:
    """``event: error`` for a failure after the stream started."""
    return sse.event(b"error", anthropic_error_for(exc)[1])


# ---------------------------------------------------------------------------
# Errors

ANTHROPIC_ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def encode_error(type: str, message: str) -> bytes:
    """Anthropic's error body: ``{"type": "error", "error": {"type", "message"}}``."""
    return _encoder.encode(ErrorOut(error=ErrorBody(type=type, message=message)))


def anthropic_error_for(exc: BaseException) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of an error on an Anthropic-dialect route."""
    headers: dict[str, str] = {}
    if isinstance(exc, DialectError):
        status = exc.status
        return status, encode_error(ANTHROPIC_ERROR_TYPES.get(status, "api_error"), exc.message), {}
    if not isinstance(exc, DomainError):
        return 500, encode_error("api_error", "An internal error occurred."), headers
    status = 529 if isinstance(exc, ProviderOverloaded) else status_of(exc)
    if status == 422:
        status = 400
    kind = ANTHROPIC_ERROR_TYPES.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    wait = retry_after(exc)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return status, encode_error(kind, exc.detail), headers
