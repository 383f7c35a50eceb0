"""The LLM gateway's call path, all at APP scope: nothing on it is built per
request, and every database read it makes goes through a per-process cache
that opens its own pooled connection on a miss. Its stores (credentials,
routes, policies, ledger, limiter, usage) are provided with the rest of the
infrastructure."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide, provide_all

from adapters.llm.catalogue import Catalogue
from adapters.llm.clients import LlmClients
from adapters.llm.metrics import PrometheusGatewayMetrics
from adapters.llm.provider_model import ProviderChatModel
from application.llm.accounting import Accounting
from application.llm.attempts import AttemptRunner
from application.llm.complete_chat import CompleteChat
from application.llm.create_embeddings import CreateEmbeddings
from application.llm.governor import Governor
from application.llm.health import TargetHealth
from application.llm.retry import RetryPolicy
from application.llm.settings import LlmSettings
from application.llm.stream_chat import StreamChat
from application.llm.targets import ResolveTargets
from application.ports.llm import ChatModel, EmbeddingModel, ModelCatalogue
from application.queries.llm.list_models import ListModels
from application.queries.llm.list_providers import ListProviders
from entrypoints.config import Settings


class LlmGatewayProvider(Provider):
    scope = Scope.APP

    @provide
    async def clients(self, settings: Settings) -> AsyncIterator[LlmClients]:
        clients = LlmClients(transport=settings.llm_http_transport)
        yield clients
        await clients.aclose()

    @provide
    def provider_model(self, clients: LlmClients, llm: LlmSettings) -> ProviderChatModel:
        return ProviderChatModel(clients, default_max_tokens=llm.default_max_output_tokens)

    @provide
    def chat_model(self, model: ProviderChatModel) -> ChatModel:
        return model

    @provide
    def embedding_model(self, model: ProviderChatModel) -> EmbeddingModel:
        return model

    @provide
    def catalogue(self, settings: Settings) -> ModelCatalogue:
        return Catalogue(settings.llm_catalogue_file or None)

    @provide
    def health(self, llm: LlmSettings, metrics: PrometheusGatewayMetrics) -> TargetHealth:
        health = TargetHealth.from_settings(llm)
        health.subscribe(metrics.breaker_changed)
        return health

    @provide
    def retry(self, llm: LlmSettings) -> RetryPolicy:
        return RetryPolicy.from_settings(llm)

    gateway = provide_all(
        ResolveTargets,
        Governor,
        AttemptRunner,
        Accounting,
        CompleteChat,
        StreamChat,
        CreateEmbeddings,
        ListModels,
        ListProviders,
    )
