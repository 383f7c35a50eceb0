"""API keys in the domain: scopes, names, usability, and effective permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.common.errors import InvalidInput, TooManyRequests
from domain.identity.api_key import (
    ApiKey,
    ApiKeyId,
    InvalidApiKey,
    RateLimited,
    parse_key_name,
    parse_scopes,
)
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import KEY_SCOPES, Permission, Role, permissions_of

NOW = datetime(2026, 1, 1, tzinfo=UTC)
OWNER_ONLY = [Permission.WORKSPACE_DELETE, Permission.OWNERSHIP_TRANSFER]


def key(
    *,
    scopes: frozenset[Permission] = KEY_SCOPES,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
) -> ApiKey:
    return ApiKey(
        id=ApiKeyId(UUID(int=1)),
        workspace_id=WorkspaceId(UUID(int=2)),
        name="CI",
        prefix="sk-ss-abcdef",
        secret_hash="0" * 64,
        scopes=scopes,
        created_by=UserId(UUID(int=3)),
        created_at=NOW,
        expires_at=expires_at,
        rate_limit_per_minute=None,
        revoked_at=revoked_at,
    )


# -- parse_scopes ----------------------------------------------------------------------


def test_no_scopes_given_means_every_key_scope() -> None:
    assert parse_scopes(None) == KEY_SCOPES


def test_given_scopes_are_parsed_into_permissions() -> None:
    assert parse_scopes(["resources:read", "llm:use", "resources:read"]) == {
        Permission.RESOURCES_READ,
        Permission.LLM_USE,
    }


def test_an_unknown_scope_is_invalid_input_on_scopes() -> None:
    with pytest.raises(InvalidApiKey) as refused:
        parse_scopes(["resources:read", "root"])
    assert isinstance(refused.value, InvalidInput)  # 422
    assert refused.value.field == "scopes"
    assert "root" in refused.value.detail


@pytest.mark.parametrize("scope", OWNER_ONLY)
def test_an_owner_only_scope_cannot_be_given_to_a_key(scope: Permission) -> None:
    with pytest.raises(InvalidApiKey) as refused:
        parse_scopes([scope.value])
    assert refused.value.field == "scopes"


def test_an_empty_scope_list_is_refused() -> None:
    with pytest.raises(InvalidApiKey):
        parse_scopes([])


@given(st.sets(st.sampled_from(sorted(KEY_SCOPES)), min_size=1))
def test_any_non_empty_set_of_key_scopes_parses_to_itself(scopes: set[Permission]) -> None:
    assert parse_scopes([s.value for s in scopes]) == scopes


# -- parse_key_name --------------------------------------------------------------------


def test_a_key_name_is_trimmed() -> None:
    assert parse_key_name("  Deploy bot ") == "Deploy bot"


@pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "tab\there", "bell\x07"])
def test_an_empty_overlong_or_control_character_name_is_refused(raw: str) -> None:
    with pytest.raises(InvalidApiKey) as refused:
        parse_key_name(raw)
    assert refused.value.field == "name"


def test_a_hundred_character_name_is_accepted() -> None:
    assert parse_key_name("x" * 100) == "x" * 100


# -- effective permissions -------------------------------------------------------------


@given(
    scopes=st.frozensets(st.sampled_from(sorted(KEY_SCOPES))),
    role=st.sampled_from(list(Role)),
)
def test_a_key_never_acts_above_its_creators_role(
    scopes: frozenset[Permission], role: Role
) -> None:
    effective = key(scopes=scopes).effective_permissions(role)
    assert effective <= permissions_of(role)
    assert effective <= scopes
    assert effective == scopes & permissions_of(role)


def test_a_key_whose_creator_left_has_no_permissions() -> None:
    assert key().effective_permissions(None) == frozenset()


def test_a_key_of_a_demoted_creator_loses_what_the_new_role_lacks() -> None:
    effective = key().effective_permissions(Role.VIEWER)
    assert Permission.RESOURCES_WRITE not in effective
    assert effective == permissions_of(Role.VIEWER)


def test_even_an_owners_key_holds_no_owner_only_permission() -> None:
    assert key().effective_permissions(Role.OWNER).isdisjoint(OWNER_ONLY)


# -- usability -------------------------------------------------------------------------


def test_a_key_without_expiry_stays_usable() -> None:
    assert key().is_usable(NOW + timedelta(days=3650))


def test_a_key_is_usable_until_just_before_it_expires() -> None:
    expiring = key(expires_at=NOW + timedelta(days=1))
    assert expiring.is_usable(NOW + timedelta(days=1) - timedelta(microseconds=1))
    assert not expiring.is_usable(NOW + timedelta(days=1))


def test_a_revoked_key_is_not_usable() -> None:
    revoked = key()
    revoked.revoke(NOW)
    assert revoked.revoked_at == NOW
    assert not revoked.is_usable(NOW)


def test_revoking_again_keeps_the_first_revocation_time() -> None:
    revoked = key()
    revoked.revoke(NOW)
    revoked.revoke(NOW + timedelta(hours=1))
    assert revoked.revoked_at == NOW


def test_rate_limited_carries_the_limit_and_at_least_one_second_to_wait() -> None:
    refusal = RateLimited(retry_after=0, limit=60)
    assert isinstance(refusal, TooManyRequests)
    assert refusal.retry_after == 1
    assert refusal.limit == 60
    assert "60" in refusal.detail
