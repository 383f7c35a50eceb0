"""Chat over Anthropic's Messages API, through the official ``anthropic`` SDK.

``endpoint.base_url`` is the SDK's (``https://api.anthropic.com``, a trailing
``/v1`` is tolerated). Raw response bytes are decoded with msgspec, never into
the SDK's pydantic models. Anthropic has no JSON mode: a JSON response format
becomes a system instruction (with the schema, when given). The installed
SDK's Messages API has no sampling parameters: temperature, top_p and seed
are not sent.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from adapters.llm import wire
from adapters.llm.clients import (
    LlmClients,
    error_from_event,
    error_from_exception,
    failures,
    sse_data,
)
from application.ports.llm import ChatModel, EmbeddingModel, Endpoint
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    ImagePart,
    Message,
    ResponseFormat,
    Role,
    StopReason,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from domain.llm.errors import ModelLacksCapability, ProviderBadRequest, ProviderUnavailable

STOP_REASONS = {
    "end_turn": StopReason.STOP,
    "stop_sequence": StopReason.STOP,
    "pause_turn": StopReason.STOP,
    "max_tokens": StopReason.LENGTH,
    "model_context_window_exceeded": StopReason.LENGTH,
    "tool_use": StopReason.TOOL_CALLS,
    "refusal": StopReason.CONTENT_FILTER,
}

JSON_INSTRUCTION = (
    "Answer with one valid JSON object only: no prose, no Markdown code fences, "
    "nothing before or after it."
)

DEFAULT_MAX_TOKENS = 4096

_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class AnthropicChatModel(ChatModel, EmbeddingModel):
    def __init__(
        self, clients: LlmClients, *, default_max_tokens: int = DEFAULT_MAX_TOKENS
    ) -> None:
        self._clients = clients
        self._default_max_tokens = default_max_tokens

    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse:
        body = request_body(
            model, request, stream=False, default_max_tokens=self._default_max_tokens
        )
        client = self._clients.anthropic(endpoint.base_url, endpoint.api_key)
        try:
            raw = await client.messages.with_raw_response.create(
                **body, timeout=self._clients.timeout(time_limit)
            )
            content = await raw.read()
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None
        try:
            message = wire.anthropic_message.decode(content)
        except msgspec.DecodeError:
            raise ProviderUnavailable("The provider's answer was not readable JSON.") from None
        return to_response(message, model)

    async def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        body = request_body(
            model, request, stream=True, default_max_tokens=self._default_max_tokens
        )
        client = self._clients.anthropic(endpoint.base_url, endpoint.api_key)
        decode = wire.anthropic_event.decode
        state = _StreamState()
        try:
            async with client.messages.with_streaming_response.create(
                **body, timeout=self._clients.timeout(time_limit)
            ) as response:
                async for data in sse_data(response.iter_bytes()):
                    try:
                        event = decode(data)
                    except msgspec.DecodeError:
                        raise ProviderUnavailable(
                            "The provider streamed an event that was not readable JSON."
                        ) from None
                    if event.type == "error":
                        error = event.error or wire.AnthropicErrorDetail()
                        raise error_from_event(error.type, error.message, endpoint.api_key)
                    chunk = state.feed(event)
                    if chunk is not None:
                        yield chunk
                    if state.finished:
                        break
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None
        if not state.finished:
            raise ProviderUnavailable("The provider's stream ended before it was complete.")

    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        client = self._clients.anthropic(endpoint.base_url, endpoint.api_key)
        try:
            await client.models.with_raw_response.list(timeout=self._clients.timeout(time_limit))
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None

    async def embed(
        self, endpoint: Endpoint, model: str, request: EmbeddingRequest, *, time_limit: float
    ) -> EmbeddingResponse:
        raise ModelLacksCapability(
            f"Anthropic offers no embeddings; {model!r} cannot embed text.", field="model"
        )


# -- request ------------------------------------------------------------------------------


def request_body(
    model: str, request: ChatRequest, *, stream: bool, default_max_tokens: int
) -> dict[str, Any]:
    """The SDK's ``messages.create`` arguments; ProviderBadRequest for what
    Anthropic could never accept (tool arguments that are not a JSON object)."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for message in request.messages:
        if message.role is Role.SYSTEM:
            if message.text:
                system.append(message.text)
            continue
        role = "assistant" if message.role is Role.ASSISTANT else "user"
        blocks = _blocks(message)
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)  # Anthropic wants roles to alternate
        else:
            messages.append({"role": role, "content": blocks})
    instruction = _json_instruction(request.response_format)
    if instruction:
        system.append(instruction)
    body: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": request.max_tokens or default_max_tokens,
    }
    if system:
        body["system"] = "\n\n".join(system)
    # temperature, top_p and seed: the Messages API the SDK speaks (2026-10-21) has none.
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if request.user is not None:
        body["metadata"] = {"user_id": request.user}
    if request.tools:
        body["tools"] = [
            {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "input_schema": dict(tool.parameters) or {"type": "object", "properties": {}},
            }
            for tool in request.tools
        ]
    choice = request.tool_choice
    if choice is not None:
        if choice.mode == "tool":
            body["tool_choice"] = {"type": "tool", "name": choice.name}
        elif choice.mode == "required":
            body["tool_choice"] = {"type": "any"}
        else:
            body["tool_choice"] = {"type": choice.mode}
    if stream:
        body["stream"] = True
    return body


def _json_instruction(fmt: ResponseFormat | None) -> str | None:
    if fmt is None or fmt.kind == "text":
        return None
    if fmt.kind == "json_schema" and fmt.schema is not None:
        schema = wire.encoder.encode(dict(fmt.schema)).decode()
        return f"{JSON_INSTRUCTION} It must conform to this JSON Schema: {schema}"
    return JSON_INSTRUCTION


