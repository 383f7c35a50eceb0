"""OpenAI's dialect: ``/v1/chat/completions``, ``/v1/embeddings``, ``/v1/models``.

Requests are decoded once, straight into msgspec Structs, and turned into the
gateway's domain types; responses are encoded straight to bytes. Decoding is
lenient the way OpenAI-compatible servers must be (unknown fields and harmless
knobs are ignored) but anything we cannot honour is a 400
``invalid_request_error`` naming the offending ``param``, never a 500.
"""

from __future__ import annotations

import base64
import re
import sys
import uuid
from array import array
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
import structlog

from domain.common.errors import BadRequest, DomainError
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    ContentPart,
    EmbeddingRequest,
    EmbeddingResponse,
    ImagePart,
    Message,
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
from entrypoints.http.errors import status_of
from entrypoints.http.llm import sse
from entrypoints.http.llm.wire_native import retry_after

log = structlog.get_logger(__name__)

S = TypeVar("S")


class DialectError(BadRequest):
    """A request this dialect cannot accept; the controller answers it in the
    dialect's own error shape (a 400 unless ``status`` says otherwise)."""

    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        status: int = 400,
        type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message, field=param)
        self.message = message
        self.param = param
        self.status = status
        self.type = type


_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


def decode_or_400(decoder: msgspec.json.Decoder[S], body: bytes) -> S:
    """``body`` decoded, or a DialectError whose ``param`` is the JSON path at fault."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        param: str | None = None
        match = _AT.search(message)
        if match:
            message = message[: match.start()]
            param = match["path"] or None
        missing = _MISSING.search(message)
        if missing:
            param = f"{param}.{missing['name']}" if param else missing["name"]
        raise DialectError(message.rstrip(".") + ".", param=param) from None
    except msgspec.DecodeError:
        raise DialectError(
            "The request body is not valid JSON; send a JSON object.", param=None
        ) from None


# ---------------------------------------------------------------------------
# Chat completions: request


class _In(msgspec.Struct, kw_only=True):
    """Unknown fields are ignored: OpenAI-compatible clients send many."""


class TextPartIn(_In, tag_field="type", tag="text"):
    text: str


class ImageUrlIn(_In):
    url: str
    detail: str | None = None


class ImagePartIn(_In, tag_field="type", tag="image_url"):
    image_url: ImageUrlIn


class RefusalPartIn(_In, tag_field="type", tag="refusal"):
    refusal: str


class AudioPartIn(_In, tag_field="type", tag="input_audio"):
    pass


class FilePartIn(_In, tag_field="type", tag="file"):
    pass


PartIn = TextPartIn | ImagePartIn | RefusalPartIn | AudioPartIn | FilePartIn
ContentIn = str | list[PartIn]


class FunctionCallIn(_In):
    name: str
    arguments: str = ""


class ToolCallIn(_In, tag_field="type", tag="function"):
    id: str
    function: FunctionCallIn


class SystemIn(_In, tag_field="role", tag="system"):
    content: ContentIn
    name: str | None = None


class DeveloperIn(_In, tag_field="role", tag="developer"):
    content: ContentIn
    name: str | None = None


class UserIn(_In, tag_field="role", tag="user"):
    content: ContentIn
    name: str | None = None


class AssistantIn(_In, tag_field="role", tag="assistant"):
    content: ContentIn | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    function_call: FunctionCallIn | None = None  # legacy


class ToolMessageIn(_In, tag_field="role", tag="tool"):
    content: ContentIn
    tool_call_id: str


class FunctionMessageIn(_In, tag_field="role", tag="function"):  # legacy
    name: str
    content: str | None = None


MessageIn = SystemIn | DeveloperIn | UserIn | AssistantIn | ToolMessageIn | FunctionMessageIn


class FunctionDefIn(_In):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefIn(_In, tag_field="type", tag="function"):
    function: FunctionDefIn


class NameIn(_In):
    name: str


class NamedChoiceIn(_In, tag_field="type", tag="function"):
    function: NameIn


class AllowedToolsIn(_In):
    mode: Literal["auto", "required"]
    tools: list[dict[str, Any]]


class AllowedChoiceIn(_In, tag_field="type", tag="allowed_tools"):
    allowed_tools: AllowedToolsIn


class FormatTextIn(_In, tag_field="type", tag="text"):
    pass


class FormatJsonObjectIn(_In, tag_field="type", tag="json_object"):
    pass


class JsonSchemaIn(_In):
    name: str | None = None
    schema: dict[str, Any] | None = None
    strict: bool | None = None


class FormatJsonSchemaIn(_In, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaIn


class StreamOptionsIn(_In):
    include_usage: bool | None = None


class ChatCompletionIn(_In):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    messages: list[MessageIn]
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    stop: str | list[str] | None = None
    tools: list[ToolDefIn] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedChoiceIn | AllowedChoiceIn | None = None
    functions: list[FunctionDefIn] | None = None  # legacy
    function_call: Literal["none", "auto"] | NameIn | None = None  # legacy
    response_format: FormatTextIn | FormatJsonObjectIn | FormatJsonSchemaIn | None = None
    stream: bool | None = None
    stream_options: StreamOptionsIn | None = None
    seed: int | None = None
    user: str | None = None
    safety_identifier: str | None = None
    n: int | None = None
    logprobs: bool | None = None
    modalities: list[str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIOptions:
    """What this dialect's request asks of the response, beyond the domain request."""

    include_usage: bool = False


