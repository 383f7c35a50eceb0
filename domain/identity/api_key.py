"""API keys: workspace-bound credentials for programs.

The secret (``sk-ss-`` + 43 URL-safe characters, 256 bits) is shown once;
only its SHA-256 and a short lookup prefix are kept. A key acts with the
intersection of its scopes and its creator's current role.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import NewType
from uuid import UUID

from domain.common.errors import InvalidInput, NotFound, TooManyRequests, Unauthenticated
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import KEY_SCOPES, Permission, Role, permissions_of

ApiKeyId = NewType("ApiKeyId", UUID)

SECRET_PREFIX = "sk-ss-"
LOOKUP_PREFIX_LENGTH = 12  # "sk-ss-" + 6 characters: shown in lists, indexed for lookup
MAX_RATE_LIMIT_PER_MINUTE = 100_000


class InvalidApiKey(InvalidInput):
    code = "invalid_api_key_request"


def parse_scopes(raw: list[str] | None) -> frozenset[Permission]:
    if raw is None:
        return KEY_SCOPES
    scopes = set()
    for value in raw:
        try:
            scope = Permission(value)
        except ValueError:
            raise InvalidApiKey(f"Unknown scope: {value!r}.", field="scopes") from None
        if scope not in KEY_SCOPES:
            raise InvalidApiKey(f"A key cannot hold the scope {value!r}.", field="scopes")
        scopes.add(scope)
    if not scopes:
        raise InvalidApiKey("Give at least one scope, or none for the default.", field="scopes")
    return frozenset(scopes)


def parse_key_name(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).strip()
    if not 1 <= len(text) <= 100 or any(unicodedata.category(c)[0] == "C" for c in text):
        raise InvalidApiKey("The name must be 1 to 100 printable characters.", field="name")
    return text


@dataclass(kw_only=True, eq=False)
class ApiKey:
    id: ApiKeyId
    workspace_id: WorkspaceId
    name: str
    prefix: str
    secret_hash: str
    scopes: frozenset[Permission]
    created_by: UserId
    created_at: datetime
    expires_at: datetime | None
    rate_limit_per_minute: int | None
    revoked_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)

    def effective_permissions(self, creator_role: Role | None) -> frozenset[Permission]:
        """Never above the creator's current role; nothing once they left."""
        if creator_role is None:
            return frozenset()
        return self.scopes & permissions_of(creator_role)

    def revoke(self, now: datetime) -> None:
        if self.revoked_at is None:
            self.revoked_at = now


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


class InvalidApiKeyCredential(Unauthenticated):
    code = "invalid_api_key"

    @classmethod
    def default_detail(cls) -> str:
        return "The API key is invalid, expired, revoked or disabled."


class RateLimited(TooManyRequests):
    code = "rate_limited"

    def __init__(self, *, retry_after: int, limit: int) -> None:
        super().__init__(
            f"Rate limit of {limit} requests per minute reached.", retry_after=retry_after
        )
        self.limit = limit
