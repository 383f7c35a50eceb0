"""The LLM gateway's call path, all at APP scope: nothing on it is built per
request, and every database read it makes goes through a per-process cache
that opens its own pooled connection on a miss."""

from __future__ import annotations

from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide, provide_all
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.catalogue import Catalogue
from adapters.llm.clients import LlmClients
from adapters.llm.metrics import PrometheusGatewayMetrics
from adapters.llm.provider_model import ProviderChatModel
from adapters.postgres.llm_governance import SqlPolicyLookup, SqlSpendHistory
from adapters.redis.llm_ledger import RedisSpendLedger
from adapters.redis.llm_limiter import RedisCallLimiter
from application.llm.accounting import Accounting
from application.llm.attempts import AttemptRunner
from application.llm.complete_chat import CompleteChat
from application.llm.create_embeddings import CreateEmbeddings
from application.llm.governor import Governor
from application.llm.health import TargetHealth
from application.llm.policy import CachedPolicyLookup
from application.llm.retry import RetryPolicy
from application.llm.settings import LlmSettings
from application.llm.stream_chat import StreamChat
from application.llm.targets import ResolveTargets
from application.ports.llm import ChatModel, EmbeddingModel, ModelCatalogue
from application.ports.llm_governance import CallLimiter, PolicyLookup, SpendHistory, SpendLedger
from application.queries.llm.list_models import ListModels
from application.queries.llm.list_providers import ListProviders
from entrypoints.config import Settings

# Holds and concurrency slots outlive the longest call they cover; a crashed
# process's are freed after this.
HOLD_SECONDS = 900.0


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

    @provide
    def policies(self, engine: AsyncEngine, llm: LlmSettings) -> CachedPolicyLookup:
        return CachedPolicyLookup(SqlPolicyLookup(engine), llm)

    @provide
    def policy_lookup(self, cached: CachedPolicyLookup) -> PolicyLookup:
        return cached

    @provide
    def spend_history(self, engine: AsyncEngine) -> SpendHistory:
        return SqlSpendHistory(engine)

    @provide
    def ledger(self, redis: Redis, history: SpendHistory) -> SpendLedger:
        return RedisSpendLedger(redis, history, hold_seconds=HOLD_SECONDS)

    @provide
    def limiter(self, redis: Redis) -> CallLimiter:
        return RedisCallLimiter(redis, lease_seconds=HOLD_SECONDS)

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
