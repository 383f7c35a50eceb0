"""Admission of a call: limits, budgets and the unpriced-model setting, before
anything goes upstream; and the reconciliation after."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.llm.settings import LlmSettings
from application.llm.targets import Candidate
from application.ports.llm_governance import Admission, CallGate, PolicyLookup, Reservation
from application.ports.system import Clock
from domain.llm.errors import UnpricedModelRefused
from domain.llm.governance import Limits, Policy, budget_window


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticket:
    candidates: tuple[Candidate, ...]  # those the policy lets this call use
    admission: Admission | None
    reservation: Reservation | None


class Governor:
    def __init__(
        self,
        policies: PolicyLookup,
        gate: CallGate,
        settings: LlmSettings,
        clock: Clock,
    ) -> None:
        self._policies = policies
        self._gate = gate
        self._settings = settings
        self._clock = clock

    async def admit(
        self,
        actor: WorkspaceActor,
        candidates: tuple[Candidate, ...],
        *,
        estimated_tokens: int,
        max_input_tokens: int,
        max_output_tokens: int | None,
    ) -> Ticket:
        """Limits first (cheap to refuse), then the worst-case cost is held
        against every budget that applies; either refusal leaves nothing held."""
        policy = await self._policies.policy(actor.workspace_id, actor.api_key_id)
        if policy.refuse_unpriced_models:
            priced = tuple(c for c in candidates if c.info.price is not None)
            if not priced:
                raise UnpricedModelRefused(
                    "This workspace refuses models without a known price: "
                    + ", ".join(str(c.name) for c in candidates)
                    + "."
                )
            candidates = priced
        scopes = self._limit_scopes(actor, policy)
        windows = tuple(
            budget_window(budget, self._clock.now())
            for budget in policy.budgets
            if budget.api_key_id is None or budget.api_key_id == actor.api_key_id
        )
        worst = (
            max(self._worst_case(c, max_input_tokens, max_output_tokens) for c in candidates)
            if windows
            else 0
        )
        admission, reservation = await self._gate.admit(scopes, estimated_tokens, windows, worst)
        return Ticket(candidates=candidates, admission=admission, reservation=reservation)

    async def settle(self, ticket: Ticket, *, total_tokens: int, cost_micros: int | None) -> None:
        """Runs to the end even when the caller is cancelled (a client that went
        away): the hold and the slot must not wait for their expiry."""
        await asyncio.shield(self._settle(ticket, total_tokens, cost_micros))

    async def _settle(self, ticket: Ticket, total_tokens: int, cost_micros: int | None) -> None:
        await self._gate.settle(
            ticket.admission, ticket.reservation, total_tokens, cost_micros or 0
        )

    def _limit_scopes(
        self, actor: WorkspaceActor, policy: Policy
    ) -> tuple[tuple[str, Limits], ...]:
        defaults = self._settings
        workspace = policy.workspace_limits
        if workspace == Limits():
            workspace = Limits(
                requests_per_minute=defaults.default_requests_per_minute,
                tokens_per_minute=defaults.default_tokens_per_minute,
                max_concurrent=defaults.default_max_concurrent,
            )
        scopes: list[tuple[str, Limits]] = []
        if workspace != Limits():
            scopes.append((f"ws:{actor.workspace_id}", workspace))
        if actor.api_key_id is not None and policy.key_limits != Limits():
            scopes.append((f"key:{actor.api_key_id}", policy.key_limits))
        return tuple(scopes)

    def output_cap(self, candidate: Candidate) -> int:
        """The output tokens reserved for a call that set no max_tokens."""
        return (
            candidate.info.capabilities.max_output_tokens
            or self._settings.default_max_output_tokens
        )

    def _worst_case(
        self, candidate: Candidate, input_tokens: int, output_tokens: int | None
    ) -> int:
        price = candidate.info.price
        if price is None:
            return 0
        return price.worst_case_micros(input_tokens, output_tokens or self.output_cap(candidate))
