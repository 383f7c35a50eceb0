"""Ports of the LLM gateway: providers and the model catalogue."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from domain.llm.chat import (
    ChatChunk,
    ChatRequest,
    ChatResponse,
    EmbeddingRequest,
    EmbeddingResponse,
)
from domain.llm.ids import CredentialId
from domain.llm.models import ModelInfo, ModelName, Provider


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """Where and with which key a call goes. Built by the gateway from a
    stored credential or the operator's configuration, never from a request
    body. ``api_key`` is excluded from repr so it cannot leak into a log."""

    provider: Provider
    base_url: str
    api_key: str = field(repr=False)
    credential_id: CredentialId | None = None

    @property
    def target_key(self) -> str:
        """Identifies the upstream for breakers and latency statistics (no secret in it)."""
        return f"{self.provider.value}:{self.credential_id or 'operator'}:{self.base_url}"


class ChatModel(Protocol):
    """One upstream chat call. Raises a ``ProviderError`` subclass on failure."""

    @abstractmethod
    async def complete(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> ChatResponse: ...

    @abstractmethod
    def stream(
        self, endpoint: Endpoint, model: str, request: ChatRequest, *, time_limit: float
    ) -> AsyncIterator[ChatChunk]:
        """Chunks as they arrive; the stream asks the provider for usage.
        ``time_limit`` (seconds) bounds the wait for each chunk, not the whole stream."""

    @abstractmethod
    async def ping(self, endpoint: Endpoint, *, time_limit: float) -> None:
        """A cheap authenticated call (list models) to test a credential."""


class EmbeddingModel(Protocol):
    @abstractmethod
    async def embed(
        self, endpoint: Endpoint, model: str, request: EmbeddingRequest, *, time_limit: float
    ) -> EmbeddingResponse: ...


class ModelCatalogue(Protocol):
    @abstractmethod
    def lookup(self, name: ModelName) -> ModelInfo:
        """Always answers: a model the catalogue does not know gets default
        capabilities, ``known=False`` and no price."""

    @abstractmethod
    def models(self, provider: Provider) -> list[ModelInfo]:
        """The models listed for a provider (catalogue and operator entries)."""
