"""Where a call goes: from a stored credential, or the operator's configuration.

``EndpointResolver`` is one object per process. It keeps each workspace's
credentials for ``policy_cache_seconds``, so a call reads the database at most
once per period per workspace (a miss opens and returns its own connection:
no request holds one for it). A credential created or deleted through this
process is seen at once; through another replica, within that period.

A stored key is decrypted and its own base URL re-checked by the
``BaseUrlGuard`` at most once per period. Operator endpoints are trusted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from application.llm.settings import DEFAULT_BASE_URLS, LlmSettings
from application.ports.llm import Endpoint
from application.ports.llm_credentials import BaseUrlGuard, CredentialLookup, SecretCipher
from domain.common.errors import DomainError
from domain.llm.credential import Credential, credential_associated_data
from domain.llm.errors import CredentialNotFound, ModelNotFound, UnsafeBaseUrl
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.ids import WorkspaceId

# Workspaces kept at most; beyond it, expired entries and then the oldest go.
MAX_CACHED_WORKSPACES = 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderAvailability:
    """A provider a workspace can call, and whose keys serve it."""

    provider: Provider
    source: Literal["workspace", "operator"]
    credential_ids: tuple[CredentialId, ...] = ()


async def endpoint_of(
    credential: Credential, cipher: SecretCipher, guard: BaseUrlGuard
) -> Endpoint:
    """A stored credential made callable: its key opened, its base URL checked
    (or the provider's public default). Raises CredentialUnreadable or UnsafeBaseUrl."""
    api_key = cipher.decrypt(
        credential.secret,
        associated_data=credential_associated_data(credential.workspace_id, credential.id),
    )
    if credential.base_url:
        base_url = await guard.check(credential.base_url)
    elif credential.provider in DEFAULT_BASE_URLS:
        base_url = DEFAULT_BASE_URLS[credential.provider]
    else:
        raise UnsafeBaseUrl(f"A {credential.provider.value} credential needs a base_url.")
    return Endpoint(
        provider=credential.provider,
        base_url=base_url,
        # Keyless local servers get the provider's name, as the operator's do.
        api_key=api_key or credential.provider.value,
        credential_id=credential.id,
    )


@dataclass(slots=True)
class _Cached:
    loaded_at: float
    credentials: tuple[Credential, ...]
    # Built on first use: the endpoint, or the error to raise for it.
    built: dict[CredentialId, Endpoint | DomainError] = field(default_factory=dict)


class EndpointResolver:
    def __init__(
        self,
        lookup: CredentialLookup,
        cipher: SecretCipher,
        guard: BaseUrlGuard,
        settings: LlmSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._cipher = cipher
        self._guard = guard
        self._settings = settings
        self._now = monotonic
        self._cache: dict[WorkspaceId, _Cached] = {}
        self._loading: dict[WorkspaceId, asyncio.Future[tuple[Credential, ...]]] = {}
        self._forgets = 0  # loads that overlap a forget() are used once, not kept

    async def resolve(
        self,
        workspace_id: WorkspaceId,
        provider: Provider,
        credential_id: CredentialId | None = None,
    ) -> Endpoint:
        """The named credential (it must be this workspace's, for this provider);
        else the workspace's oldest for the provider; else the operator's."""
        cached = await self._cached(workspace_id)
        if credential_id is not None:
            for credential in cached.credentials:
                if credential.id == credential_id and credential.provider is provider:
                    return await self._built(cached, credential)
            raise CredentialNotFound(field="credential_id")
        for credential in cached.credentials:
            if credential.provider is provider:
                return await self._built(cached, credential)
        operator = self._settings.operator_endpoints.get(provider)
        if operator is not None and self._settings.operator_fallback:
            return Endpoint(provider=provider, base_url=operator.base_url, api_key=operator.api_key)
        raise ModelNotFound(
            f"No credential for provider {provider.value}: add one under /api/v1/llm/credentials."
        )

    async def credential(self, workspace_id: WorkspaceId, credential_id: CredentialId) -> Endpoint:
        """The endpoint of one of the workspace's credentials, whatever its provider."""
        cached = await self._cached(workspace_id)
        for credential in cached.credentials:
            if credential.id == credential_id:
                return await self._built(cached, credential)
        raise CredentialNotFound

    async def available(self, workspace_id: WorkspaceId) -> list[ProviderAvailability]:
        """Every provider the workspace can call, in the order of ``Provider``."""
        cached = await self._cached(workspace_id)
        found = []
        for provider in Provider:
            ids = tuple(c.id for c in cached.credentials if c.provider is provider)
            if ids:
                found.append(
                    ProviderAvailability(provider=provider, source="workspace", credential_ids=ids)
                )
            elif self._settings.operator_fallback and provider in self._settings.operator_endpoints:
                found.append(ProviderAvailability(provider=provider, source="operator"))
        return found

    def forget(self, workspace_id: WorkspaceId) -> None:
        """Drop what this process knows of the workspace's credentials (after a
        change was committed); a read already under way is not kept either."""
        self._cache.pop(workspace_id, None)
        self._loading.pop(workspace_id, None)
        self._forgets += 1

    # -- cache ---------------------------------------------------------------------------

    async def _cached(self, workspace_id: WorkspaceId) -> _Cached:
        cached = self._cache.get(workspace_id)
        if cached is not None and self._now() - cached.loaded_at < self._ttl:
            return cached
        pending = self._loading.get(workspace_id)
        if pending is None:
            pending = asyncio.ensure_future(self._load(workspace_id))
            self._loading[workspace_id] = pending
            pending.add_done_callback(self._loaded(workspace_id))
        credentials = await asyncio.shield(pending)
        cached = self._cache.get(workspace_id)
        if cached is not None and cached.credentials is credentials:
            return cached
        return _Cached(loaded_at=self._now(), credentials=credentials)

    def _loaded(
        self, workspace_id: WorkspaceId
    ) -> Callable[[asyncio.Future[tuple[Credential, ...]]], None]:
        def done(future: asyncio.Future[tuple[Credential, ...]]) -> None:
            if self._loading.get(workspace_id) is future:
                del self._loading[workspace_id]
            if not future.cancelled():
                future.exception()  # retrieved: waiters that were cancelled leave no warning

        return done

    async def _load(self, workspace_id: WorkspaceId) -> tuple[Credential, ...]:
        forgets = self._forgets
        loaded_at = self._now()
        credentials = tuple(await self._lookup.of_workspace(workspace_id))
        if self._forgets == forgets:  # nothing changed meanwhile: keep it
            self._store(workspace_id, _Cached(loaded_at=loaded_at, credentials=credentials))
        return credentials

    def _store(self, workspace_id: WorkspaceId, cached: _Cached) -> None:
        self._cache.pop(workspace_id, None)
        self._cache[workspace_id] = cached
        if len(self._cache) > MAX_CACHED_WORKSPACES:
            now = self._now()
            for stale in [w for w, c in self._cache.items() if now - c.loaded_at >= self._ttl]:
                del self._cache[stale]
            while len(self._cache) > MAX_CACHED_WORKSPACES:
                del self._cache[next(iter(self._cache))]

    @property
    def _ttl(self) -> float:
        return self._settings.policy_cache_seconds

    async def _built(self, cached: _Cached, credential: Credential) -> Endpoint:
        built = cached.built.get(credential.id)
        if built is None:
            try:
                built = await endpoint_of(credential, self._cipher, self._guard)
            except DomainError as error:
                built = error
            cached.built[credential.id] = built
        if isinstance(built, DomainError):
            raise type(built)(built.detail, field=built.field)
        return built
