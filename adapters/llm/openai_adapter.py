"""Chat and embeddings over OpenAI's wire format, through the official ``openai`` SDK.

Serves OpenAI, Gemini's OpenAI endpoint, Ollama, vLLM and any compatible
server (``endpoint.base_url`` includes ``/v1``). The SDK builds, authenticates
and sends the request; its raw response bytes are decoded with msgspec
(``adapters.llm.wire``), never into the SDK's pydantic models.

With the ``direct`` transport (``LlmClients.direct``) chat and embeddings skip
the SDK: the same request body goes out as msgspec JSON through the pooled
aiohttp session, and the same decoders read the answer. ``ping`` always uses
the SDK.
"""

from __future__ import annotations

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
    Role,
    StopReason,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from domain.llm.errors import ProviderUnavailable
from domain.llm.models import Provider

STOP_REASONS = {
    "stop": StopReason.STOP,
    "length": StopReason.LENGTH,
    "tool_calls": StopReason.TOOL_CALLS,
    "function_call": StopReason.TOOL_CALLS,
    "content_filter": StopReason.CONTENT_FILTER,
}


class OpenAIChatModel(ChatModel, EmbeddingModel):
    def __init__(self, clients: LlmClients) -> None:
        self._clients = clients

    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse:
        body = request_body(endpoint.provider, model, request, stream=False)
        if self._clients.direct:
            content = await self._clients.post_json(
                _url(endpoint, "/chat/completions"),
                endpoint.api_key,
                body,
                time_limit=time_limit,
            )
            return _completion(content, model)
        client = self._clients.openai(endpoint.base_url, endpoint.api_key)
        try:
            raw = await client.chat.completions.with_raw_response.create(
                **body, timeout=self._clients.timeout(time_limit)
            )
            content = raw.content
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None
        return _completion(content, model)

    async def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        body = request_body(endpoint.provider, model, request, stream=True)
        if self._clients.direct:
            async for piece in self._stream_direct(endpoint, body, time_limit):
                yield piece
            return
        client = self._clients.openai(endpoint.base_url, endpoint.api_key)
        finished = False
        try:
            async with client.chat.completions.with_streaming_response.create(
                **body, timeout=self._clients.timeout(time_limit)
            ) as response:
                async for data in sse_data(response.iter_bytes()):
                    if data == b"[DONE]":
                        finished = True
                        break
                    chunk = _event_chunk(data, endpoint.api_key)
                    if chunk is not None:
                        yield chunk
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None
        if not finished:
            raise ProviderUnavailable("The provider's stream ended before it was complete.")

    async def _stream_direct(
        self, endpoint: Endpoint, body: dict[str, Any], time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        """The stream over the pooled aiohttp session, its SSE read line by line."""
        api_key = endpoint.api_key
        response = await self._clients.post(
            _url(endpoint, "/chat/completions"), api_key, body, time_limit=time_limit
        )
        finished = False
        try:
            async with response:
                async for line in response.content:
                    if not line.startswith(b"data:"):
                        continue
                    data = line[5:].strip()
                    if data == b"[DONE]":
                        finished = True
                        break
                    chunk = _event_chunk(data, api_key)
                    if chunk is not None:
                        yield chunk
        except failures() as exc:
            raise error_from_exception(exc, api_key, time_limit) from None
        if not finished:
            raise ProviderUnavailable("The provider's stream ended before it was complete.")

    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        client = self._clients.openai(endpoint.base_url, endpoint.api_key)
        try:
            await client.models.with_raw_response.list(timeout=self._clients.timeout(time_limit))
        except failures() as exc:
            raise error_from_exception(exc, endpoint.api_key, time_limit) from None

    async def embed(
        self, endpoint: Endpoint, model: str, request: EmbeddingRequest, *, time_limit: float
    ) -> EmbeddingResponse:
        body = embedding_body(model, request)
        if self._clients.direct:
            content = await self._clients.post_json(
                _url(endpoint, "/embeddings"), endpoint.api_key, body, time_limit=time_limit
            )
        else:
            client = self._clients.openai(endpoint.base_url, endpoint.api_key)
            try:
                raw = await client.embeddings.with_raw_response.create(
                    **body, timeout=self._clients.timeout(time_limit)
                )
                content = raw.content
            except failures() as exc:
                raise error_from_exception(exc, endpoint.api_key, time_limit) from None
        try:
            parsed = wire.openai_embeddings.decode(content)
        except msgspec.DecodeError:
            raise ProviderUnavailable("The provider's answer was not readable JSON.") from None
        if len(parsed.data) != len(request.inputs):
            raise ProviderUnavailable(
                f"The provider returned {len(parsed.data)} embeddings for "
                f"{len(request.inputs)} inputs."
            )
        ordered = sorted(parsed.data, key=lambda item: item.index)
        usage = parsed.usage
        return EmbeddingResponse(
            model=parsed.model or model,
            vectors=tuple(tuple(item.embedding) for item in ordered),
            usage=Usage(input_tokens=(usage.prompt_tokens or 0) if usage else 0),
        )


# -- request ------------------------------------------------------------------------------


def _url(endpoint: Endpoint, path: str) -> str:
    """``path`` under the endpoint's base URL, as the SDK joins them."""
    return endpoint.base_url.rstrip("/") + path


def request_body(
    provider: Provider, model: str, request: ChatRequest, *, stream: bool
) -> dict[str, Any]:
    """The SDK's ``create`` arguments for a domain request, and the direct JSON body."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [_message(message) for message in request.messages],
    }
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.top_p is not None:
        body["top_p"] = request.top_p
    if request.max_tokens is not None:
        # OpenAI's reasoning models refuse the older name; compatible servers know only it.
        name = "max_completion_tokens" if provider is Provider.OPENAI else "max_tokens"
        body[name] = request.max_tokens
    if request.stop:
        body["stop"] = list(request.stop)
    if request.seed is not None:
        body["seed"] = request.seed
    if request.user is not None:
        body["user"] = request.user
    if request.tools:
        tools = []
        for tool in request.tools:
            function: dict[str, Any] = {"name": tool.name}
            if tool.description:
                function["description"] = tool.description
            if tool.parameters:
                function["parameters"] = dict(tool.parameters)
            tools.append({"type": "function", "function": function})
        body["tools"] = tools
    choice = request.tool_choice
    if choice is not None:
        if choice.mode == "tool":
            body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
        else:
            body["tool_choice"] = choice.mode
    fmt = request.response_format
    if fmt is not None and fmt.kind != "text":
        if fmt.kind == "json_object" or fmt.schema is None:
            body["response_format"] = {"type": "json_object"}
        else:
            schema: dict[str, Any] = {"name": fmt.name or "response", "schema": dict(fmt.schema)}
            if fmt.strict is not None:
                schema["strict"] = fmt.strict
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def embedding_body(model: str, request: EmbeddingRequest) -> dict[str, Any]:
    """The SDK's ``embeddings.create`` arguments, and the direct JSON body."""
    body: dict[str, Any] = {
        "model": model,
        "input": list(request.inputs),
        "encoding_format": "float",
    }
    if request.dimensions is not None:
        body["dimensions"] = request.dimensions
    if request.user is not None:
        body["user"] = request.user
    return body


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role.value}
    if isinstance(message.content, str):
        out["content"] = message.content
    else:
        parts: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                image: dict[str, Any] = {"url": part.url}
                if part.detail is not None:
                    image["detail"] = part.detail
                parts.append({"type": "image_url", "image_url": image})
            else:
                parts.append({"type": "text", "text": part.text})
        out["content"] = parts
    if message.role is Role.ASSISTANT and message.tool_calls:
        out["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
        if out["content"] == "":
            out["content"] = None
    if message.role is Role.TOOL and message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    if message.name is not None and message.role is not Role.TOOL:
        out["name"] = message.name
    return out


# -- response --------------------------------------------------------------------------------


def _usage(usage: wire.OpenAIUsage | None) -> Usage | None:
    if usage is None:
        return None
    details = usage.prompt_tokens_details
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_tokens=(details.cached_tokens or 0) if details is not None else 0,
    )


