"""The gateway's read of budgets, limits and settings, cached per process.

Every call needs its caller's policy; reading it from the database each time
would put a round trip on the hot path. Answers live
``LlmSettings.policy_cache_seconds``: a change made through this process is
seen at once (the handlers call ``forget``), other replicas see it within the
TTL.
"""

from __future__ import annotations

from application.common.cache import TtlCache
from application.llm.settings import LlmSettings
from application.ports.llm_governance import PolicyLookup
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Policy
from domain.tenancy.ids import WorkspaceId


class CachedPolicyLookup(PolicyLookup):
    def __init__(self, inner: PolicyLookup, settings: LlmSettings) -> None:
        self._inner = inner
        self._cache: TtlCache[tuple[WorkspaceId, ApiKeyId | None], Policy] = TtlCache(
            settings.policy_cache_seconds
        )

    async def policy(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Policy:
        return await self._cache.get_or_load(
            (workspace_id, api_key_id), lambda: self._inner.policy(workspace_id, api_key_id)
        )

    def forget(self, workspace_id: WorkspaceId) -> None:
        """Drop every cached policy of the workspace (its own and its keys')."""
        self._cache.invalidate_where(lambda key, _: key[0] == workspace_id)