_chat_decoder: Final = msgspec.json.Decoder(ChatCompletionIn)
_IMAGE_SCHEMES = ("https://", "http://", "data:")


def _image(url: str, detail: str | None, param: str) -> ImagePart:
    if not url.startswith(_IMAGE_SCHEMES):
        raise DialectError("An image must be an http(s) URL or a data: URL.", param=param)
    return ImagePart(url, detail)


def _text_only(content: ContentIn | None, where: str, *, refusal: bool = False) -> str:
    """Content of a role that takes text only, as one string."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for i, part in enumerate(content):
        if isinstance(part, TextPartIn):
            texts.append(part.text)
        elif refusal and isinstance(part, RefusalPartIn):
            texts.append(part.refusal)
        else:
            raise DialectError(
                f"This message's content accepts text parts only, not {_part_name(part)}.",
                param=f"{where}.content[{i}].type",
            )
    return "".join(texts)


def _part_name(part: PartIn) -> str:
    return str(type(part).__struct_config__.tag)


def _user_content(content: ContentIn, where: str) -> str | tuple[ContentPart, ...]:
    if isinstance(content, str):
        return content
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        if isinstance(part, TextPartIn):
            parts.append(TextPart(part.text))
        elif isinstance(part, ImagePartIn):
            parts.append(
                _image(part.image_url.url, part.image_url.detail, f"{where}.content[{i}].image_url")
            )
        else:
            raise DialectError(
                f"Content parts of type {_part_name(part)!r} are not supported.",
                param=f"{where}.content[{i}].type",
            )
    return tuple(parts)


def _legacy_id(name: str) -> str:
    return f"call_legacy_{name}"


def _message(index: int, given: MessageIn) -> Message:
    where = f"messages[{index}]"
    if isinstance(given, UserIn):
        return Message(role=Role.USER, content=_user_content(given.content, where), name=given.name)
    if isinstance(given, SystemIn | DeveloperIn):
        return Message(role=Role.SYSTEM, content=_text_only(given.content, where), name=given.name)
    if isinstance(given, AssistantIn):
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in given.tool_calls or ()
        )
        if given.function_call is not None and not calls:
            legacy = given.function_call
            calls = (
                ToolCall(id=_legacy_id(legacy.name), name=legacy.name, arguments=legacy.arguments),
            )
        return Message(
            role=Role.ASSISTANT,
            content=_text_only(given.content, where, refusal=True),
            tool_calls=calls,
            name=given.name,
        )
    if isinstance(given, ToolMessageIn):
        return Message(
            role=Role.TOOL,
            content=_text_only(given.content, where),
            tool_call_id=given.tool_call_id,
        )
    return Message(role=Role.TOOL, content=given.content or "", tool_call_id=_legacy_id(given.name))


def _tools(body: ChatCompletionIn) -> tuple[Tool, ...]:
    definitions = [tool.function for tool in body.tools or ()] or list(body.functions or ())
    return tuple(
        Tool(name=f.name, description=f.description, parameters=f.parameters or {})
        for f in definitions
    )


def _allowed_name(entry: dict[str, Any]) -> str | None:
    function = entry.get("function")
    name = function.get("name") if isinstance(function, dict) else entry.get("name")
    return name if isinstance(name, str) else None


def _tool_choice(
    body: ChatCompletionIn, tools: tuple[Tool, ...]
) -> tuple[ToolChoice | None, tuple[Tool, ...]]:
    given = body.tool_choice
    param = "tool_choice"
    if given is None and body.function_call is not None:
        given = (
            NamedChoiceIn(function=body.function_call)
            if isinstance(body.function_call, NameIn)
            else body.function_call
        )
        param = "function_call"
    if given is None:
        return None, tools
    if isinstance(given, AllowedChoiceIn):
        allowed = {_allowed_name(entry) for entry in given.allowed_tools.tools}
        kept = tuple(tool for tool in tools if tool.name in allowed)
        if not kept:
            raise DialectError(
                "tool_choice.allowed_tools names none of the request's tools.",
                param="tool_choice.allowed_tools.tools",
            )
        return ToolChoice(mode=given.allowed_tools.mode), kept
    if isinstance(given, NamedChoiceIn):
        if given.function.name not in {tool.name for tool in tools}:
            raise DialectError(
                f"{param} names the function {given.function.name!r}, which is not in tools.",
                param=param,
            )
        return ToolChoice(mode="tool", name=given.function.name), tools
    if not tools:
        if given == "required":
            raise DialectError("tool_choice 'required' needs tools.", param=param)
        return None, tools
    return ToolChoice(mode=given), tools


def _response_format(body: ChatCompletionIn) -> ResponseFormat | None:
    given = body.response_format
    if given is None or isinstance(given, FormatTextIn):
        return None
    if isinstance(given, FormatJsonObjectIn):
        return ResponseFormat(kind="json_object")
    spec = given.json_schema
    if spec.schema is None:
        return ResponseFormat(kind="json_object", name=spec.name)
    return ResponseFormat(
        kind="json_schema", schema=spec.schema, name=spec.name, strict=spec.strict
    )


def decode_chat(body: bytes) -> tuple[ChatRequest, OpenAIOptions]:
    """A ``/v1/chat/completions`` body as the gateway's request, plus this dialect's options."""
    given = decode_or_400(_chat_decoder, body)
    if not given.messages:
        raise DialectError("messages must hold at least one message.", param="messages")
    if given.n is not None and given.n != 1:
        raise DialectError("Only n=1 is supported.", param="n")
    if given.logprobs:
        raise DialectError("logprobs are not supported.", param="logprobs")
    if given.modalities and any(kind != "text" for kind in given.modalities):
        raise DialectError("Only text output is supported.", param="modalities")
    tools = _tools(given)
    choice, tools = _tool_choice(given, tools)
    stop = (given.stop,) if isinstance(given.stop, str) else tuple(given.stop or ())
    stream = bool(given.stream)
    request = ChatRequest(
        model=given.model,
        messages=tuple(_message(i, m) for i, m in enumerate(given.messages)),
        temperature=given.temperature,
        top_p=given.top_p,
        max_tokens=given.max_completion_tokens or given.max_tokens,
        stop=stop,
        tools=tools,
        tool_choice=choice,
        response_format=_response_format(given),
        stream=stream,
        seed=given.seed,
        user=given.user or given.safety_identifier,
    )
    include_usage = bool(stream and given.stream_options and given.stream_options.include_usage)
    return request, OpenAIOptions(include_usage=include_usage)


# ---------------------------------------------------------------------------
# Chat completions: response


class FunctionOut(msgspec.Struct, kw_only=True):
    name: str
    arguments: str


class ToolCallOut(msgspec.Struct, kw_only=True):
    id: str
    type: str = "function"
    function: FunctionOut


class MessageOut(msgspec.Struct, kw_only=True):
    role: str = "assistant"
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCallOut] | msgspec.UnsetType = msgspec.UNSET


class ChoiceOut(msgspec.Struct, kw_only=True):
    index: int = 0
    message: MessageOut
    finish_reason: str
    logprobs: None = None


class PromptDetailsOut(msgspec.Struct, kw_only=True):
    cached_tokens: int


class UsageOut(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptDetailsOut


class CompletionOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "chat.completion"
    created: int
    model: str
    choices: list[ChoiceOut]
    usage: UsageOut | msgspec.UnsetType = msgspec.UNSET


_encoder: Final = msgspec.json.Encoder()


def _usage_out(usage: Usage) -> UsageOut:
    return UsageOut(
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        prompt_tokens_details=PromptDetailsOut(cached_tokens=usage.cached_tokens),
    )


def finish_reason(stop: StopReason | None, has_tool_calls: bool) -> str:
    if stop is not None:
        return stop.value
    return StopReason.TOOL_CALLS.value if has_tool_calls else StopReason.STOP.value


def encode_chat(response: ChatResponse, *, request_model: str, created: int) -> bytes:
    """The ``chat.completion`` object; ``model`` is the name the caller asked for."""
    calls = response.tool_calls
    message = MessageOut(
        content=response.content if response.content or not calls else None,
        tool_calls=[
            ToolCallOut(id=c.id, function=FunctionOut(name=c.name, arguments=c.arguments))
            for c in calls
        ]
        if calls
        else msgspec.UNSET,
    )
    return _encoder.encode(
        CompletionOut(
            id=response.id,
            created=created,
            model=request_model,
            choices=[
                ChoiceOut(
                    message=message, finish_reason=finish_reason(response.stop_reason, bool(calls))
                )
            ],
            usage=_usage_out(response.usage) if response.usage is not None else msgspec.UNSET,
        )
    )


# ---------------------------------------------------------------------------
# Chat completions: streaming

DONE: Final = b"data: [DONE]\n\n"


class DeltaFunctionOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str | None = None
    arguments: str = ""


class DeltaToolCallOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    index: int
    id: str | None = None
    type: str | None = None
    function: DeltaFunctionOut


class DeltaOut(msgspec.Struct, kw_only=True, omit_defaults=True):
    role: str | None = None
    content: str | None = None
    tool_calls: list[DeltaToolCallOut] | None = None


class ErrorBody(msgspec.Struct, kw_only=True):
    message: str
    type: str
    param: str | None
    code: str | None


class ErrorOut(msgspec.Struct, kw_only=True):
    error: ErrorBody


def _chunk_prefix(id: str, created: int, model: str) -> bytes:
    return (
        b'data: {"id":'
        + _encoder.encode(id)
        + b',"object":"chat.completion.chunk","created":'
        + str(int(created)).encode()
        + b',"model":'
        + _encoder.encode(model)
        + b',"choices":'
    )


def _choice_frame(prefix: bytes, delta: bytes, finish: str | None = None) -> bytes:
    reason = b"null" if finish is None else b'"' + finish.encode() + b'"'
    return prefix + b'[{"index":0,"delta":' + delta + b',"finish_reason":' + reason + b"}]}\n\n"


def _delta_bytes(text: str, calls: Sequence[DeltaToolCallOut], role: bool) -> bytes:
    if not calls and not role:
        return b'{"content":' + _encoder.encode(text) + b"}"
    return _encoder.encode(
        DeltaOut(
            role="assistant" if role else None,
            content=text if text or (role and not calls) else None,
            tool_calls=list(calls) or None,
        )
    )


def _tool_delta(delta: ToolCallDelta, index: int, first: bool) -> DeltaToolCallOut:
    if first:
        return DeltaToolCallOut(
            index=index,
            id=delta.id or f"call_{uuid.uuid4().hex[:24]}",
            type="function",
            function=DeltaFunctionOut(name=delta.name or "", arguments=delta.arguments),
        )
    return DeltaToolCallOut(index=index, function=DeltaFunctionOut(arguments=delta.arguments))


def encode_chunk(
    chunk: ChatChunk,
    *,
    id: str,
    created: int,
    model: str,
    role: bool = False,
) -> bytes:
    """One chunk as ``chat.completion.chunk`` frames, without state: its text and
    tool-call deltas as given (``role`` adds ``delta.role``, as the first frame
    must), then its ``finish_reason`` if any. Usage frames are the stream
    encoder's business (they come last, once)."""
    prefix = _chunk_prefix(id, created, model)
    out = b""
    if chunk.text or chunk.tool_calls or role:
        calls = [
            _tool_delta(d, d.index, first=d.id is not None or d.name is not None)
            for d in chunk.tool_calls
        ]
        out = _choice_frame(prefix, _delta_bytes(chunk.text, calls, role))
    if chunk.stop_reason is not None:
        out += _choice_frame(prefix, b"{}", chunk.stop_reason.value)
    return out


