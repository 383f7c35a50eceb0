"""A chat call streamed chunk by chunk.

Everything up to the first chunk — admission, retries, fallbacks — happens
in ``execute``, so a failure there is still an ordinary error response; after
it, a failure ends the stream (the HTTP layer sends it as a final event).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from application.common.tenancy import WorkspaceActor
from application.llm.accounting import Accounting, CallOrigin, OpenCall, failure_status
from application.llm.attempts import AttemptRunner, Trace, first_chunk
from application.llm.complete_chat import upstream_request
from application.llm.governor import Governor
from application.llm.targets import Candidate, ResolveTargets
from application.ports.llm import ChatModel, Endpoint
from domain.llm.chat import ChatChunk, ChatRequest, Usage
from domain.llm.models import ModelName
from domain.llm.usage import UsageRecord
from domain.tenancy.roles import Permission


class ChatStream:
    """The chunks of one call; iterate it exactly once. Accounting runs when the
    iteration ends, however it ends (done, upstream failure, client gone)."""

    def __init__(
        self,
        *,
        first: ChatChunk,
        rest: AsyncIterator[ChatChunk],
        call: OpenCall,
        request: ChatRequest,
        model: ModelName,
        upstream_first_chunk_seconds: float,
        first_chunk_seconds: float,
    ) -> None:
        self.model = model
        self.upstream_first_chunk_seconds = upstream_first_chunk_seconds
        self.first_chunk_seconds = first_chunk_seconds
        self.record: UsageRecord | None = None
        self._first = first
        self._rest = rest
        self._call = call
        self._request = request

    async def __aiter__(self) -> AsyncIterator[ChatChunk]:
        usage: Usage | None = None
        produced = 0
        status = "ok"
        chunk = self._first
        try:
            while True:
                produced += len(chunk.text) + sum(len(c.arguments) for c in chunk.tool_calls)
                usage = chunk.usage or usage
                yield chunk
                try:
                    chunk = await anext(self._rest)
                except StopAsyncIteration:
                    break
        except BaseException as exc:
            status = failure_status(exc)
            raise
        finally:
            close = getattr(self._rest, "aclose", None)
            try:
                if close is not None:
                    await close()  # a client gone away cancels the upstream call here
            finally:
                # A stream cut before the provider reported usage is charged an estimate.
                self.record = await self._call.finished(
                    usage
                    or Usage(
                        input_tokens=self._request.estimated_input_tokens(),
                        output_tokens=produced // 4 + 1,
                    ),
                    status=status,
                    ttft_seconds=self.first_chunk_seconds,
                )


class StreamChat:
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
    ) -> ChatStream:
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
        upstream_ttft = 0.0

        async def call(
            endpoint: Endpoint, candidate: Candidate, time_limit: float
        ) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
            nonlocal upstream_ttft
            began = time.perf_counter()
            sent = upstream_request(request, self._governor, ticket, candidate)
            opened = await first_chunk(
                self._chat.stream(endpoint, candidate.name.model, sent, time_limit=time_limit)
            )
            upstream_ttft = time.perf_counter() - began
            return opened

        call_record = self._accounting.open(
            actor, plan, ticket, trace, origin, endpoint_kind="chat", stream=True
        )
        try:
            first, rest = await self._runner.run(
                actor.workspace_id, plan, ticket.candidates, trace, call
            )
        except BaseException as exc:
            await call_record.failed(exc)
            raise
        assert trace.candidate is not None
        return ChatStream(
            first=first,
            rest=rest,
            call=call_record,
            request=request,
            model=trace.candidate.name,
            upstream_first_chunk_seconds=upstream_ttft,
            first_chunk_seconds=trace.elapsed(),
        )
