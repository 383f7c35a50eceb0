"""The permission matrix: each permission's lowest role, and the checks over it."""

from __future__ import annotations

import itertools

import pytest

from domain.common.errors import Forbidden, InvalidInput
from domain.tenancy.errors import InsufficientRole, InvalidRole
from domain.tenancy.roles import (
    KEY_SCOPES,
    LOWEST_ROLE,
    Permission,
    Role,
    can,
    ensure_can,
    permissions_of,
)

# The matrix as the README promises it, written out independently of the code.
EXPECTED_LOWEST_ROLE = {
    Permission.WORKSPACE_READ: Role.VIEWER,
    Permission.MEMBERS_READ: Role.VIEWER,
    Permission.RESOURCES_READ: Role.VIEWER,
    Permission.RESOURCES_WRITE: Role.MEMBER,
    Permission.LLM_USE: Role.MEMBER,
    Permission.WORKSPACE_RENAME: Role.ADMIN,
    Permission.MEMBERS_MANAGE: Role.ADMIN,
    Permission.INVITATIONS_MANAGE: Role.ADMIN,
    Permission.API_KEYS_MANAGE: Role.ADMIN,
    Permission.CREDENTIALS_MANAGE: Role.ADMIN,
    Permission.LLM_MANAGE: Role.ADMIN,
    Permission.WEBHOOKS_MANAGE: Role.ADMIN,
    Permission.AUDIT_READ: Role.ADMIN,
    Permission.WORKSPACE_DELETE: Role.OWNER,
    Permission.OWNERSHIP_TRANSFER: Role.OWNER,
}
ASCENDING = [Role.VIEWER, Role.MEMBER, Role.ADMIN, Role.OWNER]
CELLS = [(p, r) for p in Permission for r in Role]


def test_every_permission_has_a_lowest_role() -> None:
    assert set(LOWEST_ROLE) == set(Permission)


@pytest.mark.parametrize("permission", list(Permission))
def test_each_permission_has_the_documented_lowest_role(permission: Permission) -> None:
    assert LOWEST_ROLE[permission] is EXPECTED_LOWEST_ROLE[permission]


def test_roles_rank_viewer_member_admin_owner() -> None:
    assert sorted(Role, key=lambda role: role.rank) == ASCENDING


@pytest.mark.parametrize(("permission", "role"), CELLS)
def test_a_role_can_exactly_when_it_is_at_least_the_lowest_role(
    permission: Permission, role: Role
) -> None:
    expected = ASCENDING.index(role) >= ASCENDING.index(EXPECTED_LOWEST_ROLE[permission])
    assert can(role, permission) is expected


@pytest.mark.parametrize("permission", list(Permission))
def test_ensure_can_lets_the_lowest_role_through(permission: Permission) -> None:
    ensure_can(LOWEST_ROLE[permission], permission)


@pytest.mark.parametrize("permission", [p for p in Permission if LOWEST_ROLE[p] is not Role.VIEWER])
def test_ensure_can_refuses_the_role_just_below_with_insufficient_role(
    permission: Permission,
) -> None:
    below = ASCENDING[ASCENDING.index(LOWEST_ROLE[permission]) - 1]
    with pytest.raises(InsufficientRole) as refused:
        ensure_can(below, permission)
    assert isinstance(refused.value, Forbidden)
    assert LOWEST_ROLE[permission].value in refused.value.detail
    assert permission.value in refused.value.detail


@pytest.mark.parametrize("role", list(Role))
def test_permissions_of_a_role_are_those_it_can(role: Role) -> None:
    assert permissions_of(role) == {p for p in Permission if can(role, p)}


def test_each_role_holds_every_permission_of_the_roles_below() -> None:
    for lower, higher in itertools.pairwise(ASCENDING):
        assert permissions_of(lower) < permissions_of(higher)


def test_the_owner_holds_every_permission() -> None:
    assert permissions_of(Role.OWNER) == frozenset(Permission)


def test_a_viewer_only_reads() -> None:
    assert permissions_of(Role.VIEWER) == {
        Permission.WORKSPACE_READ,
        Permission.MEMBERS_READ,
        Permission.RESOURCES_READ,
    }


def test_key_scopes_are_every_permission_but_the_owners_own() -> None:
    assert (
        set(Permission)
        - {
            Permission.WORKSPACE_DELETE,
            Permission.OWNERSHIP_TRANSFER,
        }
        == KEY_SCOPES
    )


@pytest.mark.parametrize("role", list(Role))
def test_role_parse_reads_each_role_name(role: Role) -> None:
    assert Role.parse(role.value) is role


@pytest.mark.parametrize("raw", ["", "Owner", "superuser", " admin"])
def test_role_parse_refuses_an_unknown_name_as_invalid_input_on_role(raw: str) -> None:
    with pytest.raises(InvalidRole) as refused:
        Role.parse(raw)
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.field == "role"
