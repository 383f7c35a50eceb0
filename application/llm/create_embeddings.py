"""Embeddings through the gateway: same routing, limits, budgets and accounting as chat."""

from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.accounting import Accounting, CallOrigin
from application.llm.attempts import AttemptRunner, Trace
from application.llm.governor import Governor
from application.llm.targets import Candidate, ResolveTargets
from application.ports.llm import EmbeddingModel, Endpoint
from domain.llm.chat import EmbeddingRequest, EmbeddingResponse, Requirements
from domain.llm.errors import ModelLacksCapability
from domain.llm.models import ModelName
from domain.llm.usage import UsageRecord
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbeddingResult:
    response: EmbeddingResponse
    model: ModelName
    record: UsageRecord
    upstream_seconds: float


class CreateEmbeddings:
    def __init__(
        self,
        targets: ResolveTargets,
        governor: Governor,
        runner: AttemptRunner,
        embeddings: EmbeddingModel,
        accounting: Accounting,
    ) -> None:
        self._targets = targets
        self._governor = governor
        self._runner = runner
        self._embeddings = embeddings
        self._accounting = accounting

    async def execute(
        self, actor: WorkspaceActor, request: EmbeddingRequest, origin: CallOrigin
    ) -> EmbeddingResult:
        actor.require(Permission.LLM_USE)
        plan = await self._targets.execute(actor.workspace_id, request.model, Requirements())
        # A model the catalogue knows as a chat model cannot embed; unknown ones may.
        candidates = tuple(
            c for c in plan.candidates if not c.info.known or c.info.capabilities.embeddings
        )
        if not candidates:
            raise ModelLacksCapability(f"{request.model} does not make embeddings.", field="model")
        trace = Trace()
        ticket = await self._governor.admit(
            actor,
            candidates,
            estimated_tokens=request.estimated_input_tokens(),
            max_input_tokens=request.max_input_tokens(),
            max_output_tokens=0,
        )

        async def call(
            endpoint: Endpoint, candidate: Candidate, time_limit: float
        ) -> EmbeddingResponse:
            return await self._embeddings.embed(
                endpoint, candidate.name.model, request, time_limit=time_limit
            )

        call_record = self._accounting.open(
            actor, plan, ticket, trace, origin, endpoint_kind="embeddings", stream=False
        )
        try:
            response = await self._runner.run(
                actor.workspace_id, plan, ticket.candidates, trace, call
            )
        except BaseException as exc:
            await call_record.failed(exc)
            raise
        assert trace.candidate is not None
        record = await call_record.finished(response.usage)
        return EmbeddingResult(
            response=response,
            model=trace.candidate.name,
            record=record,
            upstream_seconds=trace.upstream_seconds,
        )
