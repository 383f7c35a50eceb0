"""The call gate over a limiter and a ledger, one after the other.

For stores that cannot do both in one step (the in-memory fakes); Redis has
its own gate that does (adapters/redis/llm_gate.py).
"""

from __future__ import annotations

from application.ports.llm_governance import (
    Admission,
    CallGate,
    CallLimiter,
    Reservation,
    SpendLedger,
)
from domain.llm.governance import BudgetWindow, Limits


class SequentialGate(CallGate):
    def __init__(self, limiter: CallLimiter, ledger: SpendLedger) -> None:
        self._limiter = limiter
        self._ledger = ledger

    async def admit(
        self,
        scopes: tuple[tuple[str, Limits], ...],
        estimated_tokens: int,
        windows: tuple[BudgetWindow, ...],
        micros: int,
    ) -> tuple[Admission | None, Reservation | None]:
        admission = await self._limiter.admit(scopes, estimated_tokens) if scopes else None
        try:
            reservation = await self._ledger.reserve(windows, micros) if windows else None
        except BaseException:
            if admission is not None:
                await self._limiter.release(admission, 0)
            raise
        return admission, reservation

    async def settle(
        self,
        admission: Admission | None,
        reservation: Reservation | None,
        actual_tokens: int,
        actual_micros: int,
    ) -> None:
        if reservation is not None:
            await self._ledger.settle(reservation, actual_micros)
        if admission is not None:
            await self._limiter.release(admission, actual_tokens)
