"""How each upstream target is doing, in this process: a circuit breaker and
an average latency per target key.

One ``TargetHealth`` per process (APP scope), shared by every call. Keys are
opaque strings without secrets; ``health_key`` builds the gateway's from an
endpoint and a model, so the planner and the attempt loop agree on them.
Everything here runs on the event loop between awaits: no locks needed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from application.llm.settings import LlmSettings
from application.ports.llm import Endpoint
from domain.llm.breaker import BreakerState, CircuitBreaker

StateListener = Callable[[str, str], None]  # (target key, new state name)

# Weight of the newest sample in the moving average of latencies.
DEFAULT_SMOOTHING = 0.3
# Targets tracked at most; past it the least recently touched healthy ones go.
MAX_TARGETS = 10_000


def health_key(endpoint: Endpoint, model: str) -> str:
    """The key of one model at one upstream (no secret in it)."""
    return f"{endpoint.target_key}|{model}"


@dataclass(slots=True)
class _Target:
    breaker: CircuitBreaker
    latency: float | None = None  # seconds, exponentially weighted


class TargetHealth:
    def __init__(
        self,
        *,
        threshold: int,
        cooldown: float,
        monotonic: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
        smoothing: float = DEFAULT_SMOOTHING,
        max_targets: int = MAX_TARGETS,
    ) -> None:
        if not 0 < smoothing <= 1:
            raise ValueError("smoothing must be in (0, 1]")
        CircuitBreaker(threshold, cooldown)  # checks the parameters once, up front
        self._threshold = threshold
        self._cooldown = cooldown
        self._now = monotonic
        self._listeners: list[StateListener] = [on_change] if on_change else []
        self._smoothing = smoothing
        self._max = max_targets
        self._targets: dict[str, _Target] = {}

    @classmethod
    def from_settings(
        cls,
        settings: LlmSettings,
        *,
        on_change: StateListener | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> TargetHealth:
        return cls(
            threshold=settings.breaker_failure_threshold,
            cooldown=settings.breaker_cooldown_seconds,
            on_change=on_change,
            monotonic=monotonic,
        )

    def subscribe(self, listener: StateListener) -> None:
        """Called with (key, state name) on every breaker transition."""
        self._listeners.append(listener)

    # -- the attempt loop ----------------------------------------------------------------

    def allow(self, key: str) -> bool:
        """May a call go to this target now? False: fail fast, its breaker is
        open (or its one half-open probe is out). A True may be that probe."""
        target = self._targets.get(key)
        if target is None:
            return True
        before = target.breaker.state
        allowed = target.breaker.allow(self._now())
        self._report(key, before, target)
        return allowed

    def succeeded(self, key: str, latency_s: float | None = None) -> None:
        """The call answered (for a stream: its first chunk came) after ``latency_s``."""
        target = self._target(key)
        if latency_s is not None and math.isfinite(latency_s) and latency_s >= 0:
            old = target.latency
            target.latency = latency_s if old is None else old + self._smoothing * (latency_s - old)
        before = target.breaker.state
        target.breaker.succeeded()
        self._report(key, before, target)

    def failed(self, key: str) -> None:
        """A failure that says something about the target (not the request)."""
        target = self._target(key)
        before = target.breaker.state
        target.breaker.failed(self._now())
        self._report(key, before, target)

    def abandoned(self, key: str) -> None:
        """The call ended without an answer (cancelled): a probe it held is released."""
        target = self._targets.get(key)
        if target is not None:
            target.breaker.abandoned()

    # -- the planner and observers --------------------------------------------------------

    def state(self, key: str) -> str:
        target = self._targets.get(key)
        return (target.breaker.state if target else BreakerState.CLOSED).value

    def available(self, key: str) -> bool:
        """Would ``allow`` say yes now? Lets out no probe."""
        target = self._targets.get(key)
        return target is None or target.breaker.would_allow(self._now())

    def latency(self, key: str) -> float | None:
        """The target's average latency in seconds; None before any success."""
        target = self._targets.get(key)
        return target.latency if target else None

    def snapshot(self) -> dict[str, tuple[str, float | None]]:
        """Every tracked key: (breaker state, average latency)."""
        return {k: (t.breaker.state.value, t.latency) for k, t in self._targets.items()}

    # -- internals ------------------------------------------------------------------------

    def _target(self, key: str) -> _Target:
        target = self._targets.pop(key, None)  # re-inserted: most recently touched last
        if target is None:
            target = _Target(CircuitBreaker(self._threshold, self._cooldown))
            if len(self._targets) >= self._max:
                self._evict()
        self._targets[key] = target
        return target

    def _evict(self) -> None:
        """Forget the least recently touched closed targets (open ones are kept)."""
        for stale in list(self._targets):
            if len(self._targets) < self._max // 2 + 1:
                return
            if self._targets[stale].breaker.state is BreakerState.CLOSED:
                del self._targets[stale]

    def _report(self, key: str, before: BreakerState, target: _Target) -> None:
        after = target.breaker.state
        if after is not before:
            for listener in self._listeners:
                listener(key, after.value)
