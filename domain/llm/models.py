"""Providers, model names, capabilities and prices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.llm.chat import Requirements, Usage
from domain.llm.errors import ModelNotFound


class Provider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OLLAMA = "ollama"
    VLLM = "vllm"
    CUSTOM = "custom"  # any other OpenAI-compatible server

    @property
    def protocol(self) -> Protocol:
        return Protocol.ANTHROPIC if self is Provider.ANTHROPIC else Protocol.OPENAI

    @property
    def needs_api_key(self) -> bool:
        return self not in (Provider.OLLAMA, Provider.VLLM, Provider.CUSTOM)


class Protocol(StrEnum):
    """The wire format an adapter speaks."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"


@dataclass(frozen=True, slots=True)
class ModelName:
    """``provider/model``; the model part may itself contain slashes
    (``custom/meta-llama/Llama-3-8B``)."""

    provider: Provider
    model: str

    @classmethod
    def parse(cls, raw: str) -> ModelName | None:
        """The name split, or None when it is not ``provider/model`` (a route alias)."""
        provider, sep, model = raw.partition("/")
        if not sep or not model.strip():
            return None
        try:
            return cls(Provider(provider), model)
        except ValueError:
            return None

    @classmethod
    def require(cls, raw: str) -> ModelName:
        name = cls.parse(raw)
        if name is None:
            raise ModelNotFound(
                f"Model {raw!r} is not 'provider/model' with a known provider.", field="model"
            )
        return name

    def __str__(self) -> str:
        return f"{self.provider.value}/{self.model}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    streaming: bool = True
    tools: bool = True
    vision: bool = False
    json: bool = True
    context_window: int | None = None  # tokens; None when unknown
    max_output_tokens: int | None = None
    embeddings: bool = False

    def missing(self, needs: Requirements) -> list[str]:
        """What this model lacks for the request, by name (empty: it can serve it)."""
        lacks = []
        if needs.tools and not self.tools:
            lacks.append("tools")
        if needs.vision and not self.vision:
            lacks.append("vision")
        if needs.json and not self.json:
            lacks.append("json")
        if needs.streaming and not self.streaming:
            lacks.append("streaming")
        if self.context_window is not None and needs.context_tokens > self.context_window:
            lacks.append("context")
        return lacks


MICROS_PER_USD = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    """USD per million tokens, as published, with the date it took effect.

    Costs are kept in integer micro-dollars: a million tokens at $0.15 is
    150,000 µ$, one token 0.15 µ$. Costs are rounded up to the next µ$ once
    per call, so a budget can never be undercounted.
    """

    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float | None = None
    effective_from: datetime | None = None

    def cost_micros(self, usage: Usage) -> int:
        cached = min(usage.cached_tokens, usage.input_tokens)
        cached_rate = (
            self.input_per_mtok
            if self.cached_input_per_mtok is None
            else self.cached_input_per_mtok
        )
        # price per MTok in USD == µ$ per token
        micros = (
            (usage.input_tokens - cached) * self.input_per_mtok
            + cached * cached_rate
            + usage.output_tokens * self.output_per_mtok
        )
        return _ceil(micros)

    def worst_case_micros(self, input_tokens: int, output_tokens: int) -> int:
        return _ceil(input_tokens * self.input_per_mtok + output_tokens * self.output_per_mtok)


def _ceil(micros: float) -> int:
    whole = int(micros)
    return whole if micros - whole <= 1e-9 else whole + 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo:
    name: ModelName
    capabilities: Capabilities
    price: Price | None  # None: unknown, never taken as free
    known: bool = True  # False: not in the catalogue; served with default capabilities
