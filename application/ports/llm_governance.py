"""Ports for budgets, limits and the per-call admission that enforces them."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Budget, BudgetWindow, Limits, Policy
from domain.tenancy.ids import WorkspaceId


class PolicyLookup(Protocol):
    @abstractmethod
    async def policy(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Policy:
        """The budgets, limits and settings that govern this caller, in one read."""


class GovernanceRepository(Protocol):
    """Writes of budgets, limits and workspace LLM settings (admin+)."""

    @abstractmethod
    async def put_budget(self, budget: Budget) -> None: ...

    @abstractmethod
    async def remove_budget(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None
    ) -> bool: ...

    @abstractmethod
    async def put_limits(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, limits: Limits
    ) -> None: ...

    @abstractmethod
    async def remove_limits(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None
    ) -> bool: ...

    @abstractmethod
    async def put_refuse_unpriced(self, workspace_id: WorkspaceId, refuse: bool) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Reservation:
    """Money held against budget windows until the call settles."""

    windows: tuple[BudgetWindow, ...]
    micros: int
    token: str  # identifies this reservation in the ledger


@dataclass(frozen=True, slots=True, kw_only=True)
class Standing:
    spent_micros: int
    reserved_micros: int


class SpendLedger(Protocol):
    """Spend per budget window, shared by every replica (Redis)."""

    @abstractmethod
    async def reserve(self, windows: tuple[BudgetWindow, ...], micros: int) -> Reservation:
        """Hold ``micros`` against every window at once, or none: raises
        BudgetExceeded when any window's spent + reserved + micros would pass
        its limit. Concurrent reservations cannot together overspend."""

    @abstractmethod
    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        """Release the hold and add what the call really cost."""

    @abstractmethod
    async def standing(self, windows: tuple[BudgetWindow, ...]) -> list[Standing]: ...


class SpendHistory(Protocol):
    """What the usage records say was spent: seeds the ledger when a window
    has no counter yet (a new period, or a Redis that lost its data)."""

    @abstractmethod
    async def spent_micros(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, since: datetime
    ) -> int: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Admission:
    """A call let in: its concurrency slots and reserved tokens, released after."""

    scopes: tuple[str, ...]
    reserved_tokens: int
    token: str


class CallLimiter(Protocol):
    @abstractmethod
    async def admit(
        self, scopes: tuple[tuple[str, Limits], ...], estimated_tokens: int
    ) -> Admission:
        """Count a request against requests/min, reserve ``estimated_tokens``
        against tokens/min and take a concurrency slot, for every scope at
        once or none; raises LimitExceeded with a retry-after."""

    @abstractmethod
    async def release(self, admission: Admission, actual_tokens: int) -> None:
        """Free the concurrency slot and replace the token estimate by the real count."""


class CallGate(Protocol):
    """A call's limits and budget hold, taken together before it and given
    back together after: one round trip each way where the store allows it."""

    @abstractmethod
    async def admit(
        self,
        scopes: tuple[tuple[str, Limits], ...],
        estimated_tokens: int,
        windows: tuple[BudgetWindow, ...],
        micros: int,
    ) -> tuple[Admission | None, Reservation | None]:
        """Limits first (LimitExceeded), then ``micros`` held against every
        window (BudgetExceeded); a refusal leaves no slot, token estimate or
        hold behind. None where there was nothing to count or hold."""

    @abstractmethod
    async def settle(
        self,
        admission: Admission | None,
        reservation: Reservation | None,
        actual_tokens: int,
        actual_micros: int,
    ) -> None:
        """Give the slot and the hold back, counting what the call really used."""
