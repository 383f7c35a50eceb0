"""How long to wait before retrying a target: exponential backoff with full
jitter, never sooner than the provider's Retry-After, never past the deadline."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from application.llm.settings import LlmSettings


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base: float  # seconds; the ceiling of the first retry's delay
    cap: float  # seconds; no backoff ceiling above it
    max_attempts_per_target: int
    # A uniform draw in [0, 1); injectable so tests are deterministic.
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.base > 0 and math.isfinite(self.base)):
            raise ValueError("base must be a positive number of seconds")
        if not (self.cap >= self.base and math.isfinite(self.cap)):
            raise ValueError("cap must be at least base")
        if self.max_attempts_per_target < 1:
            raise ValueError("max_attempts_per_target must be at least 1")

    @classmethod
    def from_settings(
        cls, settings: LlmSettings, rng: Callable[[], float] = random.random
    ) -> RetryPolicy:
        return cls(
            base=settings.backoff_base_seconds,
            cap=max(settings.backoff_max_seconds, settings.backoff_base_seconds),
            max_attempts_per_target=settings.max_attempts_per_target,
            rng=rng,
        )

    def ceiling(self, attempt: int) -> float:
        """The largest backoff after failed attempt ``attempt`` (0 = the first):
        min(cap, base * 2**attempt)."""
        if attempt >= 64:  # 2**64 * base is past any cap
            return self.cap
        return min(self.cap, self.base * float(2 ** max(0, attempt)))

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, ceiling(attempt)]."""
        draw = min(max(self.rng(), 0.0), 1.0)
        return draw * self.ceiling(attempt)

    def next_delay(self, attempt: int, retry_after: float | None, remaining: float) -> float | None:
        """Seconds to wait before retrying the same target after failed attempt
        ``attempt`` (0-based), or None: no attempt is left for this target, or
        the wait would reach the request's deadline (``remaining`` seconds
        away). The caller then moves to the next target or gives up."""
        if attempt + 1 >= self.max_attempts_per_target:
            return None
        delay = self.backoff(attempt)
        if retry_after is not None and not math.isnan(retry_after):
            delay = max(delay, retry_after)
        if not delay < remaining:  # also refuses an infinite Retry-After
            return None
        return delay
