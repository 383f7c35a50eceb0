from __future__ import annotations

import hmac
import math

from application.common.cache import TtlCache
from application.common.tenancy import WorkspaceActor
from application.ports.rate_limit import RateLimitDecision, RateLimiter, UsageRecorder
from application.ports.security import SecretTokens
from application.ports.system import Clock
from application.ports.tenancy import ApiKeyLookup
from domain.identity.api_key import (
    LOOKUP_PREFIX_LENGTH,
    SECRET_PREFIX,
    ApiKey,
    InvalidApiKeyCredential,
    RateLimited,
)
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role


class AuthenticateApiKey:
    """An ``sk-ss-`` secret to the workspace actor it stands for.

    The key is checked on every request (through ``CachedApiKeyLookup``, which
    forgets on every announced change), so a revocation, expiry, or a change of
    its creator's role applies from the next request. The per-key rate limit
    is counted before anything else runs.
    """

    def __init__(
        self,
        keys: ApiKeyLookup,
        secrets: SecretTokens,
        limiter: RateLimiter,
        usage: UsageRecorder,
        clock: Clock,
    ) -> None:
        self._keys = keys
        self._secrets = secrets
        self._limiter = limiter
        self._usage = usage
        self._clock = clock
        self.decision: RateLimitDecision | None = None

    async def execute(self, secret: str) -> WorkspaceActor:
        if not secret.startswith(SECRET_PREFIX) or not 40 <= len(secret) <= 100:
            raise InvalidApiKeyCredential
        presented = self._secrets.fingerprint(secret)
        now = self._clock.now()
        for key, creator_role in await self._keys.by_prefix(secret[:LOOKUP_PREFIX_LENGTH]):
            if not hmac.compare_digest(key.secret_hash, presented):
                continue
            permissions = key.effective_permissions(creator_role)
            if not key.is_usable(now) or creator_role is None or not permissions:
                raise InvalidApiKeyCredential
            if key.rate_limit_per_minute:
                self.decision = await self._limiter.hit(
                    f"api-key:{key.id}", limit=key.rate_limit_per_minute, window_seconds=60
                )
                if not self.decision.allowed:
                    raise RateLimited(
                        retry_after=max(1, math.ceil(self.decision.reset_after)),
                        limit=self.decision.limit,
                    )
            await self._usage.api_key_used(key.id, now)
            return WorkspaceActor(
                workspace_id=key.workspace_id,
                user_id=key.created_by,
                role=creator_role,
                permissions=permissions,
                api_key_id=key.id,
            )
        raise InvalidApiKeyCredential


class CachedApiKeyLookup(ApiKeyLookup):
    """Keys by lookup prefix, kept per process so the gateway's hot path makes
    no database round trip for a key it has seen.

    Still refused from the next request on after a revocation or a role change:
    every such change is announced after its commit (``AccessChanges``), this
    process forgets at once and the others when the announcement reaches them
    (Redis pub/sub, a millisecond). ``ttl`` bounds the damage of an announcement
    lost with a broken subscription, which also forgets everything when it
    comes back. Unknown prefixes are not kept: a new key is found at once.
    """

    def __init__(self, inner: ApiKeyLookup, ttl: float, max_entries: int = 10_000) -> None:
        self._inner = inner
        self._cache: TtlCache[str, list[tuple[ApiKey, Role | None]]] = TtlCache(
            ttl, max_entries, keep=bool
        )

    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        return await self._cache.get_or_load(prefix, lambda: self._inner.by_prefix(prefix))

    def forget(self, workspace_id: WorkspaceId | None) -> None:
        if workspace_id is None:
            self._cache.invalidate()
        else:
            self._cache.invalidate_where(
                lambda _prefix, keys: any(key.workspace_id == workspace_id for key, _role in keys)
            )