def usage_frame(usage: Usage, *, id: str, created: int, model: str) -> bytes:
    """The last frame when ``stream_options.include_usage``: no choices, the usage."""
    return (
        _chunk_prefix(id, created, model)
        + b'[],"usage":'
        + _encoder.encode(_usage_out(usage))
        + b"}\n\n"
    )


class OpenAIStreamEncoder:
    """Turns one stream's ChatChunks into ``chat.completion.chunk`` frames.

    Stateful: the first frame carries ``delta.role``; tool calls are renumbered
    densely in order of appearance (the SDKs index an array with them) and
    carry ``id``/``type``/``name`` only on their first delta; ``finish_reason``
    is sent once; with ``include_usage`` the final frame holds the usage.
    """

    def __init__(
        self,
        *,
        model: str,
        created: int,
        include_usage: bool = False,
        id: str | None = None,
    ) -> None:
        self.model = model
        self.created = created
        self.include_usage = include_usage
        self.id = id
        self._prefix = b""
        self._started = False
        self._finished = False
        self._saw_tool_calls = False
        self._tools: dict[int, int] = {}
        self.usage: Usage | None = None

    def _open(self, chunk: ChatChunk | None) -> None:
        if self.id is None:
            self.id = (chunk.id if chunk and chunk.id else None) or f"chatcmpl-{uuid.uuid4().hex}"
        self._prefix = _chunk_prefix(self.id, self.created, self.model)

    def encode(self, chunk: ChatChunk) -> bytes:
        """The frames for one chunk (b"" when it adds nothing the client sees yet)."""
        if not self._prefix:
            self._open(chunk)
        if chunk.usage is not None:
            self.usage = chunk.usage
        out = b""
        role = not self._started
        if chunk.text or chunk.tool_calls or role:
            calls = []
            for delta in chunk.tool_calls:
                index = self._tools.get(delta.index)
                first = index is None
                if index is None:
                    index = self._tools[delta.index] = len(self._tools)
                calls.append(_tool_delta(delta, index, first))
            self._saw_tool_calls = self._saw_tool_calls or bool(calls)
            out = _choice_frame(self._prefix, _delta_bytes(chunk.text, calls, role))
            self._started = True
        if chunk.stop_reason is not None and not self._finished:
            out += _choice_frame(self._prefix, b"{}", chunk.stop_reason.value)
            self._finished = True
        return out

    def finish(self, usage: Usage | None = None) -> bytes:
        """The closing frames: a finish_reason if none came, the usage frame, [DONE].
        ``usage`` stands in when the stream itself reported none."""
        if not self._prefix:
            self._open(None)
        out = b""
        if not self._started:
            out += _choice_frame(self._prefix, _delta_bytes("", (), True))
            self._started = True
        if not self._finished:
            reason = finish_reason(None, self._saw_tool_calls)
            out += _choice_frame(self._prefix, b"{}", reason)
            self._finished = True
        final = self.usage or usage
        if self.include_usage and final is not None:
            out += self._prefix + b'[],"usage":' + _encoder.encode(_usage_out(final)) + b"}\n\n"
        return out + DONE

    def error(self, exc: BaseException) -> bytes:
        """A failure after the stream started: the OpenAI SDK raises it as an APIError."""
        return sse.data(openai_error_for(exc)[1])

    async def frames(self, stream: AsyncIterable[ChatChunk]) -> AsyncIterator[bytes]:
        """The whole SSE body for ``stream`` (iterated once). When the stream has a
        ``record`` (ChatStream: the accounted usage), it fills a missing usage."""
        try:
            async for chunk in stream:
                out = self.encode(chunk)
                if out:
                    yield out
        except DomainError as exc:
            yield self.error(exc)
            return
        except Exception as exc:
            log.exception("llm.stream_failed", dialect="openai")
            yield self.error(exc)
            return
        yield self.finish(_record_usage(stream))


