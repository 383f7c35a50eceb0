"""In-memory budgets, limits and settings behaving like the Postgres adapters; a
spend ledger and a call limiter with the Redis adapters' exact rules (the
integration tests hold them to it); and ``GovernanceWorld`` wiring every
governance handler to them as one process would.
"""

from __future__ import annotations

import builtins
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TypeVar, cast
from uuid import UUID

from application.commands.llm.remove_budget import RemoveBudget, RemoveBudgetHandler
from application.commands.llm.remove_limits import RemoveLimits, RemoveLimitsHandler
from application.commands.llm.set_budget import SetBudget, SetBudgetHandler
from application.commands.llm.set_limits import SetLimits, SetLimitsHandler
from application.commands.llm.update_llm_settings import (
    UpdateLlmSettings,
    UpdateLlmSettingsHandler,
)
from application.common.tenancy import WorkspaceActor
from application.llm.policy import CachedPolicyLookup
from application.llm.settings import LlmSettings
from application.ports.llm_governance import (
    Admission,
    CallGate,
    CallLimiter,
    GovernanceRepository,
    PolicyLookup,
    Reservation,
    SpendHistory,
    SpendLedger,
    Standing,
)
from application.ports.llm_governance_reads import GovernanceReader, StoredBudget, StoredLimits
from application.ports.tenancy import ApiKeyRepository
from application.queries.llm.get_llm_settings import (
    GetLlmSettings,
    GetLlmSettingsHandler,
    LlmSettingsView,
)
from application.queries.llm.list_budgets import BudgetStatus, ListBudgets, ListBudgetsHandler
from application.queries.llm.list_limits import LimitsStatus, ListLimits, ListLimitsHandler
from domain.identity.api_key import ApiKey, ApiKeyId
from domain.identity.ids import UserId
from domain.llm.errors import LimitExceeded
from domain.llm.governance import (
    Budget,
    BudgetWindow,
    Limits,
    Policy,
    budget_exceeded,
    fits,
)
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission, Role, permissions_of
from tests.fakes.audit import RecordingAuditLog
from tests.fakes.system import FakeClock
from tests.fakes.transaction import FakeUnitOfWork

Scope = tuple[WorkspaceId, ApiKeyId | None]
T = TypeVar("T")


@dataclass(frozen=True)
class _Tables:
    budgets: dict[Scope, tuple[Budget, datetime]]
    limits: dict[Scope, tuple[Limits, datetime]]
    refuse: dict[WorkspaceId, bool]


