"""Where a call goes: the rules of EndpointResolver and its per-process cache."""

from __future__ import annotations

import asyncio
import dataclasses
from uuid import UUID

import pytest

from adapters.security.cipher import AesGcmCipher
from application.llm.endpoints import EndpointResolver, ProviderAvailability
from application.llm.settings import DEFAULT_BASE_URLS, LlmSettings, OperatorEndpoint
from domain.llm.credential import Credential
from domain.llm.errors import (
    CredentialNotFound,
    CredentialUnreadable,
    ModelNotFound,
    UnsafeBaseUrl,
)
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_credentials import CredentialWorld, InMemoryCredentials, master_key

OPERATOR_KEY = "sk-operator-key-000000000000"
OPERATOR = {
    Provider.OPENAI: OperatorEndpoint(
        provider=Provider.OPENAI, base_url="http://127.0.0.1:9999/v1", api_key=OPERATOR_KEY
    ),
    Provider.OLLAMA: OperatorEndpoint(
        provider=Provider.OLLAMA, base_url="http://localhost:11434/v1", api_key="ollama"
    ),
}
TTL = 2.0


def world(*, fallback: bool = True, operator: bool = True) -> CredentialWorld:
    return CredentialWorld(
        LlmSettings(
            operator_endpoints=OPERATOR if operator else {},
            operator_fallback=fallback,
            policy_cache_seconds=TTL,
        )
    )


# -- which credential --------------------------------------------------------------------


async def test_the_workspaces_oldest_credential_for_the_provider_serves() -> None:
    w = world()
    await w.add("anthropic", api_key="sk-ant-first-00000000000")
    oldest = await w.add("openai", api_key="sk-openai-oldest-0000000")
    await w.add("openai", api_key="sk-openai-newer-00000000")
    endpoint = await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert endpoint.credential_id == oldest.id
    assert endpoint.api_key == "sk-openai-oldest-0000000"
    assert endpoint.base_url == DEFAULT_BASE_URLS[Provider.OPENAI]
    assert endpoint.provider is Provider.OPENAI


async def test_a_named_credential_serves_when_it_is_the_workspaces_and_the_providers() -> None:
    w = world()
    await w.add("openai", api_key="sk-openai-oldest-0000000")
    chosen = await w.add("openai", api_key="sk-openai-chosen-0000000")
    endpoint = await w.resolver.resolve(w.workspace, Provider.OPENAI, chosen.id)
    assert (endpoint.credential_id, endpoint.api_key) == (chosen.id, "sk-openai-chosen-0000000")


async def test_a_named_credential_of_another_provider_or_workspace_is_not_found() -> None:
    w = world()
    anthropic = await w.add("anthropic")
    foreign = await w.add("openai", workspace=w.other_workspace)
    for credential_id in (anthropic.id, foreign.id, CredentialId(UUID(int=99))):
        with pytest.raises(CredentialNotFound) as caught:
            await w.resolver.resolve(w.workspace, Provider.OPENAI, credential_id)
        assert caught.value.field == "credential_id"


async def test_without_a_credential_the_operator_endpoint_serves() -> None:
    w = world()
    await w.add("anthropic")
    endpoint = await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert endpoint.credential_id is None
    assert (endpoint.base_url, endpoint.api_key) == ("http://127.0.0.1:9999/v1", OPERATOR_KEY)
    assert w.guard.checked == []  # the operator's configuration is trusted


async def test_a_workspace_credential_wins_over_the_operator() -> None:
    w = world()
    own = await w.add("openai")
    assert (await w.resolver.resolve(w.workspace, Provider.OPENAI)).credential_id == own.id


async def test_with_the_operator_fallback_off_a_workspace_without_a_key_has_no_model() -> None:
    w = world(fallback=False)
    with pytest.raises(ModelNotFound) as caught:
        await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert "No credential for provider openai" in caught.value.detail


async def test_with_neither_a_credential_nor_an_operator_key_there_is_no_model() -> None:
    w = world()
    with pytest.raises(ModelNotFound, match="provider gemini"):
        await w.resolver.resolve(w.workspace, Provider.GEMINI)


async def test_an_endpoint_never_shows_its_key() -> None:
    w = world()
    await w.add("openai", api_key="sk-never-shown-000000000")
    endpoint = await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert "sk-never-shown" not in repr(endpoint)
    assert "sk-never-shown" not in endpoint.target_key


# -- what a stored credential becomes ----------------------------------------------------


async def test_an_unreadable_secret_is_refused_and_does_not_fall_back() -> None:
    w = world()
    credential = await w.add("openai")
    w.resolver = EndpointResolver(
        w.credentials,
        AesGcmCipher([("k2", master_key("k2"))]),  # the key that sealed it is gone
        w.guard,
        w.settings,
    )
    with pytest.raises(CredentialUnreadable):
        await w.resolver.resolve(w.workspace, Provider.OPENAI)
    with pytest.raises(CredentialUnreadable):
        await w.resolver.resolve(w.workspace, Provider.OPENAI, credential.id)


async def test_a_secret_moved_to_another_row_does_not_open() -> None:
    w = world()
    mine = await w.add("openai", api_key="sk-mine-00000000000000")
    theirs = await w.add("openai", workspace=w.other_workspace, api_key="sk-theirs-000000000000")
    w.credentials.rows[mine.id] = dataclasses.replace(
        w.credentials.rows[mine.id], secret=w.credentials.rows[theirs.id].secret
    )
    w.resolver.forget(w.workspace)
    with pytest.raises(CredentialUnreadable):
        await w.resolver.resolve(w.workspace, Provider.OPENAI)


