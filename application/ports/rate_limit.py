from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.identity.api_key import ApiKeyId


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitDecision:
    allowed: bool
    limit: int
    remaining: int
    reset_after: float  # seconds until a slot frees up (allowed) or until retry (refused)


class RateLimiter(Protocol):
    @abstractmethod
    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateLimitDecision:
        """Count one request, atomically; refuse it when ``limit`` were seen in the window.

        Raises StorageUnavailable when the limiter cannot decide: limits fail closed.
        """


class UsageRecorder(Protocol):
    @abstractmethod
    async def api_key_used(self, key_id: ApiKeyId, at: datetime) -> None:
        """Note that a key was used; written to the database later, in batches."""

    @abstractmethod
    async def pending_last_used(self, key_ids: list[ApiKeyId]) -> dict[ApiKeyId, datetime]:
        """Uses noted but not yet written to the database."""