class InMemoryGovernance(GovernanceRepository, GovernanceReader, PolicyLookup):
    """The llm_budgets, llm_limits and llm_settings tables: the repository, the
    reader and the gateway's lookup over them, enlisted in the unit of work.
    ``lookups`` counts the gateway's reads."""

    def __init__(self, uow: FakeUnitOfWork, clock: FakeClock) -> None:
        self._clock = clock
        self.budget_rows: dict[Scope, tuple[Budget, datetime]] = {}
        self.limit_rows: dict[Scope, tuple[Limits, datetime]] = {}
        self.refuse_rows: dict[WorkspaceId, bool] = {}
        self.key_names: dict[ApiKeyId, str] = {}
        self.lookups = 0
        uow.enlist(self)

    def snapshot(self) -> object:
        return _Tables(dict(self.budget_rows), dict(self.limit_rows), dict(self.refuse_rows))

    def restore(self, snapshot: object) -> None:
        saved = cast(_Tables, snapshot)
        self.budget_rows = dict(saved.budgets)
        self.limit_rows = dict(saved.limits)
        self.refuse_rows = dict(saved.refuse)

    # repository

    async def put_budget(self, budget: Budget) -> None:
        self.budget_rows[(budget.workspace_id, budget.api_key_id)] = (budget, self._clock.now())

    async def remove_budget(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> bool:
        return self.budget_rows.pop((workspace_id, api_key_id), None) is not None

    async def put_limits(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, limits: Limits
    ) -> None:
        self.limit_rows[(workspace_id, api_key_id)] = (limits, self._clock.now())

    async def remove_limits(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> bool:
        return self.limit_rows.pop((workspace_id, api_key_id), None) is not None

    async def put_refuse_unpriced(self, workspace_id: WorkspaceId, refuse: bool) -> None:
        self.refuse_rows[workspace_id] = refuse

    # reader

    @staticmethod
    def _order(scope: Scope) -> tuple[bool, str]:
        return scope[1] is not None, str(scope[1])

    async def budgets(self, workspace_id: WorkspaceId) -> builtins.list[StoredBudget]:
        return [
            StoredBudget(
                budget=budget,
                api_key_name=self.key_names.get(scope[1]) if scope[1] else None,
                updated_at=at,
            )
            for scope, (budget, at) in sorted(
                self.budget_rows.items(), key=lambda item: self._order(item[0])
            )
            if scope[0] == workspace_id
        ]

    async def limits(self, workspace_id: WorkspaceId) -> builtins.list[StoredLimits]:
        return [
            StoredLimits(
                api_key_id=scope[1],
                api_key_name=self.key_names.get(scope[1]) if scope[1] else None,
                limits=limits,
                updated_at=at,
            )
            for scope, (limits, at) in sorted(
                self.limit_rows.items(), key=lambda item: self._order(item[0])
            )
            if scope[0] == workspace_id
        ]

    async def refuse_unpriced(self, workspace_id: WorkspaceId) -> bool:
        return self.refuse_rows.get(workspace_id, False)

    # lookup

    async def policy(self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None) -> Policy:
        self.lookups += 1
        scopes: list[Scope] = [(workspace_id, None)]
        if api_key_id is not None:
            scopes.append((workspace_id, api_key_id))
        return Policy(
            budgets=tuple(self.budget_rows[s][0] for s in scopes if s in self.budget_rows),
            workspace_limits=self.limit_rows.get((workspace_id, None), (Limits(), None))[0],
            key_limits=(
                self.limit_rows.get((workspace_id, api_key_id), (Limits(), None))[0]
                if api_key_id is not None
                else Limits()
            ),
            refuse_unpriced_models=self.refuse_rows.get(workspace_id, False),
        )


class StoredApiKeys(ApiKeyRepository):
    """Just enough of the api_keys table for the governance handlers' checks."""

    def __init__(self) -> None:
        self.rows: dict[ApiKeyId, ApiKey] = {}

    def put(self, workspace_id: WorkspaceId, number: int, *, revoked: bool = False) -> ApiKeyId:
        key_id = ApiKeyId(UUID(f"0190dddd-0000-7000-8000-{number:012x}"))
        created = datetime(2025, 1, 1, tzinfo=UTC)
        self.rows[key_id] = ApiKey(
            id=key_id,
            workspace_id=workspace_id,
            name=f"key-{number}",
            prefix=f"sk-ss-{number:06d}",
            secret_hash=f"hash-{number}",
            scopes=frozenset({Permission.LLM_USE}),
            created_by=UserId(UUID("0190eeee-0000-7000-8000-000000000001")),
            created_at=created,
            expires_at=None,
            rate_limit_per_minute=None,
            revoked_at=created if revoked else None,
        )
        return key_id

    async def add(self, key: ApiKey) -> None:
        self.rows[key.id] = key

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        found = self.rows.get(key_id)
        return replace(found) if found else None

    async def save(self, key: ApiKey) -> None:
        self.rows[key.id] = replace(key)


class FakeSpendHistory(SpendHistory):
    """Usage records as (workspace, key, time, cost); ``reads`` counts the queries."""

    def __init__(self) -> None:
        self.records: list[tuple[WorkspaceId, ApiKeyId | None, datetime, int]] = []
        self.reads = 0

    def add(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, at: datetime, micros: int
    ) -> None:
        self.records.append((workspace_id, api_key_id, at, micros))

    async def spent_micros(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, since: datetime
    ) -> int:
        self.reads += 1
        return sum(
            micros
            for ws, key, at, micros in self.records
            if ws == workspace_id and at >= since and (api_key_id is None or key == api_key_id)
        )


@dataclass
class _Window:
    spent: int
    expires_at: int  # ms since the epoch: the window's end plus the grace
    holds: dict[str, tuple[int, int]] = field(default_factory=dict)  # token -> (µ$, lapse ms)

    def prune(self, now: int) -> None:
        for token in [t for t, (_, lapse) in self.holds.items() if lapse <= now]:
            del self.holds[token]

    @property
    def reserved(self) -> int:
        return sum(amount for amount, _ in self.holds.values())


def _window_id(window: BudgetWindow) -> tuple[object, ...]:
    b = window.budget
    return (b.workspace_id, b.api_key_id, b.period, window.starts_at)


class InMemorySpendLedger(SpendLedger):
    """RedisSpendLedger's rules without Redis: a window is seeded from the
    history when first needed; holds lapse ``hold_seconds`` after they were
    taken; a window is forgotten ``grace`` after its end. ``clock`` gives
    seconds since the epoch."""

    def __init__(
        self,
        history: SpendHistory,
        *,
        clock: Callable[[], float],
        hold_seconds: float = 300.0,
        grace: timedelta = timedelta(days=1),
    ) -> None:
        self._history = history
        self._clock = clock
        self._hold_ms = int(hold_seconds * 1000)
        self._grace = grace
        self.windows: dict[tuple[object, ...], _Window] = {}

    def _expires(self, window: BudgetWindow) -> int:
        return int((window.resets_at + self._grace).timestamp() * 1000)

    def _now(self) -> int:
        return round(self._clock() * 1000)

    async def _open(self, window: BudgetWindow, now: int) -> _Window:
        key = _window_id(window)
        found = self.windows.get(key)
        if found is not None and found.expires_at <= now:
            del self.windows[key]
            found = None
        if found is None:
            b = window.budget
            spent = await self._history.spent_micros(b.workspace_id, b.api_key_id, window.starts_at)
            found = self.windows.setdefault(key, _Window(spent, self._expires(window)))
        found.prune(now)
        return found

    async def reserve(self, windows: tuple[BudgetWindow, ...], micros: int) -> Reservation:
        if micros < 0:
            raise ValueError("a reservation cannot be negative")
        token = uuid.uuid4().hex
        now = self._now()
        too_small = next((w for w in windows if micros > w.budget.limit_micros), None)
        if too_small is not None:  # as the Redis ledger: named before any other window
            state = await self._open(too_small, now)
            raise budget_exceeded(
                too_small, spent=state.spent, reserved=state.reserved, amount=micros
            )
        opened = [await self._open(w, now) for w in windows]
        for window, state in zip(windows, opened, strict=True):
            limit = window.budget.limit_micros
            if not fits(spent=state.spent, reserved=state.reserved, amount=micros, limit=limit):
                raise budget_exceeded(
                    window, spent=state.spent, reserved=state.reserved, amount=micros
                )
        for state in opened:
            state.holds[token] = (micros, now + self._hold_ms)
        return Reservation(windows=windows, micros=micros, token=token)

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        now = self._now()
        for window in reservation.windows:
            if self._expires(window) <= now:
                continue
            state = await self._open(window, now)
            state.holds.pop(reservation.token, None)
            state.spent += max(0, actual_micros)

    async def standing(self, windows: tuple[BudgetWindow, ...]) -> builtins.list[Standing]:
        now = self._now()
        opened = [await self._open(w, now) for w in windows]
        return [Standing(spent_micros=s.spent, reserved_micros=s.reserved) for s in opened]


@dataclass
class _Scope:
    requests: list[tuple[float, str]] = field(default_factory=list)  # (admitted at, token)
    tokens: dict[str, tuple[float, int]] = field(default_factory=dict)  # token -> (at, amount)
    leases: dict[str, float] = field(default_factory=dict)  # token -> lapses at


_NAMES = {
    "requests_per_minute": "requests per minute",
    "tokens_per_minute": "tokens per minute",
    "max_concurrent": "concurrent requests",
}


class InMemoryCallLimiter(CallLimiter):
    """RedisCallLimiter's rules without Redis, to the millisecond: 60-second
    sliding windows (an entry admitted at t counts while now - t < 60 s),
    leases that lapse ``lease_seconds`` after admission. ``clock`` gives
    seconds since the epoch."""

    WINDOW_MS = 60_000

    def __init__(self, *, clock: Callable[[], float], lease_seconds: float = 300.0) -> None:
        self._clock = clock
        self._lease_ms = int(lease_seconds * 1000)
        self.scopes: dict[str, _Scope] = {}

    def _state(self, scope: str, now: int) -> _Scope:
        state = self.scopes.setdefault(scope, _Scope())
        edge = now - self.WINDOW_MS
        state.requests = [(at, t) for at, t in state.requests if at > edge]
        state.tokens = {t: v for t, v in state.tokens.items() if v[0] > edge}
        state.leases = {t: until for t, until in state.leases.items() if until > now}
        return state

    def _refusal(
        self, scope: str, limits: Limits, state: _Scope, estimate: int, now: int
    ) -> tuple[str, int] | None:
        rpm, tpm, conc = limits.requests_per_minute, limits.tokens_per_minute, limits.max_concurrent
        if rpm and len(state.requests) >= rpm:
            oldest = min(at for at, _ in state.requests)
            return "requests_per_minute", int(oldest) + self.WINDOW_MS - now
        if tpm:
            if estimate > tpm:
                return "tokens_per_minute", -1
            used = sum(amount for _, amount in state.tokens.values())
            if used + estimate > tpm:
                excess, wait = used + estimate - tpm, self.WINDOW_MS
                for at, amount in sorted(state.tokens.values(), key=lambda v: v[0]):
                    excess -= amount
                    if excess <= 0:
                        wait = int(at) + self.WINDOW_MS - now
                        break
                return "tokens_per_minute", wait
        if conc and len(state.leases) >= conc:
            return "max_concurrent", 1000
        return None

    async def admit(
        self, scopes: tuple[tuple[str, Limits], ...], estimated_tokens: int
    ) -> Admission:
        token = uuid.uuid4().hex
        estimate = max(0, estimated_tokens)
        counted = tuple((s, limits) for s, limits in scopes if not limits.unlimited)
        now = round(self._clock() * 1000)
        for scope, limits in counted:
            refusal = self._refusal(scope, limits, self._state(scope, now), estimate, now)
            if refusal is None:
                continue
            name, wait_ms = refusal
            limit = getattr(limits, name)
            retry_after = 60 if wait_ms < 0 else max(1, math.ceil(wait_ms / 1000))
            raise LimitExceeded(
                f"{scope} limit of {limit} {_NAMES[name]} is reached.", retry_after=retry_after
            )
        for scope, limits in counted:
            state = self.scopes[scope]
            if limits.requests_per_minute:
                state.requests.append((now, token))
            if limits.tokens_per_minute:
                state.tokens[token] = (now, estimate)
            if limits.max_concurrent:
                state.leases[token] = now + self._lease_ms
        return Admission(scopes=tuple(s for s, _ in counted), reserved_tokens=estimate, token=token)

    async def release(self, admission: Admission, actual_tokens: int) -> None:
        for scope in admission.scopes:
            state = self.scopes.get(scope)
            if state is None:
                continue
            state.leases.pop(admission.token, None)
            if admission.token in state.tokens:
                at, _ = state.tokens[admission.token]
                state.tokens[admission.token] = (at, max(0, actual_tokens))

    def usage(self, scope: str) -> tuple[int, int, int]:
        """(requests, tokens, leases) counted in the scope now."""
        state = self._state(scope, round(self._clock() * 1000))
        return (
            len(state.requests),
            sum(amount for _, amount in state.tokens.values()),
            len(state.leases),
        )


class GovernanceWorld:
    """The governance handlers as one process would run them, over fakes."""

    def __init__(self, settings: LlmSettings | None = None) -> None:
        self.settings = settings or LlmSettings(policy_cache_seconds=60.0)
        self.uow = FakeUnitOfWork()
        self.clock = FakeClock()
        self.audit = RecordingAuditLog(self.uow)
        self.tables = InMemoryGovernance(self.uow, self.clock)
        self.keys = StoredApiKeys()
        self.history = FakeSpendHistory()
        self.ledger = InMemorySpendLedger(self.history, clock=lambda: self.clock.now().timestamp())
        self.policies = CachedPolicyLookup(self.tables, self.settings)
        self.workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
        self.other_workspace = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000b"))
        self.admin = UserId(UUID("0190eeee-0000-7000-8000-000000000001"))

    def actor(
        self, role: Role = Role.ADMIN, workspace: WorkspaceId | None = None
    ) -> WorkspaceActor:
        return WorkspaceActor(
            workspace_id=workspace or self.workspace,
            user_id=self.admin,
            role=role,
            permissions=permissions_of(role),
        )

    async def _run(self, call: Awaitable[T]) -> T:
        try:
            return await call
        finally:
            self.uow.rollback()  # what the request did not commit

    async def set_budget(self, cmd: SetBudget) -> Budget:
        handler = SetBudgetHandler(self.tables, self.keys, self.audit, self.uow, self.policies)
        return await self._run(handler.execute(cmd))

    async def remove_budget(self, cmd: RemoveBudget) -> None:
        handler = RemoveBudgetHandler(self.tables, self.audit, self.uow, self.policies)
        await self._run(handler.execute(cmd))

    async def set_limits(self, cmd: SetLimits) -> Limits:
        handler = SetLimitsHandler(self.tables, self.keys, self.audit, self.uow, self.policies)
        return await self._run(handler.execute(cmd))

    async def remove_limits(self, cmd: RemoveLimits) -> None:
        handler = RemoveLimitsHandler(self.tables, self.audit, self.uow, self.policies)
        await self._run(handler.execute(cmd))

    async def update_settings(self, cmd: UpdateLlmSettings) -> None:
        handler = UpdateLlmSettingsHandler(self.tables, self.audit, self.uow, self.policies)
        await self._run(handler.execute(cmd))

    async def budgets(self, role: Role = Role.ADMIN) -> builtins.list[BudgetStatus]:
        handler = ListBudgetsHandler(self.tables, self.ledger, self.clock)
        return await handler.execute(ListBudgets(actor=self.actor(role)))

    async def limits(self, role: Role = Role.ADMIN) -> builtins.list[LimitsStatus]:
        handler = ListLimitsHandler(self.tables, self.settings)
        return await handler.execute(ListLimits(actor=self.actor(role)))

    async def llm_settings(self, role: Role = Role.ADMIN) -> LlmSettingsView:
        return await GetLlmSettingsHandler(self.tables).execute(
            GetLlmSettings(actor=self.actor(role))
        )


class SequentialGate(CallGate):
    """The call gate over a limiter and a ledger, one after the other: what
    RedisCallGate does in one script, for the in-memory fakes."""

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