def _record_usage(stream: object) -> Usage | None:
    record = getattr(stream, "record", None)
    if record is None:
        return None
    return Usage(
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cached_tokens=record.cached_tokens,
    )


# ---------------------------------------------------------------------------
# Embeddings


class EmbeddingsIn(_In):
    model: Annotated[str, msgspec.Meta(min_length=1)]
    input: str | list[Any]
    dimensions: Annotated[int, msgspec.Meta(ge=1)] | None = None
    encoding_format: Literal["float", "base64"] | None = None
    user: str | None = None


_embeddings_decoder: Final = msgspec.json.Decoder(EmbeddingsIn)
MAX_EMBEDDING_INPUTS: Final = 2048
EncodingFormat = Literal["float", "base64"]


def decode_embeddings(body: bytes) -> tuple[EmbeddingRequest, EncodingFormat]:
    """A ``/v1/embeddings`` body; the format defaults to float as OpenAI's does
    (the openai SDK asks for base64 explicitly)."""
    given = decode_or_400(_embeddings_decoder, body)
    raw = given.input
    inputs: tuple[str, ...]
    if isinstance(raw, str):
        inputs = (raw,)
    else:
        if not raw:
            raise DialectError("input must not be an empty array.", param="input")
        if len(raw) > MAX_EMBEDDING_INPUTS:
            raise DialectError(f"input holds at most {MAX_EMBEDDING_INPUTS} items.", param="input")
        for i, item in enumerate(raw):
            if not isinstance(item, str):
                raise DialectError(
                    "Token arrays are not supported; send the text as strings.",
                    param=f"input[{i}]" if not isinstance(item, int) else "input",
                )
        inputs = tuple(raw)
    for i, text in enumerate(inputs):
        if not text:
            raise DialectError(
                "input cannot hold an empty string.",
                param="input" if isinstance(raw, str) else f"input[{i}]",
            )
    request = EmbeddingRequest(
        model=given.model, inputs=inputs, dimensions=given.dimensions, user=given.user
    )
    return request, given.encoding_format or "float"


