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


@dataclass(slots=True, kw_only=True)
class OpenCall:
    """One call between admission and its end; ``failed`` or ``finished``
    records it and settles what it held, exactly once per call."""

    accounting: Accounting
    actor: WorkspaceActor
    plan: Plan
    ticket: Ticket
    trace: Trace
    origin: CallOrigin
    endpoint_kind: str  # "chat" | "embeddings"
    stream: bool

    async def failed(self, exc: BaseException) -> UsageRecord:
        """Nothing answered: recorded with the error, nothing charged."""
        return await self.accounting.close(self, Usage(), 0, failure_status(exc), None)

    async def finished(
        self, usage: Usage, *, status: str = "ok", ttft_seconds: float | None = None
    ) -> UsageRecord:
        """Charged at the answering model's price; unknown price, unknown cost."""
        candidate = self.trace.candidate
        price = candidate.info.price if candidate is not None else None
        cost = price.cost_micros(usage) if price is not None else None
        return await self.accounting.close(self, usage, cost, status, ttft_seconds)


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

    def open(
        self,
        actor: WorkspaceActor,
        plan: Plan,
        ticket: Ticket,
        trace: Trace,
        origin: CallOrigin,
        *,
        endpoint_kind: str,
        stream: bool,
    ) -> OpenCall:
        return OpenCall(
            accounting=self,
            actor=actor,
            plan=plan,
            ticket=ticket,
            trace=trace,
            origin=origin,
            endpoint_kind=endpoint_kind,
            stream=stream,
        )

    async def close(
        self,
        call: OpenCall,
        usage: Usage,
        cost_micros: int | None,
        status: str,
        ttft_seconds: float | None,
    ) -> UsageRecord:
        actor, plan, trace = call.actor, call.plan, call.trace
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
            endpoint=call.endpoint_kind,
            stream=call.stream,
            attempts=tuple(trace.attempts),
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cached_tokens=usage.cached_tokens,
            cost_micros=cost_micros,
            latency_ms=round(trace.elapsed() * 1000),
            ttft_ms=None if ttft_seconds is None else round(ttft_seconds * 1000),
            status=status,
            request_id=call.origin.request_id,
            created_at=self._clock.now(),
        )
        self._sink.record(record)
        self._metrics.call_finished(record)
        if status == "ok" and cost_micros is None and model is not None:
            self._metrics.unpriced_call(model)
            log.warning(
                "llm.unpriced_call", extra={"model": model, "request_id": call.origin.request_id}
            )
        await self._governor.settle(
            call.ticket, total_tokens=usage.total_tokens, cost_micros=cost_micros
        )
        return record
