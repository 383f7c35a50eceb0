"""A circuit breaker for one upstream target: pure, time passed in as seconds.

closed --(``threshold`` consecutive failures)--> open
open --(``cooldown`` passed, one ``allow``)--> half_open, with one probe out
half_open --(the probe succeeds)--> closed;  --(it fails)--> open again, fresh cooldown

While half open, no other call is let through until the probe reports. A
probe that never reports (its caller was cancelled) is given up with
``abandoned()``, or by itself after ``probe_timeout`` seconds, so a lost probe
cannot keep a target shut for good.

Reports that arrive while open (calls let through before it opened) change
nothing: a late success does not close a breaker that has just opened, and
late failures do not stretch its cooldown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    threshold: int
    cooldown: float
    probe_timeout: float | None = None  # None: the cooldown
    _state: BreakerState = field(default=BreakerState.CLOSED, init=False)
    _failures: int = field(default=0, init=False)
    _opened_at: float = field(default=-math.inf, init=False)
    _probe_since: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be at least 1")
        if not self.cooldown >= 0 or (self.probe_timeout is not None and self.probe_timeout <= 0):
            raise ValueError("cooldown must be >= 0 and probe_timeout > 0")

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    def would_allow(self, now: float) -> bool:
        """What ``allow`` would answer, without letting a probe out."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            return now - self._opened_at >= self.cooldown
        return self._probe_since is None or now - self._probe_since >= self._probe_limit

    def allow(self, now: float) -> bool:
        """May a call go to the target now? Half open, a True is the probe."""
        if not self.would_allow(now):
            return False
        if self._state is not BreakerState.CLOSED:
            self._state = BreakerState.HALF_OPEN
            self._probe_since = now
        return True

    def succeeded(self) -> None:
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.CLOSED
            self._probe_since = None
        if self._state is BreakerState.CLOSED:
            self._failures = 0

    def failed(self, now: float) -> None:
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.threshold:
                self._open(now)
        elif self._state is BreakerState.HALF_OPEN:
            self._open(now)

    def abandoned(self) -> None:
        """The probe's call ended without an answer: the next ``allow`` may probe."""
        if self._state is BreakerState.HALF_OPEN:
            self._probe_since = None

    def _open(self, now: float) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = now
        self._probe_since = None
        self._failures = 0

    @property
    def _probe_limit(self) -> float:
        return self.cooldown if self.probe_timeout is None else self.probe_timeout
