"""APP-scope infrastructure: built once per process, shared by every request and job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dishka import Provider, Scope, provide
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.metrics import PrometheusGatewayMetrics
from adapters.llm.usage_buffer import BufferedUsageSink
from adapters.mail.files import FileMailer
from adapters.mail.smtp import SmtpMailer
from adapters.postgres.audit import RequestOrigin, SqlAuditLog, SqlAuditReader
from adapters.postgres.engine import RequestConnection, SqlConnection, create_engine
from adapters.postgres.files import SqlFileReader, SqlFileRepository
from adapters.postgres.identity import (
    SqlIdentityReader,
    SqlOneTimeTokenRepository,
    SqlRefreshTokenRepository,
    SqlSessionRepository,
    SqlUserRepository,
)
from adapters.postgres.llm_credentials import (
    SqlCredentialLookup,
    SqlCredentialReader,
    SqlCredentialRepository,
)
from adapters.postgres.llm_governance import (
    SqlGovernanceReader,
    SqlGovernanceRepository,
    SqlPolicyLookup,
    SqlSpendHistory,
)
from adapters.postgres.llm_routes import SqlRouteLookup, SqlRouteReader, SqlRouteRepository
from adapters.postgres.llm_usage import SqlUsageReader, SqlUsageWriter
from adapters.postgres.tenancy import (
    PooledApiKeyLookup,
    SqlApiKeyRepository,
    SqlInvitationRepository,
    SqlMembershipLookup,
    SqlTenancyReader,
    SqlWorkspaceRepository,
)
from adapters.postgres.unit_of_work import SqlUnitOfWork
from adapters.redis.access_changes import RedisAccessChanges, listen_for_access_changes
from adapters.redis.llm_gate import RedisCallGate
from adapters.redis.llm_ledger import RedisSpendLedger
from adapters.redis.llm_limiter import RedisCallLimiter
from adapters.redis.login_throttle import RedisLoginThrottle
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.redis.session_cache import RedisSessionCache
from adapters.redis.usage import RedisUsageRecorder
from adapters.security.base_url_guard import SafeBaseUrlGuard
from adapters.security.cipher import AesGcmCipher
from adapters.security.passwords import Argon2PasswordHasher
from adapters.security.signing import HmacUrlSigner
from adapters.security.tokens import JwtAccessTokens, RandomSecretTokens
from adapters.storage.local import LocalFileStorage
from adapters.storage.s3 import S3FileStorage
from adapters.storage.sniffer import PuremagicSniffer
from adapters.system import SystemClock, UuidV7Generator
from application.common.api_keys import CachedApiKeyLookup
from application.common.files import FileSettings
from application.common.identity import IdentitySettings
from application.llm.endpoints import EndpointResolver
from application.llm.policy import CachedPolicyLookup
from application.llm.settings import LlmSettings
from application.llm.targets import RouteCache
from application.ports.audit import AuditLog, AuditReader
from application.ports.files import (
    BlobReferences,
    ContentSniffer,
    FileReader,
    FileRepository,
    FileStorage,
    UrlSigner,
)
from application.ports.identity import (
    LoginThrottle,
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionCache,
    SessionRepository,
    SessionStatusReader,
    UserRepository,
)
from application.ports.identity_reads import SessionReader, UserReader
from application.ports.llm_credentials import (
    BaseUrlGuard,
    CredentialLookup,
    CredentialReader,
    CredentialRepository,
    SecretCipher,
)
from application.ports.llm_governance import (
    CallGate,
    CallLimiter,
    GovernanceRepository,
    PolicyLookup,
    SpendHistory,
    SpendLedger,
)
from application.ports.llm_governance_reads import GovernanceReader
from application.ports.llm_route_reads import RouteReader
from application.ports.llm_routes import RouteLookup, RouteRepository
from application.ports.llm_usage import GatewayMetrics, UsageReader, UsageSink
from application.ports.mail import Mailer
from application.ports.rate_limit import RateLimiter, UsageRecorder
from application.ports.security import AccessTokenIssuer, PasswordHasher, SecretTokens
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import (
    AccessChanges,
    ApiKeyLookup,
    ApiKeyRepository,
    InvitationRepository,
    MembershipLookup,
    WorkspaceRepository,
)
from application.ports.tenancy_reads import ApiKeyReader, WorkspaceReader
from application.ports.transaction import TransactionManager
from entrypoints.config import Settings


def hold_seconds(llm: LlmSettings) -> float:
    """How long a budget hold or concurrency slot lives: past any plain call
    (twice its deadline) and a long stream (15 min; a stream's deadline is per
    chunk). A process that dies mid-call frees its holds after this."""
    return max(2 * llm.request_deadline_seconds + 60, 900.0)


class InfrastructureProvider(Provider):
    scope = Scope.APP

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings

    @provide
    def settings(self) -> Settings:
        return self._settings

    @provide
    def identity_settings(self, settings: Settings) -> IdentitySettings:
        return settings.identity

    @provide
    async def engine(self, settings: Settings) -> AsyncIterator[AsyncEngine]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        yield engine
        await engine.dispose()

    @provide
    async def redis(self, settings: Settings) -> AsyncIterator[Redis]:
        client = Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=2,
            socket_timeout=2,
            health_check_interval=30,
        )
        yield client
        await client.aclose()

    clock = provide(SystemClock, provides=Clock)
    ids = provide(UuidV7Generator, provides=IdGenerator)
    secret_tokens = provide(RandomSecretTokens, provides=SecretTokens)

    @provide
    def hasher(self, settings: Settings) -> PasswordHasher:
        return Argon2PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )

    @provide
    def access_tokens(self, settings: Settings) -> AccessTokenIssuer:
        return JwtAccessTokens(
            secret=settings.jwt_secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )

    @provide
    def session_cache(self, redis: Redis, settings: Settings) -> SessionCache:
        return RedisSessionCache(
            redis,
            active_ttl=settings.session_cache_ttl_seconds,
            revoked_ttl=settings.access_token_ttl_seconds + 60,
        )

    @provide
    def login_throttle(self, redis: Redis, settings: Settings) -> LoginThrottle:
        return RedisLoginThrottle(
            redis,
            window_seconds=settings.login_window_seconds,
            per_account=settings.login_max_failures_per_account,
            per_address=settings.login_max_failures_per_address,
        )

    @provide
    def file_settings(self, settings: Settings) -> FileSettings:
        return settings.files

    @provide
    def file_storage(self, settings: Settings) -> FileStorage:
        if settings.file_storage == "s3":
            return S3FileStorage.connect(
                bucket=settings.s3_bucket,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                access_key_id=settings.s3_access_key_id,
                secret_access_key=settings.s3_secret_access_key,
                prefix=settings.s3_prefix,
            )
        return LocalFileStorage(settings.file_storage_path)

    sniffer = provide(PuremagicSniffer, provides=ContentSniffer)

    @provide
    def url_signer(self, settings: Settings) -> UrlSigner:
        return HmacUrlSigner(settings.file_signing_key)

    @provide
    def rate_limiter(self, redis: Redis) -> RateLimiter:
        return RedisRateLimiter(redis)

    @provide
    async def api_key_cache(
        self, engine: AsyncEngine, redis: Redis, settings: Settings
    ) -> AsyncIterator[CachedApiKeyLookup]:
        """With its listener: every announced access change is forgotten here too."""
        cache = CachedApiKeyLookup(PooledApiKeyLookup(engine), ttl=settings.api_key_cache_seconds)
        listener = asyncio.create_task(listen_for_access_changes(redis, cache.forget))
        yield cache
        listener.cancel()
        await asyncio.wait({listener}, timeout=2)  # never hold up a shutdown

    @provide
    def api_key_lookup(self, cache: CachedApiKeyLookup) -> ApiKeyLookup:
        return cache

    @provide
    def access_changes(self, redis: Redis, cache: CachedApiKeyLookup) -> AccessChanges:
        return RedisAccessChanges(redis, cache.forget)

    @provide
    def usage_recorder(self, redis: Redis) -> RedisUsageRecorder:
        return RedisUsageRecorder(redis)

    @provide
    def usage(self, recorder: RedisUsageRecorder) -> UsageRecorder:
        return recorder

    @provide
    def mailer(self, settings: Settings) -> Mailer:
        if settings.mail_backend == "smtp":
            return SmtpMailer(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.mail_from,
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                use_tls=settings.smtp_security == "tls",
                start_tls=settings.smtp_security == "starttls",
                timeout=settings.smtp_timeout_seconds,
            )
        return FileMailer(settings.mail_path, sender=settings.mail_from)

    # -- LLM credentials and where calls go

    @provide
    def llm_settings(self, settings: Settings) -> LlmSettings:
        return settings.llm

    @provide
    def secret_cipher(self, settings: Settings) -> SecretCipher:
        return AesGcmCipher.from_setting(settings.llm_master_keys)

    @provide
    def base_url_guard(self, llm: LlmSettings) -> BaseUrlGuard:
        return SafeBaseUrlGuard(llm.allowed_private_hosts)

    @provide
    def credential_lookup(self, engine: AsyncEngine) -> CredentialLookup:
        return SqlCredentialLookup(engine)

    @provide
    def endpoint_resolver(
        self,
        lookup: CredentialLookup,
        cipher: SecretCipher,
        guard: BaseUrlGuard,
        llm: LlmSettings,
    ) -> EndpointResolver:
        return EndpointResolver(lookup, cipher, guard, llm)

    @provide
    def route_lookup(self, engine: AsyncEngine) -> RouteLookup:
        return SqlRouteLookup(engine)

    @provide
    def route_cache(self, llm: LlmSettings) -> RouteCache:
        return RouteCache(llm.policy_cache_seconds)

    # -- LLM budgets and limits

    @provide
    def cached_policy_lookup(self, engine: AsyncEngine, llm: LlmSettings) -> CachedPolicyLookup:
        return CachedPolicyLookup(SqlPolicyLookup(engine), llm)

    @provide
    def policy_lookup(self, cached: CachedPolicyLookup) -> PolicyLookup:
        return cached

    @provide
    def spend_history(self, engine: AsyncEngine) -> SpendHistory:
        return SqlSpendHistory(engine)

    @provide
    def redis_spend_ledger(
        self, redis: Redis, history: SpendHistory, llm: LlmSettings
    ) -> RedisSpendLedger:
        return RedisSpendLedger(redis, history, hold_seconds=hold_seconds(llm))

    @provide
    def spend_ledger(self, ledger: RedisSpendLedger) -> SpendLedger:
        return ledger

    @provide
    def redis_call_limiter(self, redis: Redis, llm: LlmSettings) -> RedisCallLimiter:
        return RedisCallLimiter(redis, lease_seconds=hold_seconds(llm))

    @provide
    def call_limiter(self, limiter: RedisCallLimiter) -> CallLimiter:
        return limiter

    @provide
    def call_gate(
        self, redis: Redis, limiter: RedisCallLimiter, ledger: RedisSpendLedger
    ) -> CallGate:
        """Limits and budget hold in one Lua round trip each way."""
        return RedisCallGate(redis, limiter, ledger)

    # -- LLM usage accounting and metrics

    prometheus_metrics = provide(PrometheusGatewayMetrics)

    @provide
    def gateway_metrics(self, metrics: PrometheusGatewayMetrics) -> GatewayMetrics:
        return metrics

    @provide
    async def buffered_usage_sink(
        self, engine: AsyncEngine, settings: Settings, metrics: PrometheusGatewayMetrics
    ) -> AsyncIterator[BufferedUsageSink]:
        """Closed with the container (the app's shutdown): writes what is left."""
        sink = BufferedUsageSink(
            SqlUsageWriter(engine),
            flush_seconds=settings.llm_usage_flush_seconds,
            on_dropped=metrics.records_dropped,
        )
        yield sink
        await sink.aclose()

    @provide
    def usage_sink(self, sink: BufferedUsageSink) -> UsageSink:
        return sink


class PersistenceProvider(Provider):
    """REQUEST scope: one connection and one unit of work per request or job."""

    scope = Scope.REQUEST

    @provide
    async def request_connection(self, engine: AsyncEngine) -> AsyncIterator[RequestConnection]:
        held = RequestConnection(engine)
        try:
            yield held
        finally:
            await held.release()  # leaving without commit rolls back

    @provide
    def connection(self, held: RequestConnection) -> SqlConnection:
        """Checked out by the first statement, so a handler can hand it back
        (``TransactionManager.release``) and take another later."""
        return held

    @provide(provides=SqlUnitOfWork)
    def unit_of_work(
        self, connection: SqlConnection, ids: IdGenerator, clock: Clock
    ) -> SqlUnitOfWork:
        return SqlUnitOfWork(connection, ids, clock)

    @provide
    def transaction_manager(self, uow: SqlUnitOfWork) -> TransactionManager:
        return uow

    users = provide(SqlUserRepository, provides=UserRepository)
    sessions = provide(SqlSessionRepository, provides=SessionRepository)
    refresh_tokens = provide(SqlRefreshTokenRepository, provides=RefreshTokenRepository)
    one_time_tokens = provide(SqlOneTimeTokenRepository, provides=OneTimeTokenRepository)
    identity_reader = provide(SqlIdentityReader)

    @provide
    def user_reader(self, reader: SqlIdentityReader) -> UserReader:
        return reader

    @provide
    def session_reader(self, reader: SqlIdentityReader) -> SessionReader:
        return reader

    @provide
    def session_status_reader(self, reader: SqlIdentityReader) -> SessionStatusReader:
        return reader

    workspaces = provide(SqlWorkspaceRepository, provides=WorkspaceRepository)
    invitations = provide(SqlInvitationRepository, provides=InvitationRepository)
    api_keys = provide(SqlApiKeyRepository, provides=ApiKeyRepository)
    membership_lookup = provide(SqlMembershipLookup, provides=MembershipLookup)
    audit_log = provide(SqlAuditLog, provides=AuditLog)
    llm_credentials = provide(SqlCredentialRepository, provides=CredentialRepository)
    llm_credential_reader = provide(SqlCredentialReader, provides=CredentialReader)
    llm_routes = provide(SqlRouteRepository, provides=RouteRepository)
    llm_route_reader = provide(SqlRouteReader, provides=RouteReader)
    llm_governance = provide(SqlGovernanceRepository, provides=GovernanceRepository)
    llm_governance_reader = provide(SqlGovernanceReader, provides=GovernanceReader)
    llm_usage_reader = provide(SqlUsageReader, provides=UsageReader)
    audit_reader = provide(SqlAuditReader, provides=AuditReader)
    tenancy_reader = provide(SqlTenancyReader)
    files = provide(SqlFileRepository, provides=FileRepository)
    file_reader = provide(SqlFileReader)

    @provide
    def file_reads(self, reader: SqlFileReader) -> FileReader:
        return reader

    @provide
    def blob_references(self, reader: SqlFileReader) -> BlobReferences:
        return reader

    @provide
    def workspace_reader(self, reader: SqlTenancyReader) -> WorkspaceReader:
        return reader

    @provide
    def api_key_reader(self, reader: SqlTenancyReader) -> ApiKeyReader:
        return reader


class JobOriginProvider(Provider):
    """Jobs have no client: their audit entries carry no address or request id."""

    @provide(scope=Scope.REQUEST)
    def origin(self) -> RequestOrigin:
        return RequestOrigin()
