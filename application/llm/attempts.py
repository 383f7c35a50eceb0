"""Attempts of one call across its targets: retries with backoff, circuit
breakers and fallbacks, the same for a plain call and for a stream until
its first chunk."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from application.llm.endpoints import EndpointResolver
from application.llm.health import TargetHealth, health_key
from application.llm.retry import RetryPolicy
from application.llm.routing import order_candidates
from application.llm.settings import LlmSettings
from application.llm.targets import Candidate, Plan
from application.ports.llm import Endpoint
from application.ports.llm_usage import GatewayMetrics
from domain.common.errors import DomainError
from domain.llm.errors import (
    CircuitOpen,
    ModelNotFound,
    ProviderError,
    ProviderTimeout,
    ProviderUnavailable,
)
from domain.llm.usage import Attempt
from domain.tenancy.ids import WorkspaceId

T = TypeVar("T")

# Failures that say something about the target, not about the request.
_TARGET_FAULTS = frozenset(
    {"rate_limited", "server_error", "timeout", "overloaded", "authentication"}
)


@dataclass(slots=True)
class Trace:
    """What happened, for the usage record and the overhead header."""

    started: float = field(default_factory=time.perf_counter)
    attempts: list[Attempt] = field(default_factory=list)
    upstream_seconds: float = 0.0
    candidate: Candidate | None = None
    endpoint: Endpoint | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started


class AttemptRunner:
    def __init__(
        self,
        endpoints: EndpointResolver,
        health: TargetHealth,
        retry: RetryPolicy,
        settings: LlmSettings,
        metrics: GatewayMetrics,
    ) -> None:
        self._endpoints = endpoints
        self._health = health
        self._retry = retry
        self._settings = settings
        self._metrics = metrics

    async def run(
        self,
        workspace_id: WorkspaceId,
        plan: Plan,
        candidates: tuple[Candidate, ...],
        trace: Trace,
        call: Callable[[Endpoint, Candidate, float], Awaitable[T]],
    ) -> T:
        """``call`` once per attempt, in the planned order, until one succeeds.

        A failure whose kind the route falls back on is retried on the same
        target (backoff with jitter, never sooner than the provider's
        Retry-After) while attempts and the deadline allow, then the next
        target is tried; any other failure is the answer at once.
        """
        deadline = trace.started + self._settings.request_deadline_seconds
        last: DomainError | None = None
        reachable: list[tuple[Candidate, Endpoint, str]] = []
        for candidate in candidates:
            try:
                endpoint = await self._endpoints.resolve(
                    workspace_id, candidate.name.provider, candidate.credential_id
                )
            except DomainError as exc:  # a route target nobody can call: the next one may be
                if plan.route is None:
                    raise
                trace.attempts.append(Attempt(model=str(candidate.name), error=exc.code))
                last = exc
                continue
            reachable.append((candidate, endpoint, health_key(endpoint, candidate.name.model)))
        keys = {id(c): key for c, _, key in reachable}
        by_candidate = {id(c): (endpoint, key) for c, endpoint, key in reachable}
        ordered = order_candidates(
            [c for c, _, _ in reachable],
            plan.strategy,
            self._health,
            key_of=lambda c: keys[id(c)],
        )
        for position, candidate in enumerate(ordered):
            endpoint, key = by_candidate[id(candidate)]
            has_next = position + 1 < len(ordered)
            model = str(candidate.name)
            for number in range(self._settings.max_attempts_per_target):
                if not self._health.allow(key):
                    last = CircuitOpen(f"{model} is failing; its circuit breaker is open.")
                    trace.attempts.append(Attempt(model=model, error=last.code))
                    break
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    self._health.abandoned(key)
                    raise last or ProviderTimeout("The call's deadline passed.")
                began = time.perf_counter()
                limit = min(self._settings.attempt_timeout_seconds, remaining)
                try:
                    try:
                        # The adapters honour ``limit`` themselves; this is the backstop.
                        async with asyncio.timeout(limit + 0.05):
                            result = await call(endpoint, candidate, limit)
                    except TimeoutError:
                        raise ProviderTimeout(f"{model} did not answer in time.") from None
                except ProviderError as exc:
                    trace.upstream_seconds += time.perf_counter() - began
                    trace.attempts.append(Attempt(model=model, error=exc.code))
                    self._metrics.upstream_error(candidate.name.provider.value, exc.kind)
                    if exc.kind in _TARGET_FAULTS:
                        self._health.failed(key)
                    else:
                        self._health.abandoned(key)
                    last = exc
                    if exc.kind not in plan.fallback_on:
                        raise
                    if has_next and (exc.retry_after or 0) > self._settings.backoff_max_seconds:
                        break  # a long Retry-After: another target answers sooner
                    delay = self._retry.next_delay(
                        number, exc.retry_after, deadline - time.perf_counter()
                    )
                    if delay is None:
                        break
                    await asyncio.sleep(delay)
                    continue
                except BaseException:
                    self._health.abandoned(key)
                    raise
                spent = time.perf_counter() - began
                trace.upstream_seconds += spent
                self._health.succeeded(key, spent)
                trace.attempts.append(Attempt(model=model, error=None))
                trace.candidate = candidate
                trace.endpoint = endpoint
                return result
        if last is None:
            raise ModelNotFound(f"No target of {plan.requested!r} can be called.")
        raise last


async def first_chunk(stream: AsyncIterator[T]) -> tuple[T, AsyncIterator[T]]:
    """Wait for a stream's first item, so that a failure before it can still
    fall back; an empty stream is a failed one."""
    iterator = aiter(stream)
    try:
        return await anext(iterator), iterator
    except StopAsyncIteration:
        raise ProviderUnavailable(
            "The provider closed the stream without sending anything."
        ) from None
    except BaseException:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()
        raise
