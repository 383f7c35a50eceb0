"""In-memory fakes of the gateway's provider ports, scripted per model."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

from application.ports.llm import ChatModel, EmbeddingModel, Endpoint, ModelCatalogue
from application.ports.llm_usage import GatewayMetrics, UsageSink
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
    StopReason,
    Usage,
)
from domain.llm.errors import ProviderError
from domain.llm.models import Capabilities, ModelInfo, ModelName, Price, Provider
from domain.llm.usage import UsageRecord


@dataclass(frozen=True, slots=True)
class Fail:
    error: ProviderError
    after_chunks: int = 0  # streaming: fail after sending this many chunks


@dataclass(frozen=True, slots=True)
class Hang:
    pass


Step = Fail | Hang | None  # None: answer normally


@dataclass(slots=True)
class SentCall:
    endpoint: Endpoint
    model: str
    request: ChatRequest | EmbeddingRequest
    time_limit: float


@dataclass
class ScriptedModels(ChatModel, EmbeddingModel):
    """Answers ``echo: <last user text>``; ``script(model, [...])`` queues
    failures for the next calls to that upstream model name."""

    scripts: dict[str, deque[Step]] = field(default_factory=lambda: defaultdict(deque))
    calls: list[SentCall] = field(default_factory=list)
    closed_streams: int = 0
    usage: Usage = field(default_factory=lambda: Usage(input_tokens=10, output_tokens=5))

    def script(self, model: str, steps: list[Step]) -> None:
        self.scripts[model].extend(steps)

    def _next(self, model: str) -> Step:
        queue = self.scripts.get(model)
        return queue.popleft() if queue else None

    def _text(self, request: ChatRequest) -> str:
        return "echo: " + (request.messages[-1].text if request.messages else "")

    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse:
        self.calls.append(SentCall(endpoint, model, request, time_limit))
        step = self._next(model)
        if isinstance(step, Hang):
            await asyncio.sleep(3600)
        if isinstance(step, Fail):
            raise step.error
        return ChatResponse(
            id="resp-1",
            model=model,
            content=self._text(request),
            stop_reason=StopReason.STOP,
            usage=self.usage,
        )

    async def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        self.calls.append(SentCall(endpoint, model, request, time_limit))
        step = self._next(model)
        try:
            words = self._text(request).split(" ")
            for index, word in enumerate(words):
                if isinstance(step, Fail) and index == step.after_chunks:
                    raise step.error
                if isinstance(step, Hang) and index == 1:
                    await asyncio.sleep(3600)
                yield ChatChunk(text=word if index == 0 else " " + word, model=model)
            yield ChatChunk(stop_reason=StopReason.STOP, usage=self.usage)
        finally:
            self.closed_streams += 1

    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        return None

    async def embed(
        self, endpoint: Endpoint, model: str, request: EmbeddingRequest, *, time_limit: float
    ) -> EmbeddingResponse:
        self.calls.append(SentCall(endpoint, model, request, time_limit))
        step = self._next(model)
        if isinstance(step, Fail):
            raise step.error
        return EmbeddingResponse(
            model=model,
            vectors=tuple((float(len(text)), 0.5) for text in request.inputs),
            usage=Usage(input_tokens=sum(len(t.split()) for t in request.inputs)),
        )


class FakeCatalogue(ModelCatalogue):
    def __init__(
        self, known: Mapping[str, tuple[Capabilities, Price | None]] | None = None
    ) -> None:
        self._known = dict(known or {})

    def lookup(self, name: ModelName) -> ModelInfo:
        found = self._known.get(str(name))
        if found is None:
            return ModelInfo(name=name, capabilities=Capabilities(), price=None, known=False)
        return ModelInfo(name=name, capabilities=found[0], price=found[1])

    def models(self, provider: Provider) -> list[ModelInfo]:
        return [
            self.lookup(ModelName.require(n)) for n in self._known if n.startswith(provider.value)
        ]


class ListSink(UsageSink):
    def __init__(self) -> None:
        self.records: list[UsageRecord] = []

    def record(self, record: UsageRecord) -> None:
        self.records.append(record)


class CountingMetrics(GatewayMetrics):
    def __init__(self) -> None:
        self.finished: list[UsageRecord] = []
        self.errors: list[tuple[str, str]] = []
        self.unpriced: list[str] = []
        self.breakers: list[tuple[str, str]] = []

    def call_finished(self, record: UsageRecord) -> None:
        self.finished.append(record)

    def upstream_error(self, provider: str, kind: str) -> None:
        self.errors.append((provider, kind))

    def unpriced_call(self, model: str) -> None:
        self.unpriced.append(model)

    def breaker_changed(self, target: str, state: str) -> None:
        self.breakers.append((target, state))