async def test_a_base_url_is_rechecked_once_per_cache_period() -> None:
    w = world()
    await w.add("custom", api_key=None, base_url="https://llm.example.com/v1")
    w.guard.checked.clear()
    for _ in range(5):
        await w.resolver.resolve(w.workspace, Provider.CUSTOM)
    assert w.guard.checked == ["https://llm.example.com/v1"]
    w.ticker.now += TTL
    await w.resolver.resolve(w.workspace, Provider.CUSTOM)
    assert len(w.guard.checked) == 2


async def test_a_host_that_turned_private_is_refused_when_rechecked() -> None:
    w = world()
    await w.add("vllm", api_key=None, base_url="https://gpu.example.com/v1")
    w.guard.checked.clear()
    assert (await w.resolver.resolve(w.workspace, Provider.VLLM)).base_url == (
        "https://gpu.example.com/v1"
    )
    w.guard.unsafe.add("gpu.example.com")  # its DNS now answers a private address
    w.ticker.now += TTL
    for _ in range(2):  # the verdict is kept for the period, raised afresh each time
        with pytest.raises(UnsafeBaseUrl):
            await w.resolver.resolve(w.workspace, Provider.VLLM)
    assert w.guard.checked.count("https://gpu.example.com/v1") == 2


# -- the cache ---------------------------------------------------------------------------


async def test_the_database_is_read_once_per_workspace_per_period() -> None:
    w = world()
    await w.add("openai")
    w.credentials.lookups = 0
    for _ in range(10):
        await w.resolver.resolve(w.workspace, Provider.OPENAI)
        await w.resolver.available(w.workspace)
    assert w.credentials.lookups == 1
    w.ticker.now += TTL - 0.01
    await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert w.credentials.lookups == 1
    w.ticker.now += 0.01
    await w.resolver.resolve(w.workspace, Provider.OPENAI)
    assert w.credentials.lookups == 2


async def test_concurrent_misses_share_one_read() -> None:
    w = world()
    await w.add("openai")
    w.credentials.lookups = 0
    endpoints = await asyncio.gather(
        *(w.resolver.resolve(w.workspace, Provider.OPENAI) for _ in range(20))
    )
    assert len({e.credential_id for e in endpoints}) == 1
    assert w.credentials.lookups == 1


async def test_a_credential_deleted_on_another_replica_serves_until_the_period_ends() -> None:
    w = world(fallback=False)
    credential = await w.add("openai")
    await w.resolver.resolve(w.workspace, Provider.OPENAI)
    del w.credentials.rows[credential.id]  # another replica deleted it: no forget() here
    assert (await w.resolver.resolve(w.workspace, Provider.OPENAI)).credential_id == credential.id
    w.ticker.now += TTL
    with pytest.raises(ModelNotFound):
        await w.resolver.resolve(w.workspace, Provider.OPENAI)


class GatedLookup(InMemoryCredentials):
    """A lookup that waits for ``gate`` before answering, like a slow database."""

    def __init__(self, inner: InMemoryCredentials) -> None:
        self.rows = inner.rows
        self.lookups = 0
        self.gate = asyncio.Event()

    async def of_workspace(self, workspace_id: WorkspaceId) -> list[Credential]:
        found = await super().of_workspace(workspace_id)
        await self.gate.wait()
        return found


async def test_a_read_overlapping_a_forget_is_not_kept() -> None:
    w = world()
    await w.add("openai")
    lookup = GatedLookup(w.credentials)
    resolver = EndpointResolver(lookup, w.cipher, w.guard, w.settings, monotonic=w.ticker)
    first = asyncio.ensure_future(resolver.resolve(w.workspace, Provider.OPENAI))
    while lookup.lookups == 0:  # the read is under way
        await asyncio.sleep(0)
    resolver.forget(w.workspace)  # e.g. a delete committed while the read was under way
    lookup.gate.set()
    await first
    await resolver.resolve(w.workspace, Provider.OPENAI)
    assert lookup.lookups == 2


async def test_a_cancelled_caller_does_not_cancel_the_shared_read() -> None:
    w = world()
    await w.add("openai")
    lookup = GatedLookup(w.credentials)
    resolver = EndpointResolver(lookup, w.cipher, w.guard, w.settings, monotonic=w.ticker)
    impatient = asyncio.ensure_future(resolver.resolve(w.workspace, Provider.OPENAI))
    patient = asyncio.ensure_future(resolver.resolve(w.workspace, Provider.OPENAI))
    await asyncio.sleep(0)
    impatient.cancel()
    lookup.gate.set()
    assert (await patient).provider is Provider.OPENAI
    assert impatient.cancelled()
    assert lookup.lookups == 1


# -- what a workspace can call -----------------------------------------------------------


async def test_availability_lists_workspace_credentials_then_operator_providers() -> None:
    w = world()
    first = await w.add("openai")
    second = await w.add("openai")
    gemini = await w.add("gemini")
    assert await w.resolver.available(w.workspace) == [
        ProviderAvailability(
            provider=Provider.OPENAI, source="workspace", credential_ids=(first.id, second.id)
        ),
        ProviderAvailability(
            provider=Provider.GEMINI, source="workspace", credential_ids=(gemini.id,)
        ),
        ProviderAvailability(provider=Provider.OLLAMA, source="operator"),
    ]
    assert await w.resolver.available(w.other_workspace) == [
        ProviderAvailability(provider=Provider.OPENAI, source="operator"),
        ProviderAvailability(provider=Provider.OLLAMA, source="operator"),
    ]


async def test_availability_without_the_operator_fallback_is_the_workspaces_own() -> None:
    w = world(fallback=False)
    assert await w.resolver.available(w.workspace) == []
    anthropic = await w.add("anthropic")
    assert await w.resolver.available(w.workspace) == [
        ProviderAvailability(
            provider=Provider.ANTHROPIC, source="workspace", credential_ids=(anthropic.id,)
        )
    ]
