"""Roles and the permission matrix, as data.

One table says, for each permission, the lowest role that holds it. Every
handler checks it (``ensure_can``), so the HTTP routes and the worker are
guarded by the same rule.
"""

from __future__ import annotations

from enum import StrEnum

from domain.tenancy.errors import InsufficientRole, InvalidRole


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @classmethod
    def parse(cls, raw: str) -> Role:
        try:
            return cls(raw)
        except ValueError:
            allowed = ", ".join(role.value for role in cls)
            raise InvalidRole(f"Unknown role {raw!r}; one of: {allowed}.", field="role") from None

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.VIEWER: 1, Role.MEMBER: 2, Role.ADMIN: 3, Role.OWNER: 4}


class Permission(StrEnum):
    WORKSPACE_READ = "workspace:read"
    MEMBERS_READ = "members:read"
    RESOURCES_READ = "resources:read"
    RESOURCES_WRITE = "resources:write"
    LLM_USE = "llm:use"
    WORKSPACE_RENAME = "workspace:rename"
    MEMBERS_MANAGE = "members:manage"
    INVITATIONS_MANAGE = "invitations:manage"
    API_KEYS_MANAGE = "api_keys:manage"
    CREDENTIALS_MANAGE = "credentials:manage"
    LLM_MANAGE = "llm:manage"
    WEBHOOKS_MANAGE = "webhooks:manage"
    AUDIT_READ = "audit:read"
    WORKSPACE_DELETE = "workspace:delete"
    OWNERSHIP_TRANSFER = "ownership:transfer"


LOWEST_ROLE: dict[Permission, Role] = {
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

# What an API key may be scoped to: everything but the owner's own powers.
KEY_SCOPES = frozenset(p for p, role in LOWEST_ROLE.items() if role is not Role.OWNER)


def permissions_of(role: Role) -> frozenset[Permission]:
    return frozenset(p for p, lowest in LOWEST_ROLE.items() if role.at_least(lowest))


def can(role: Role, permission: Permission) -> bool:
    return role.at_least(LOWEST_ROLE[permission])


def ensure_can(role: Role, permission: Permission) -> None:
    if not can(role, permission):
        raise InsufficientRole(
            f"This needs the {LOWEST_ROLE[permission].value} role or higher ({permission.value})."
        )