class EmbeddingOut(msgspec.Struct, kw_only=True):
    object: str = "embedding"
    index: int
    embedding: Sequence[float] | str


class EmbeddingUsageOut(msgspec.Struct, kw_only=True):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsOut(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[EmbeddingOut]
    model: str
    usage: EmbeddingUsageOut


_BIG_ENDIAN: Final = sys.byteorder == "big"


def float32_base64(vector: Sequence[float]) -> str:
    """Little-endian float32 bytes, base64: what OpenAI sends for ``encoding_format=base64``."""
    packed = array("f", vector)
    if _BIG_ENDIAN:
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode("ascii")


def encode_embeddings(
    response: EmbeddingResponse, *, request_model: str, encoding_format: EncodingFormat
) -> bytes:
    if encoding_format == "base64":
        data = [
            EmbeddingOut(index=i, embedding=float32_base64(vector))
            for i, vector in enumerate(response.vectors)
        ]
    else:
        data = [
            EmbeddingOut(index=i, embedding=vector) for i, vector in enumerate(response.vectors)
        ]
    tokens = response.usage.input_tokens
    return _encoder.encode(
        EmbeddingsOut(
            data=data,
            model=request_model,
            usage=EmbeddingUsageOut(prompt_tokens=tokens, total_tokens=tokens),
        )
    )


# ---------------------------------------------------------------------------
# Models


class ModelOut(msgspec.Struct, kw_only=True):
    id: str
    object: str = "model"
    created: int
    owned_by: str


class ModelsOut(msgspec.Struct, kw_only=True):
    object: str = "list"
    data: list[ModelOut]


def encode_models(ids: Sequence[str], created: int, owned_by: str) -> bytes:
    return _encoder.encode(
        ModelsOut(data=[ModelOut(id=i, created=created, owned_by=owned_by) for i in ids])
    )


# ---------------------------------------------------------------------------
# Errors


def encode_error(
    status: int,
    message: str,
    type: str,
    code: str | None = None,
    param: str | None = None,
) -> bytes:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""
    del status  # the status travels on the response line, not in OpenAI's body
    return _encoder.encode(
        ErrorOut(error=ErrorBody(message=message, type=type, param=param, code=code))
    )


# Status -> OpenAI's error type. Statuses come from wire_native.status_of (the
# gateway's table) except that invalid requests are 400 here, as OpenAI does.
OPENAI_ERROR_TYPES: Final[dict[int, str]] = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error_for(exc: BaseException) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) of an error on an OpenAI-dialect route."""
    headers: dict[str, str] = {}
    if isinstance(exc, DialectError):
        status, kind = exc.status, exc.type
        return status, encode_error(status, exc.message, kind, exc.code, exc.param), headers
    if not isinstance(exc, DomainError):
        return 500, encode_error(500, "An internal error occurred.", "server_error"), headers
    status = status_of(exc)
    if status == 422:
        status = 400
    kind = OPENAI_ERROR_TYPES.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    wait = retry_after(exc)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return status, encode_error(status, exc.detail, kind, exc.code, exc.field), headers
