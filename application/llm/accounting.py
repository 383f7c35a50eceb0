"""What a finished call leaves behind: its usage record, its metrics, and the
settlement of what it held against limits and budgets."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.attempts import Trace
from application.llm.governor import Governor, Ticket
from application.llm.targets import Plan
from application.ports.llm_usage import GatewayMetrics, UsageSink
from application.ports.system import Clock, IdGenerator
from domain.common.errors import DomainError
from domain.llm.chat import Usage
from domain.llm.usage import UsageRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOrigin:
    request_id: str | None = None


def failure_status(exc: BaseException) -> str:
    """The status a failed call is recorded with."""
    if isinstance(exc, DomainError):
        return exc.code
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "client_closed"
    return "internal_error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    usage: Usage
    cost_micros: int | None
    status: str = "ok"
    ttft_seconds: float | None = None


class Accounting:
    def __init__(
        self,
        governor: Governor,
        sink: UsageSink,
        metrics: GatewayMetrics,
        ids: IdGenerator,
        clock: Clock,
    ) -> None:
        self._governor = governor
        self._sink = sink
        self._metrics = metrics
        self._ids = ids
        self._clock = clock

    async def close(
        self,
        actor: WorkspaceActor,
        plan: Plan,
        ticket: Ticket,
        trace: Trace,
        outcome: Outcome,
        *,
        endpoint_kind: str,
        stream: bool,
        origin: CallOrigin,
    ) -> UsageRecord:
        candidate = trace.candidate
        model = (
            str(candidate.name)
            if candidate
            else (trace.attempts[-1].model if trace.attempts else None)
        )
        record = UsageRecord(
            id=self._ids.new(),
            workspace_id=actor.workspace_id,
            api_key_id=actor.api_key_id,
            user_id=actor.user_id,
            route_id=plan.route.id if plan.route else None,
            route_name=plan.route.name if plan.route else None,
            requested_model=plan.requested,
            model=model,
            provider=model.partition("/")[0] if model else None,
            endpoint=endpoint_kind,
            stream=stream,
            attempts=tuple(trace.attempts),
            input_tokens=outcome.usage.input_tokens,
            output_tokens=outcome.usage.output_tokens,
            cached_tokens=outcome.usage.cached_tokens,
            cost_micros=outcome.cost_micros,
            latency_ms=round(trace.elapsed() * 1000),
            ttft_ms=None if outcome.ttft_seconds is None else round(outcome.ttft_seconds * 1000),
            status=outcome.status,
            request_id=origin.request_id,
            created_at=self._clock.now(),
        )
        self._sink.record(record)
        self._metrics.call_finished(record)
        if outcome.status == "ok" and outcome.cost_micros is None and model is not None:
            self._metrics.unpriced_call(model)
            log.warning(
                "llm.unpriced_call", extra={"model": model, "request_id": origin.request_id}
            )
        await self._governor.settle(
            ticket, total_tokens=outcome.usage.total_tokens, cost_micros=outcome.cost_micros
        )
        return record
