from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.identity.ids import SessionId, UserId


class PasswordHasher(Protocol):
    @abstractmethod
    async def hash(self, password: str) -> str: ...

    @abstractmethod
    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password. With no hash, spend the same time against a dummy."""

    @abstractmethod
    def needs_rehash(self, password_hash: str) -> bool: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuedAccessToken:
    token: str
    expires_in: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessClaims:
    user_id: UserId
    session_id: SessionId


class AccessTokenIssuer(Protocol):
    @abstractmethod
    def issue(self, user_id: UserId, session_id: SessionId, now: datetime) -> IssuedAccessToken: ...

    @abstractmethod
    def verify(self, token: str) -> AccessClaims:
        """Decode and check a token; raise InvalidAccessToken when it is not valid."""


class SecretTokens(Protocol):
    """Opaque bearer secrets (refresh, verification, reset): only hashes are stored."""

    @abstractmethod
    def generate(self) -> str: ...

    @abstractmethod
    def fingerprint(self, token: str) -> str: ...
