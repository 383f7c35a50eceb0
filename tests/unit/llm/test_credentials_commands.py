"""Creating, listing, deleting and testing a workspace's provider credentials."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.commands.llm.create_credential import CreateCredential
from application.commands.llm.delete_credential import DeleteCredential
from application.commands.llm.test_credential import MAX_TEST_SECONDS, TestCredential
from application.llm.settings import DEFAULT_BASE_URLS, LlmSettings
from domain.audit.entry import AuditAction
from domain.llm.credential import credential_associated_data
from domain.llm.errors import (
    CredentialNameTaken,
    CredentialNotFound,
    InvalidCredential,
    ModelNotFound,
    ProviderAuthenticationFailed,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    UnsafeBaseUrl,
)
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Role
from tests.fakes.llm_credentials import CredentialWorld

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"


@pytest.fixture
def world() -> CredentialWorld:
    return CredentialWorld()


def create(world: CredentialWorld, role: Role = Role.ADMIN, **fields: object) -> CreateCredential:
    values: dict[str, object] = {"provider": "openai", "name": "Production", "api_key": KEY}
    values.update(fields)
    return CreateCredential(actor=world.actor(role), **values)  # type: ignore[arg-type]


# -- create ------------------------------------------------------------------------------


async def test_an_admin_stores_a_key_encrypted_and_bound_to_its_row(
    world: CredentialWorld,
) -> None:
    credential = await world.create(create(world, name="  Production  "))
    assert credential.provider is Provider.OPENAI
    assert credential.name == "Production"
    assert credential.last4 == "WXYZ"
    assert credential.base_url is None
    assert credential.created_by == world.admin
    assert credential.created_at == world.clock.now()
    stored = world.credentials.rows[credential.id]
    assert KEY.encode() not in stored.secret.ciphertext
    assert KEY not in repr(stored)
    aad = credential_associated_data(world.workspace, credential.id)
    assert world.cipher.decrypt(stored.secret, associated_data=aad) == KEY
    assert world.uow.commits == 1


async def test_creating_is_audited_without_the_key(world: CredentialWorld) -> None:
    credential = await world.create(create(world))
    [entry] = world.audit.entries
    assert entry.action is AuditAction.LLM_CREDENTIAL_CREATED
    assert entry.workspace_id == world.workspace
    assert entry.target_id == credential.id
    assert entry.metadata == {"provider": "openai", "name": "Production"}
    assert KEY not in repr(entry)


async def test_the_command_never_shows_the_key() -> None:
    world = CredentialWorld()
    assert KEY not in repr(create(world))
    assert KEY not in str(create(world))


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_only_admins_create_credentials(world: CredentialWorld, role: Role) -> None:
    with pytest.raises(InsufficientRole):
        await world.create(create(world, role))
    assert world.credentials.rows == {}
    assert world.audit.entries == []


@pytest.mark.parametrize("provider", ["openia", "", "OpenAI ", "azure"])
async def test_an_unknown_provider_is_refused(world: CredentialWorld, provider: str) -> None:
    if provider == "OpenAI ":  # case and spaces are forgiven
        assert (await world.create(create(world, provider=provider))).provider is Provider.OPENAI
        return
    with pytest.raises(InvalidCredential) as caught:
        await world.create(create(world, provider=provider))
    assert caught.value.field == "provider"
    assert "openai, anthropic, gemini, ollama, vllm, custom" in caught.value.detail


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\x00name", "tab\there"])
async def test_a_bad_name_is_refused(world: CredentialWorld, name: str) -> None:
    with pytest.raises(InvalidCredential) as caught:
        await world.create(create(world, name=name))
    assert caught.value.field == "name"
    assert world.credentials.rows == {}


async def test_a_name_of_64_characters_is_accepted(world: CredentialWorld) -> None:
    assert (await world.create(create(world, name="é" * 64))).name == "é" * 64


async def test_names_are_unique_per_workspace(world: CredentialWorld) -> None:
    await world.create(create(world, name="Shared"))
    with pytest.raises(CredentialNameTaken):
        await world.create(create(world, name="Shared", provider="anthropic"))
    other = CreateCredential(
        actor=world.actor(workspace=world.other_workspace),
        provider="openai",
        name="Shared",
        api_key=KEY,
    )
    await world.create(other)
    assert len(world.credentials.rows) == 2
    assert [e.action for e in world.audit.entries] == [AuditAction.LLM_CREDENTIAL_CREATED] * 2


@pytest.mark.parametrize(
    "api_key",
    [None, "", "sk with space", "sk-tab\tkey", "sk-newline\n", "sk-\x7f", "sk-ключ", "k" * 501],
)
async def test_a_bad_or_missing_key_is_refused_without_repeating_it(
    world: CredentialWorld, api_key: str | None
) -> None:
    with pytest.raises(InvalidCredential) as caught:
        await world.create(create(world, api_key=api_key))
    assert caught.value.field == "api_key"
    if api_key:
        assert api_key not in caught.value.detail
    assert world.credentials.rows == {}


async def test_a_key_of_500_characters_is_accepted(world: CredentialWorld) -> None:
    assert (await world.create(create(world, api_key="k" * 496 + "LAST"))).last4 == "LAST"


async def test_a_short_key_shows_no_characters(world: CredentialWorld) -> None:
    assert (await world.create(create(world, api_key="abcdefghijk"))).last4 == ""
    assert (await world.create(create(world, name="b", api_key="abcdefghijkl"))).last4 == "ijkl"


@pytest.mark.parametrize("provider", ["ollama", "vllm", "custom"])
async def test_local_servers_need_a_base_url_but_no_key(
    world: CredentialWorld, provider: str
) -> None:
    with pytest.raises(InvalidCredential) as caught:
        await world.create(create(world, provider=provider, api_key=None))
    assert caught.value.field == "base_url"
    credential = await world.create(
        create(world, provider=provider, api_key=None, base_url="https://llm.example.com/v1/")
    )
    assert credential.last4 == ""
    assert credential.base_url == "https://llm.example.com/v1"
    endpoint = await world.resolver.resolve(world.workspace, Provider(provider))
    assert endpoint.api_key == provider  # a placeholder, as for the operator's local servers


async def test_the_base_url_is_checked_and_stored_normalised(world: CredentialWorld) -> None:
    credential = await world.create(create(world, base_url="https://proxy.example.com/v1/"))
    assert credential.base_url == "https://proxy.example.com/v1"
    assert world.guard.checked == ["https://proxy.example.com/v1/"]


@pytest.mark.parametrize(
    "base_url", ["http://proxy.example.com", "https://127.0.0.1/v1", "https://internal.example"]
)
async def test_an_unsafe_base_url_stores_nothing(world: CredentialWorld, base_url: str) -> None:
    with pytest.raises(UnsafeBaseUrl):
        await world.create(create(world, base_url=base_url))
    assert world.credentials.rows == {}
    assert world.audit.entries == []


async def test_a_blank_base_url_means_the_providers_default(world: CredentialWorld) -> None:
    credential = await world.create(create(world, base_url="  "))
    assert credential.base_url is None
    endpoint = await world.resolver.resolve(world.workspace, Provider.OPENAI)
    assert endpoint.base_url == DEFAULT_BASE_URLS[Provider.OPENAI]


async def test_a_new_credential_is_used_at_once_on_this_replica() -> None:
    world = CredentialWorld(LlmSettings(policy_cache_seconds=60.0))
    with pytest.raises(ModelNotFound):  # nothing yet, and now cached
        await world.resolver.resolve(world.workspace, Provider.OPENAI)
    credential = await world.add("openai")
    endpoint = await world.resolver.resolve(world.workspace, Provider.OPENAI)
    assert endpoint.credential_id == credential.id


# -- list --------------------------------------------------------------------------------


async def test_the_list_shows_the_workspaces_credentials_oldest_first(
    world: CredentialWorld,
) -> None:
    first = await world.add("openai", name="A", api_key=KEY)
    second = await world.add("anthropic", name="B", api_key="sk-ant-0123456789abcdefQRST")
    await world.add("openai", name="Elsewhere", workspace=world.other_workspace)
    views = await world.list()
    assert [(v.id, v.provider, v.name, v.last4) for v in views] == [
        (first.id, "openai", "A", "WXYZ"),
        (second.id, "anthropic", "B", "QRST"),
    ]
    assert all(KEY not in repr(v) for v in views)
    assert views[0].created_by == str(world.admin)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_only_admins_list_credentials(world: CredentialWorld, role: Role) -> None:
    with pytest.raises(InsufficientRole):
        await world.list(role)


# -- delete ------------------------------------------------------------------------------


async def test_deleting_removes_the_key_and_audits_it(world: CredentialWorld) -> None:
    credential = await world.add("openai", name="Old")
    await world.delete(DeleteCredential(actor=world.actor(), credential_id=credential.id))
    assert world.credentials.rows == {}
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LLM_CREDENTIAL_DELETED
    assert entry.target_id == credential.id
    assert entry.metadata == {"provider": "openai", "name": "Old"}


async def test_a_deleted_credential_stops_serving_at_once_on_this_replica() -> None:
    world = CredentialWorld(LlmSettings(policy_cache_seconds=60.0))
    credential = await world.add("openai")
    assert (await world.resolver.resolve(world.workspace, Provider.OPENAI)).credential_id
    await world.delete(DeleteCredential(actor=world.actor(), credential_id=credential.id))
    with pytest.raises(CredentialNotFound):
        await world.resolver.resolve(world.workspace, Provider.OPENAI, credential.id)


async def test_another_workspaces_credential_is_not_found(world: CredentialWorld) -> None:
    foreign = await world.add("openai", workspace=world.other_workspace)
    with pytest.raises(CredentialNotFound):
        await world.delete(DeleteCredential(actor=world.actor(), credential_id=foreign.id))
    with pytest.raises(CredentialNotFound):
        await world.delete(
            DeleteCredential(actor=world.actor(), credential_id=CredentialId(UUID(int=7)))
        )
    assert foreign.id in world.credentials.rows
    assert world.audit.actions == [AuditAction.LLM_CREDENTIAL_CREATED]


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_only_admins_delete(world: CredentialWorld, role: Role) -> None:
    credential = await world.add("openai")
    with pytest.raises(InsufficientRole):
        await world.delete(DeleteCredential(actor=world.actor(role), credential_id=credential.id))
    assert credential.id in world.credentials.rows


# -- test --------------------------------------------------------------------------------


async def test_testing_pings_the_provider_with_the_stored_key(world: CredentialWorld) -> None:
    credential = await world.add("anthropic", api_key=KEY)
    result = await world.test(TestCredential(actor=world.actor(), credential_id=credential.id))
    assert result.ok
    assert result.latency_ms >= 0
    [endpoint] = world.chat.pinged
    assert endpoint.provider is Provider.ANTHROPIC
    assert endpoint.api_key == KEY
    assert endpoint.base_url == DEFAULT_BASE_URLS[Provider.ANTHROPIC]
    assert endpoint.credential_id == credential.id
    assert world.chat.time_limits == [MAX_TEST_SECONDS]


async def test_testing_a_custom_server_goes_to_its_checked_base_url(
    world: CredentialWorld,
) -> None:
    credential = await world.add("custom", api_key=None, base_url="https://llm.example.com/v1/")
    await world.test(TestCredential(actor=world.actor(), credential_id=credential.id))
    assert world.chat.pinged[0].base_url == "https://llm.example.com/v1"


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        (ProviderAuthenticationFailed(f"Incorrect API key provided: {KEY}", status=401), 401),
        (ProviderRateLimited(f"slow down {KEY}", retry_after=3.0, status=429), 429),
        (ProviderTimeout(f"no answer for {KEY}"), None),
    ],
)
async def test_a_failed_test_is_the_provider_error_without_the_upstream_message(
    world: CredentialWorld, failure: ProviderError, status: int | None
) -> None:
    credential = await world.add("openai", api_key=KEY)
    world.chat.failure = failure
    with pytest.raises(ProviderError) as caught:
        await world.test(TestCredential(actor=world.actor(), credential_id=credential.id))
    error = caught.value
    assert type(error) is type(failure)
    assert error.code == failure.code
    assert error.upstream_status == status
    assert error.retry_after == failure.retry_after
    assert KEY not in error.detail
    assert KEY[-4:] not in error.detail
    assert error.__cause__ is None
    assert error.__suppress_context__


async def test_testing_another_workspaces_credential_is_not_found(
    world: CredentialWorld,
) -> None:
    foreign = await world.add("openai", workspace=world.other_workspace)
    with pytest.raises(CredentialNotFound):
        await world.test(TestCredential(actor=world.actor(), credential_id=foreign.id))
    assert world.chat.pinged == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_only_admins_test(world: CredentialWorld, role: Role) -> None:
    credential = await world.add("openai")
    with pytest.raises(InsufficientRole):
        await world.test(TestCredential(actor=world.actor(role), credential_id=credential.id))
    assert world.chat.pinged == []
