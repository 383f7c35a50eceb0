"""The breaker against a plain model of its rules, under any sequence of
calls, reports, abandoned probes and passing time."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.llm.breaker import CircuitBreaker


@dataclass
class Model:
    threshold: int
    cooldown: float
    state: str = "closed"
    streak: int = 0  # consecutive failures while closed
    opened_at: float = 0.0
    probe_out_since: float | None = None

    def allow(self, now: float) -> bool:
        if self.state == "closed":
            return True
        if self.state == "open":
            if now - self.opened_at < self.cooldown:
                return False
            self.state = "half_open"
            self.probe_out_since = now
            return True
        # half open: only when no probe is out (a lost one expires after the cooldown)
        if self.probe_out_since is not None and now - self.probe_out_since < self.cooldown:
            return False
        self.probe_out_since = now
        return True

    def success(self) -> None:
        if self.state == "open":
            return
        self.state, self.streak, self.probe_out_since = "closed", 0, None

    def failure(self, now: float) -> None:
        if self.state == "open":
            return
        if self.state == "closed":
            self.streak += 1
            if self.streak < self.threshold:
                return
        self.state, self.streak, self.opened_at, self.probe_out_since = "open", 0, now, None

    def abandon(self) -> None:
        if self.state == "half_open":
            self.probe_out_since = None


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.probe_granted_at: float | None = None  # since the last report or abandon

    @initialize(threshold=st.integers(1, 5), cooldown=st.sampled_from([0.0, 1.0, 5.0, 30.0]))
    def start(self, threshold: int, cooldown: float) -> None:
        self.breaker = CircuitBreaker(threshold, cooldown)
        self.model = Model(threshold, cooldown)

    @rule(dt=st.sampled_from([0.0, 0.0, 0.25, 0.5, 1.0, 4.99, 5.0, 10.0, 31.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt

    @rule()
    def allow(self) -> None:
        was = self.breaker.state.value
        peek = self.breaker.would_allow(self.now)
        expected = self.model.allow(self.now)
        allowed = self.breaker.allow(self.now)
        assert allowed is expected
        assert peek is expected
        if allowed and was == "half_open" and self.probe_granted_at is not None:
            # a second probe without a report only once the first one's lease is over
            assert self.now - self.probe_granted_at >= self.model.cooldown
        if allowed and was != "closed":
            self.probe_granted_at = self.now

    @rule()
    def success(self) -> None:
        self.breaker.succeeded()
        self.model.success()
        self.probe_granted_at = None

    @rule()
    def failure(self) -> None:
        self.breaker.failed(self.now)
        self.model.failure(self.now)
        self.probe_granted_at = None

    @rule()
    def abandon(self) -> None:
        self.breaker.abandoned()
        self.model.abandon()
        self.probe_granted_at = None

    @invariant()
    def same_state(self) -> None:
        assert self.breaker.state.value == self.model.state
        assert self.breaker.failures == self.model.streak

    @invariant()
    def the_count_stays_below_the_threshold(self) -> None:
        assert self.breaker.failures < self.model.threshold


BreakerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=60, deadline=None)
TestBreakerAgainstModel = BreakerMachine.TestCase
