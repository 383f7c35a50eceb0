"""Budgets and limits: what a workspace or one of its API keys may spend and send.

Money is integer micro-dollars. A budget's period is a UTC calendar day or
month; its current window is ``[starts_at, resets_at)``. A call may start when
what is spent, plus what running calls hold, plus its own worst case stays
within the limit (``fits``); a limit of 0 lets no priced call through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from domain.identity.api_key import ApiKeyId
from domain.llm.errors import BudgetExceeded, InvalidBudget, InvalidLimits
from domain.tenancy.ids import WorkspaceId

MICROS_PER_USD = 1_000_000
MAX_LIMIT_USD = 1_000_000_000  # a billion dollars: far above any real budget, exact in Lua too
MAX_LIMIT_MICROS = MAX_LIMIT_USD * MICROS_PER_USD
MAX_REQUESTS_PER_MINUTE = 1_000_000
MAX_TOKENS_PER_MINUTE = 1_000_000_000
MAX_CONCURRENT = 100_000


class BudgetPeriod(StrEnum):
    DAY = "day"
    MONTH = "month"

    @classmethod
    def parse(cls, raw: str) -> BudgetPeriod:
        try:
            return cls(raw)
        except ValueError:
            raise InvalidBudget(
                f"period must be one of: {', '.join(p.value for p in cls)}.", field="period"
            ) from None


def usd_to_micros(amount: Decimal | int | str, *, field: str = "limit_usd") -> int:
    """An exact dollar amount (at most 6 decimals, 0 to MAX_LIMIT_USD) as micro-dollars."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, ValueError, TypeError):
        raise InvalidBudget(f"{field} must be a number of dollars.", field=field) from None
    if not value.is_finite():
        raise InvalidBudget(f"{field} must be a finite number of dollars.", field=field)
    if value < 0:
        raise InvalidBudget(f"{field} cannot be negative.", field=field)
    if value > MAX_LIMIT_USD:
        raise InvalidBudget(f"{field} can be at most {MAX_LIMIT_USD}.", field=field)
    micros = value * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise InvalidBudget(f"{field} can have at most 6 decimal places.", field=field)
    return int(micros)


def format_usd(micros: int) -> str:
    """Micro-dollars as dollars with 2 to 6 decimals: ``$12.50``, ``$0.000125``."""
    sign = "-" if micros < 0 else ""
    whole, fraction = divmod(abs(micros), MICROS_PER_USD)
    digits = f"{fraction:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{digits}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget:
    workspace_id: WorkspaceId
    api_key_id: ApiKeyId | None  # None: the workspace's own budget
    limit_micros: int
    period: BudgetPeriod

    def __post_init__(self) -> None:
        if not 0 <= self.limit_micros <= MAX_LIMIT_MICROS:
            raise InvalidBudget(
                f"limit_usd must be between 0 and {MAX_LIMIT_USD}.", field="limit_usd"
            )

    @property
    def scope(self) -> str:
        """Where its spend is counted: ``ws:<workspace id>`` or ``key:<api key id>``."""
        return (
            f"key:{self.api_key_id}" if self.api_key_id is not None else f"ws:{self.workspace_id}"
        )

    def describe(self) -> str:
        owner = "This API key's" if self.api_key_id is not None else "The workspace's"
        adjective = "daily" if self.period is BudgetPeriod.DAY else "monthly"
        return f"{owner} {adjective} budget of {format_usd(self.limit_micros)}"


def period_bounds(period: BudgetPeriod, now: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar day or month holding ``now``: (start, next start)."""
    if now.tzinfo is None:
        raise ValueError("period_bounds needs a timezone-aware time")
    utc = now.astimezone(UTC)
    if period is BudgetPeriod.DAY:
        start = utc.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    start = utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start.month == 12:
        return start, start.replace(year=start.year + 1, month=1)
    return start, start.replace(month=start.month + 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetWindow:
    """A budget's current period, UTC: [starts_at, resets_at)."""

    budget: Budget
    starts_at: datetime
    resets_at: datetime


def budget_window(budget: Budget, now: datetime) -> BudgetWindow:
    starts_at, resets_at = period_bounds(budget.period, now)
    return BudgetWindow(budget=budget, starts_at=starts_at, resets_at=resets_at)


def fits(*, spent: int, reserved: int, amount: int, limit: int) -> bool:
    """Whether a hold of ``amount`` keeps the window within its limit."""
    return spent + reserved + amount <= limit


def budget_exceeded(
    window: BudgetWindow, *, spent: int, reserved: int, amount: int
) -> BudgetExceeded:
    """The refusal, saying which budget, where it stands and when it resets."""
    budget = window.budget
    resets = window.resets_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return BudgetExceeded(
        f"{budget.describe()} would be exceeded: {format_usd(spent)} spent, "
        f"{format_usd(reserved)} held by running calls, and this call may cost up to "
        f"{format_usd(amount)}. It resets at {resets}."
    )


def _limit(value: int | None, name: str, maximum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidLimits(f"{name} must be a whole number from 1 to {maximum}.", field=name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent: int | None = None

    def __post_init__(self) -> None:
        _limit(self.requests_per_minute, "requests_per_minute", MAX_REQUESTS_PER_MINUTE)
        _limit(self.tokens_per_minute, "tokens_per_minute", MAX_TOKENS_PER_MINUTE)
        _limit(self.max_concurrent, "max_concurrent", MAX_CONCURRENT)

    @property
    def unlimited(self) -> bool:
        return self == Limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Everything that governs one caller's calls, read once per request (cached briefly)."""

    budgets: tuple[Budget, ...] = ()  # the workspace's and the key's, when set
    workspace_limits: Limits = Limits()
    key_limits: Limits = Limits()
    refuse_unpriced_models: bool = False
