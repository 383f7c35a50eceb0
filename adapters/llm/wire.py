"""The providers' response formats, only the fields the gateway reads.

Decoded with msgspec straight from the SDKs' raw bytes, so the hot path never
builds the SDKs' pydantic models. Unknown fields are ignored; every field has
a default so a provider leaving one out is not a decoding error.
"""

from __future__ import annotations

from typing import Any

import msgspec

# -- OpenAI -------------------------------------------------------------------------


class OpenAIPromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class OpenAIUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: OpenAIPromptDetails | None = None


class OpenAIFunction(msgspec.Struct):
    name: str | None = None
    arguments: str | None = None


class OpenAIToolCall(msgspec.Struct):
    id: str | None = None
    function: OpenAIFunction | None = None
    index: int | None = None  # streamed deltas only


class OpenAIMessage(msgspec.Struct):
    content: str | None = None
    tool_calls: list[OpenAIToolCall] | None = None
    refusal: str | None = None
    function_call: OpenAIFunction | None = None  # the legacy single call


class OpenAIChoice(msgspec.Struct):
    index: int = 0
    message: OpenAIMessage | None = None
    delta: OpenAIMessage | None = None  # streamed chunks
    finish_reason: str | None = None


class OpenAIErrorDetail(msgspec.Struct):
    message: str | None = None
    type: str | None = None
    code: str | int | None = None


class OpenAICompletion(msgspec.Struct):
    """A chat completion or one streamed chunk (same shape, ``delta`` in place of ``message``)."""

    id: str | None = None
    model: str | None = None
    choices: list[OpenAIChoice] = msgspec.field(default_factory=list)
    usage: OpenAIUsage | None = None
    error: OpenAIErrorDetail | None = None  # some servers send errors inside a stream


class OpenAIEmbedding(msgspec.Struct):
    index: int = 0
    embedding: list[float] = msgspec.field(default_factory=list)


class OpenAIEmbeddingUsage(msgspec.Struct):
    prompt_tokens: int | None = None
    total_tokens: int | None = None


class OpenAIEmbeddings(msgspec.Struct):
    data: list[OpenAIEmbedding] = msgspec.field(default_factory=list)
    model: str | None = None
    usage: OpenAIEmbeddingUsage | None = None


# -- Anthropic ------------------------------------------------------------------------


class AnthropicUsage(msgspec.Struct):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class AnthropicBlock(msgspec.Struct):
    type: str = ""
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: msgspec.Raw = msgspec.Raw(b"{}")  # tool_use arguments, as the model wrote them


class AnthropicMessage(msgspec.Struct):
    id: str | None = None
    model: str | None = None
    content: list[AnthropicBlock] = msgspec.field(default_factory=list)
    stop_reason: str | None = None
    usage: AnthropicUsage | None = None


class AnthropicDelta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    stop_reason: str | None = None


class AnthropicErrorDetail(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class AnthropicEvent(msgspec.Struct):
    """Any streamed event; which fields are set depends on ``type``."""

    type: str = ""
    index: int | None = None
    message: AnthropicMessage | None = None
    content_block: AnthropicBlock | None = None
    delta: AnthropicDelta | None = None
    usage: AnthropicUsage | None = None
    error: AnthropicErrorDetail | None = None


# -- Decoders (built once) -----------------------------------------------------------

openai_completion = msgspec.json.Decoder(OpenAICompletion)
openai_embeddings = msgspec.json.Decoder(OpenAIEmbeddings)
anthropic_message = msgspec.json.Decoder(AnthropicMessage)
anthropic_event = msgspec.json.Decoder(AnthropicEvent)
any_json = msgspec.json.Decoder(Any)
encoder = msgspec.json.Encoder()
