"""One ChatModel / EmbeddingModel for every provider, choosing the adapter by wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator

from adapters.llm.anthropic_adapter import DEFAULT_MAX_TOKENS, AnthropicChatModel
from adapters.llm.clients import LlmClients
from adapters.llm.openai_adapter import OpenAIChatModel
from application.ports.llm import ChatModel, EmbeddingModel, Endpoint
from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from domain.llm.models import Protocol


class ProviderChatModel(ChatModel, EmbeddingModel):
    """Dispatches on ``endpoint.provider.protocol``: Anthropic's own API, or
    OpenAI's format for OpenAI, Gemini, Ollama, vLLM and custom servers."""

    def __init__(
        self, clients: LlmClients, *, default_max_tokens: int = DEFAULT_MAX_TOKENS
    ) -> None:
        self._openai = OpenAIChatModel(clients)
        self._anthropic = AnthropicChatModel(clients, default_max_tokens=default_max_tokens)

    def _model(self, endpoint: Endpoint) -> OpenAIChatModel | AnthropicChatModel:
        if endpoint.provider.protocol is Protocol.ANTHROPIC:
            return self._anthropic
        return self._openai

    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse:
        return await self._model(endpoint).complete(endpoint, model, request, time_limit=time_limit)

    def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        return self._model(endpoint).stream(endpoint, model, request, time_limit=time_limit)

    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        await self._model(endpoint).ping(endpoint, time_limit=time_limit)

    async def embed(
        self, endpoint: Endpoint, model: str, request: EmbeddingRequest, *, time_limit: float
    ) -> EmbeddingResponse:
        return await self._model(endpoint).embed(endpoint, model, request, time_limit=time_limit)
