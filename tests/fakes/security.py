"""Fast, deterministic stand-ins for hashing and tokens."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from application.ports.security import (
    AccessClaims,
    AccessTokenIssuer,
    IssuedAccessToken,
    PasswordHasher,
    SecretTokens,
)
from application.ports.system import Clock
from domain.identity.errors import InvalidAccessToken
from domain.identity.ids import SessionId, UserId


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class FakePasswordHasher(PasswordHasher):
    """``fake$<version>$sha256``. A hash of another version "needs rehash", as an
    argon2 hash made with other parameters does: ``FakePasswordHasher("old")``
    makes the hashes a current ``FakePasswordHasher()`` wants to upgrade.
    """

    def __init__(self, version: str = "current") -> None:
        if "$" in version:
            raise ValueError("the version must not contain '$'")
        self.version = version
        self.verified: list[str | None] = []  # every hash checked; None for the dummy

    async def hash(self, password: str) -> str:
        return f"fake${self.version}${_digest(password)}"

    async def verify(self, password_hash: str | None, password: str) -> bool:
        self.verified.append(password_hash)
        if password_hash is None:
            return False
        parts = password_hash.split("$")
        return len(parts) == 3 and parts[0] == "fake" and parts[2] == _digest(password)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake${self.version}$")


@dataclass(frozen=True, slots=True)
class _Grant:
    claims: AccessClaims
    expires_at: datetime


class FakeAccessTokens(AccessTokenIssuer):
    """Opaque ``access-N`` tokens; only those it issued, and only until they expire
    by ``clock``, verify."""

    def __init__(self, clock: Clock, *, ttl_seconds: int = 900) -> None:
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self._issued: dict[str, _Grant] = {}

    def issue(self, user_id: UserId, session_id: SessionId, now: datetime) -> IssuedAccessToken:
        token = f"access-{len(self._issued) + 1}"
        self._issued[token] = _Grant(
            AccessClaims(user_id=user_id, session_id=session_id),
            now + timedelta(seconds=self.ttl_seconds),
        )
        return IssuedAccessToken(token=token, expires_in=self.ttl_seconds)

    def verify(self, token: str) -> AccessClaims:
        grant = self._issued.get(token)
        if grant is None or self._clock.now() >= grant.expires_at:
            raise InvalidAccessToken
        return grant.claims


class FakeSecretTokens(SecretTokens):
    """Unique, readable secrets; the fingerprint is SHA-256 hex like the real one."""

    def __init__(self, prefix: str = "secret") -> None:
        self._prefix = prefix
        self._count = 0

    def generate(self) -> str:
        self._count += 1
        return f"{self._prefix}-{self._count:06d}"

    def fingerprint(self, token: str) -> str:
        return _digest(token)
