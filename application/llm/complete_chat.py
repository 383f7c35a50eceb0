"""A chat call answered in one piece."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.common.tenancy import WorkspaceActor
from application.llm.accounting import Accounting, CallOrigin
from application.llm.attempts import AttemptRunner, Trace
from application.llm.governor import Governor, Ticket
from application.llm.targets import Candidate, ResolveTargets
from application.ports.llm import ChatModel, Endpoint
from domain.llm.chat import ChatRequest, ChatResponse, Usage
from domain.llm.models import ModelName
from domain.llm.usage import UsageRecord
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatResult:
    response: ChatResponse
    model: ModelName  # what answered
    record: UsageRecord
    upstream_seconds: float


def upstream_request(
    request: ChatRequest, governor: Governor, ticket: Ticket, candidate: Candidate
) -> ChatRequest:
    """Under a budget, a call without max_tokens is capped at what was reserved for it."""
    if ticket.reservation is None or request.max_tokens is not None:
        return request
    return replace(request, max_tokens=governor.output_cap(candidate))


class CompleteChat:
    def __init__(
        self,
        targets: ResolveTargets,
        governor: Governor,
        runner: AttemptRunner,
        chat: ChatModel,
        accounting: Accounting,
    ) -> None:
        self._targets = targets
        self._governor = governor
        self._runner = runner
        self._chat = chat
        self._accounting = accounting

    async def execute(
        self, actor: WorkspaceActor, request: ChatRequest, origin: CallOrigin
    ) -> ChatResult:
        actor.require(Permission.LLM_USE)
        plan = await self._targets.execute(
            actor.workspace_id, request.model, request.requirements()
        )
        trace = Trace()
        ticket = await self._governor.admit(
            actor,
            plan.candidates,
            estimated_tokens=request.estimated_input_tokens() + (request.max_tokens or 0),
            max_input_tokens=request.max_input_tokens(),
            max_output_tokens=request.max_tokens,
        )

        async def call(endpoint: Endpoint, candidate: Candidate, time_limit: float) -> ChatResponse:
            sent = upstream_request(request, self._governor, ticket, candidate)
            return await self._chat.complete(
                endpoint, candidate.name.model, sent, time_limit=time_limit
            )

        call_record = self._accounting.open(
            actor, plan, ticket, trace, origin, endpoint_kind="chat", stream=False
        )
        try:
            response = await self._runner.run(
                actor.workspace_id, plan, ticket.candidates, trace, call
            )
        except BaseException as exc:
            await call_record.failed(exc)
            raise
        assert trace.candidate is not None
        record = await call_record.finished(
            response.usage
            or Usage(
                input_tokens=request.estimated_input_tokens(),
                output_tokens=len(response.content) // 4 + 1,
            )
        )
        return ChatResult(
            response=response,
            model=trace.candidate.name,
            record=record,
            upstream_seconds=trace.upstream_seconds,
        )
