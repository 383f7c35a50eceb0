"""The gateway's own vocabulary for a chat call, whatever the provider's wire format.

Adapters translate each provider's messages, tool calls, stop reasons, usage
and streamed deltas into these types and back; the three HTTP dialects
(native, OpenAI, Anthropic) do the same at the edge. Nothing here knows JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Role(StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by ``https:`` URL or ``data:`` URL (base64)."""

    url: str
    detail: str | None = None


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text exactly as the model produced it


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    role: Role
    content: str | tuple[ContentPart, ...] = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None  # role=tool: the call this message answers
    name: str | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content if isinstance(part, TextPart))

    @property
    def has_image(self) -> bool:
        return not isinstance(self.content, str) and any(
            isinstance(part, ImagePart) for part in self.content
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tool:
    name: str
    description: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)  # JSON Schema


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolChoice:
    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None  # mode="tool": the one tool the model must call


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseFormat:
    kind: Literal["text", "json_object", "json_schema"]
    schema: Mapping[str, Any] | None = None
    name: str | None = None
    strict: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirements:
    """What a target must support to serve a request."""

    tools: bool = False
    vision: bool = False
    json: bool = False
    streaming: bool = False
    context_tokens: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatRequest:
    model: str  # as the caller named it: ``provider/model`` or a route name
    messages: tuple[Message, ...]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    response_format: ResponseFormat | None = None
    stream: bool = False
    seed: int | None = None
    user: str | None = None

    def estimated_input_tokens(self) -> int:
        """A cheap upper-leaning estimate (4 characters a token, plus framing)
        used to reserve rate-limit tokens and budget before the call."""
        chars = 0
        images = 0
        for message in self.messages:
            chars += len(message.text) + 16
            images += (
                0
                if isinstance(message.content, str)
                else sum(isinstance(part, ImagePart) for part in message.content)
            )
            for call in message.tool_calls:
                chars += len(call.name) + len(call.arguments)
        for tool in self.tools:
            chars += len(tool.name) + len(tool.description or "") + 4 * len(tool.parameters) * 8
        return chars // 4 + 1 + images * 1_000

    def max_input_tokens(self) -> int:
        """A true upper bound for budgets: a BPE token is at least one byte of
        UTF-8, plus a few tokens of framing per message and a generous
        allowance per image. Over-reserving only refuses a call at the very
        edge of a budget a little early; under-reserving would let
        concurrent calls overspend it."""
        total = 8
        for message in self.messages:
            total += 8 + len(message.text.encode())
            if not isinstance(message.content, str):
                total += 3_000 * sum(isinstance(part, ImagePart) for part in message.content)
            for call in message.tool_calls:
                total += 8 + len(call.name.encode()) + len(call.arguments.encode())
        for tool in self.tools:
            total += (
                16 + len(repr(tool.parameters).encode()) + len((tool.description or "").encode())
            )
        return total

    def requirements(self) -> Requirements:
        return Requirements(
            tools=bool(self.tools),
            vision=any(message.has_image for message in self.messages),
            json=self.response_format is not None and self.response_format.kind != "text",
            streaming=self.stream,
            context_tokens=self.estimated_input_tokens() + (self.max_tokens or 0),
        )


class StopReason(StrEnum):
    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"


@dataclass(frozen=True, slots=True, kw_only=True)
class Usage:
    """Token counts with OpenAI's meaning: ``input_tokens`` includes the
    ``cached_tokens`` read from the provider's prompt cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatResponse:
    id: str
    model: str  # the provider's model name
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    stop_reason: StopReason | None = None
    usage: Usage | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatChunk:
    """One streamed increment. The last chunks carry ``stop_reason`` and ``usage``."""

    text: str = ""
    tool_calls: tuple[ToolCallDelta, ...] = ()
    stop_reason: StopReason | None = None
    usage: Usage | None = None
    id: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingRequest:
    model: str
    inputs: tuple[str, ...]
    dimensions: int | None = None
    user: str | None = None

    def estimated_input_tokens(self) -> int:
        return sum(len(text) for text in self.inputs) // 4 + len(self.inputs)

    def max_input_tokens(self) -> int:
        return sum(len(text.encode()) for text in self.inputs) + 2 * len(self.inputs)


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingResponse:
    model: str
    vectors: tuple[tuple[float, ...], ...]
    usage: Usage