def _stop(reason: str | None) -> StopReason | None:
    if reason is None:
        return None
    return STOP_REASONS.get(reason, StopReason.STOP)


def _completion(content: bytes, model: str) -> ChatResponse:
    try:
        completion = wire.openai_completion.decode(content)
    except msgspec.DecodeError:
        raise ProviderUnavailable("The provider's answer was not readable JSON.") from None
    return to_response(completion, model)


def _event_chunk(data: bytes, api_key: str) -> ChatChunk | None:
    """The domain chunk for one ``data:`` payload; our error for an unreadable or error event."""
    try:
        event = wire.openai_completion.decode(data)
    except msgspec.DecodeError:
        raise ProviderUnavailable(
            "The provider streamed an event that was not readable JSON."
        ) from None
    if event.error is not None:
        raise error_from_event(event.error.type, event.error.message, api_key)
    return to_chunk(event)


def to_response(completion: wire.OpenAICompletion, model: str) -> ChatResponse:
    if not completion.choices or completion.choices[0].message is None:
        raise ProviderUnavailable("The provider's answer held no message.")
    choice = completion.choices[0]
    message = choice.message
    assert message is not None
    calls: list[ToolCall] = []
    for index, call in enumerate(message.tool_calls or ()):
        function = call.function or wire.OpenAIFunction()
        calls.append(
            ToolCall(
                id=call.id or f"call_{index}",
                name=function.name or "",
                arguments=function.arguments or "",
            )
        )
    if message.function_call is not None and not calls:
        calls.append(
            ToolCall(
                id="call_0",
                name=message.function_call.name or "",
                arguments=message.function_call.arguments or "",
            )
        )
    return ChatResponse(
        id=completion.id or "",
        model=completion.model or model,
        content=message.content or "",
        tool_calls=tuple(calls),
        stop_reason=_stop(choice.finish_reason),
        usage=_usage(completion.usage),
    )


def to_chunk(event: wire.OpenAICompletion) -> ChatChunk | None:
    """The domain chunk for one streamed event, or None when it carries nothing."""
    text = ""
    deltas: tuple[ToolCallDelta, ...] = ()
    stop: StopReason | None = None
    if event.choices:
        choice = event.choices[0]
        delta = choice.delta
        if delta is not None:
            text = delta.content or ""
            if delta.tool_calls:
                deltas = tuple(
                    ToolCallDelta(
                        index=call.index if call.index is not None else position,
                        id=call.id,
                        name=call.function.name if call.function else None,
                        arguments=(call.function.arguments or "") if call.function else "",
                    )
                    for position, call in enumerate(delta.tool_calls)
                )
        stop = _stop(choice.finish_reason)
    usage = _usage(event.usage)
    if not text and not deltas and stop is None and usage is None:
        return None
    return ChatChunk(
        text=text,
        tool_calls=deltas,
        stop_reason=stop,
        usage=usage,
        id=event.id,
        model=event.model,
    )