def _blocks(message: Message) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if message.role is Role.TOOL:
        blocks.append(
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id or "",
                "content": message.text,
            }
        )
        return blocks
    if isinstance(message.content, str):
        if message.content:
            blocks.append({"type": "text", "text": message.content})
    else:
        for part in message.content:
            if isinstance(part, ImagePart):
                blocks.append(_image(part.url))
            elif part.text:
                blocks.append({"type": "text", "text": part.text})
    if message.role is Role.ASSISTANT:
        for call in message.tool_calls:
            blocks.append(
                {"type": "tool_use", "id": call.id, "name": call.name, "input": _input(call)}
            )
    return blocks


def _input(call: ToolCall) -> dict[str, Any]:
    if not call.arguments.strip():
        return {}
    try:
        value = wire.any_json.decode(call.arguments)
    except msgspec.DecodeError:
        raise ProviderBadRequest(
            f"The arguments of tool call {call.id!r} ({call.name}) are not valid JSON."
        ) from None
    if not isinstance(value, dict):
        raise ProviderBadRequest(
            f"The arguments of tool call {call.id!r} ({call.name}) are not a JSON object."
        )
    return value


def _image(url: str) -> dict[str, Any]:
    if not url.startswith("data:"):
        return {"type": "image", "source": {"type": "url", "url": url}}
    header, sep, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not sep or encoding.lower() != "base64" or not media_type:
        raise ProviderBadRequest("An image data URL must be 'data:<media type>;base64,<data>'.")
    if not data or _BASE64.fullmatch(data) is None:
        raise ProviderBadRequest("An image data URL does not hold base64 data.")
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": media_type.lower(), "data": data},
    }


# -- response ---------------------------------------------------------------------------------


def to_usage(usage: wire.AnthropicUsage | None) -> Usage | None:
    """Anthropic's counts with OpenAI's meaning: input includes cache reads and writes."""
    if usage is None:
        return None
    read = usage.cache_read_input_tokens or 0
    created = usage.cache_creation_input_tokens or 0
    return Usage(
        input_tokens=(usage.input_tokens or 0) + read + created,
        output_tokens=usage.output_tokens or 0,
        cached_tokens=read,
    )


def _stop(reason: str | None) -> StopReason | None:
    if reason is None:
        return None
    return STOP_REASONS.get(reason, StopReason.STOP)


def to_response(message: wire.AnthropicMessage, model: str) -> ChatResponse:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text":
            texts.append(block.text or "")
        elif block.type == "tool_use":
            arguments = bytes(block.input).decode()
            calls.append(ToolCall(id=block.id or "", name=block.name or "", arguments=arguments))
    return ChatResponse(
        id=message.id or "",
        model=message.model or model,
        content="".join(texts),
        tool_calls=tuple(calls),
        stop_reason=_stop(message.stop_reason),
        usage=to_usage(message.usage),
    )


class _StreamState:
    """Turns Anthropic's events into domain chunks, numbering tool calls from 0."""

    __slots__ = ("finished", "id", "model", "tool_index", "usage")

    def __init__(self) -> None:
        self.finished = False
        self.id: str | None = None
        self.model: str | None = None
        self.usage = wire.AnthropicUsage()
        self.tool_index: dict[int, int] = {}

    def feed(self, event: wire.AnthropicEvent) -> ChatChunk | None:
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            if delta is None:
                return None
            if delta.type == "text_delta" and delta.text:
                return ChatChunk(text=delta.text, id=self.id, model=self.model)
            if delta.type == "input_json_delta" and delta.partial_json:
                index = self.tool_index.get(event.index if event.index is not None else -1)
                if index is None:
                    return None
                call = ToolCallDelta(index=index, arguments=delta.partial_json)
                return ChatChunk(tool_calls=(call,), id=self.id, model=self.model)
            return None
        if kind == "message_start" and event.message is not None:
            self.id = event.message.id
            self.model = event.message.model
            if event.message.usage is not None:
                self.usage = event.message.usage
            return None
        if kind == "content_block_start" and event.content_block is not None:
            block = event.content_block
            if block.type == "tool_use":
                index = self.tool_index[event.index if event.index is not None else -1] = len(
                    self.tool_index
                )
                call = ToolCallDelta(index=index, id=block.id, name=block.name)
                return ChatChunk(tool_calls=(call,), id=self.id, model=self.model)
            if block.type == "text" and block.text:
                return ChatChunk(text=block.text, id=self.id, model=self.model)
            return None
        if kind == "message_delta":
            update = event.usage
            if update is not None:
                self.usage = wire.AnthropicUsage(
                    input_tokens=_first(update.input_tokens, self.usage.input_tokens),
                    output_tokens=_first(update.output_tokens, self.usage.output_tokens),
                    cache_read_input_tokens=_first(
                        update.cache_read_input_tokens, self.usage.cache_read_input_tokens
                    ),
                    cache_creation_input_tokens=_first(
                        update.cache_creation_input_tokens, self.usage.cache_creation_input_tokens
                    ),
                )
            reason = event.delta.stop_reason if event.delta is not None else None
            return ChatChunk(
                stop_reason=_stop(reason) or StopReason.STOP,
                usage=to_usage(self.usage),
                id=self.id,
                model=self.model,
            )
        if kind == "message_stop":
            self.finished = True
        return None


def _first(value: int | None, fallback: int | None) -> int | None:
    return fallback if value is None else value
