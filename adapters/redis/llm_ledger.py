"""Spend per budget window in Redis, shared by every replica.

Each window is a hash ``ss:llm:budget:{<workspace>}:<scope>:<period>:<start>``
with the fields ``spent`` (settled micro-dollars), ``reserved`` (the sum of
the holds) and ``h:<token>`` (one hold each), and a sorted set ``…:holds`` of
the hold tokens scored by when they lapse. Every operation is one Lua script,
so the check and the hold are one step whatever the number of replicas: of
many concurrent reservations exactly those that fit pass. A process that dies
mid-call leaves holds that lapse after ``hold_seconds`` (each script prunes
them first). Both keys expire ``grace`` after the window ends.

A window's hash is created from the usage records (``SpendHistory``) the
first time it is needed: a new period, or a Redis that lost its data. The
scripts answer "needs seed" when ``spent`` is missing, the adapter writes it
with HSETNX semantics and runs the script again; when the counter exists
(every call but the first of a period) this costs nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.llm_governance import Reservation, SpendHistory, SpendLedger, Standing
from domain.common.errors import StorageUnavailable
from domain.llm.governance import BudgetWindow, budget_exceeded

_PRUNE = """
local function prune(h, z, now)
  local lapsed = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #lapsed == 0 then return end
  local freed = 0
  for _, token in ipairs(lapsed) do
    local held = redis.call('HGET', h, 'h:' .. token)
    if held then
      freed = freed + tonumber(held)
      redis.call('HDEL', h, 'h:' .. token)
    end
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
  if freed ~= 0 then redis.call('HINCRBY', h, 'reserved', string.format('%d', -freed)) end
end
local function unseeded()
  local missing = {}
  for i = 1, #KEYS / 2 do
    if redis.call('HEXISTS', KEYS[2 * i - 1], 'spent') == 0 then missing[#missing + 1] = i end
  end
  return missing
end
"""

# KEYS: hash, holds per window. ARGV: now_ms, hold_until_ms, token, amount,
# then limit, expire_at_ms per window. Returns {1} held, {0, i, spent,
# reserved} refused by window i, or {-1, i...} windows needing a seed.
RESERVE = (
    _PRUNE
    + """
local now, hold_until, token, amount = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local missing = unseeded()
if #missing > 0 then return {-1, unpack(missing)} end
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  prune(h, z, now)
  local spent = tonumber(redis.call('HGET', h, 'spent'))
  local reserved = tonumber(redis.call('HGET', h, 'reserved') or '0')
  if spent + reserved + amount > tonumber(ARGV[3 + 2 * i]) then
    return {0, i, spent, reserved}
  end
end
for i = 1, #KEYS / 2 do
  local h, z, at = KEYS[2 * i - 1], KEYS[2 * i], ARGV[4 + 2 * i]
  -- %d: Lua would print a large number as 1e+14, which HINCRBY refuses
  redis.call('HINCRBY', h, 'reserved', string.format('%d', amount))
  redis.call('HSET', h, 'h:' .. token, string.format('%d', amount))
  redis.call('ZADD', z, hold_until, token)
  redis.call('PEXPIREAT', h, at)
  redis.call('PEXPIREAT', z, at)
end
return {1}
"""
)

# KEYS: hash, holds per window. ARGV: now_ms, token, actual, then expire_at_ms
# per window. Returns {1}, or {-1, i...} windows needing a seed.
SETTLE = (
    _PRUNE
    + """
local now, token, actual = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local missing = unseeded()
if #missing > 0 then return {-1, unpack(missing)} end
for i = 1, #KEYS / 2 do
  local h, z, at = KEYS[2 * i - 1], KEYS[2 * i], ARGV[3 + i]
  local held = redis.call('HGET', h, 'h:' .. token)
  if held then
    redis.call('HDEL', h, 'h:' .. token)
    redis.call('HINCRBY', h, 'reserved', string.format('%d', -tonumber(held)))
  end
  redis.call('ZREM', z, token)
  prune(h, z, now)
  if actual ~= 0 then redis.call('HINCRBY', h, 'spent', string.format('%d', actual)) end
  redis.call('PEXPIREAT', h, at)
  redis.call('PEXPIREAT', z, at)
end
return {1}
"""
)

# KEYS: hash, holds per window. ARGV: now_ms. Returns {1, spent, reserved, …}
# in window order, or {-1, i...} windows needing a seed.
_STANDING = (
    _PRUNE
    + """
local now = tonumber(ARGV[1])
local missing = unseeded()
if #missing > 0 then return {-1, unpack(missing)} end
local found = {1}
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  prune(h, z, now)
  found[#found + 1] = tonumber(redis.call('HGET', h, 'spent'))
  found[#found + 1] = tonumber(redis.call('HGET', h, 'reserved') or '0')
end
return found
"""
)

# KEYS: hash. ARGV: spent, expire_at_ms. The first writer wins.
_SEED = """
if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
end
return 1
"""

_ATTEMPTS = 4  # a seed per missing window, then the operation again


def window_key(window: BudgetWindow) -> str:
    budget = window.budget
    scope = "ws" if budget.api_key_id is None else f"key:{budget.api_key_id}"
    start = int(window.starts_at.timestamp())
    # The workspace as hash tag: all of a call's windows live in one cluster slot.
    return f"ss:llm:budget:{{{budget.workspace_id}}}:{scope}:{budget.period.value}:{start}"


class RedisSpendLedger(SpendLedger):
    def __init__(
        self,
        redis: Redis,
        history: SpendHistory,
        *,
        hold_seconds: float = 300.0,
        grace: timedelta = timedelta(days=1),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._history = history
        self._hold_ms = int(hold_seconds * 1000)
        self._grace = grace
        self._clock = clock
        self._reserve = redis.register_script(RESERVE)
        self._settle = redis.register_script(SETTLE)
        self._standing = redis.register_script(_STANDING)
        self._seed_script = redis.register_script(_SEED)
        self._seeding: dict[str, asyncio.Future[None]] = {}

    def _now_ms(self) -> int:
        return round(self._clock() * 1000)

    def _expire_at_ms(self, window: BudgetWindow) -> int:
        return int((window.resets_at + self._grace).timestamp() * 1000)

    @staticmethod
    def keys(windows: Sequence[BudgetWindow]) -> list[str]:
        keys: list[str] = []
        for window in windows:
            key = window_key(window)
            keys += [key, f"{key}:holds"]
        return keys

    async def prepare(self, windows: tuple[BudgetWindow, ...], micros: int) -> Reservation:
        """The reservation RESERVE would take; refused at once when it can never fit."""
        if micros < 0:
            raise ValueError("a reservation cannot be negative")
        token = uuid.uuid4().hex
        too_small = next((w for w in windows if micros > w.budget.limit_micros), None)
        if too_small is not None:  # can never fit: say where the budget stands
            [standing] = await self.standing((too_small,))
            raise budget_exceeded(
                too_small,
                spent=standing.spent_micros,
                reserved=standing.reserved_micros,
                amount=micros,
            )
        return Reservation(windows=windows, micros=micros, token=token)

    def reserve_args(self, reservation: Reservation) -> list[Any]:
        now = self._now_ms()
        values: list[Any] = [now, now + self._hold_ms, reservation.token, reservation.micros]
        for window in reservation.windows:
            values += [window.budget.limit_micros, self._expire_at_ms(window)]
        return values

    @staticmethod
    def reserved(reservation: Reservation, result: list[Any]) -> Reservation:
        """The reservation RESERVE answered, or the refusal it stands for."""
        if int(result[0]) == 0:
            window = reservation.windows[int(result[1]) - 1]
            raise budget_exceeded(
                window, spent=int(result[2]), reserved=int(result[3]), amount=reservation.micros
            )
        return reservation

    async def reserve(self, windows: tuple[BudgetWindow, ...], micros: int) -> Reservation:
        reservation = await self.prepare(windows, micros)
        if not windows:
            return reservation
        result = await self._run(self._reserve, windows, lambda: self.reserve_args(reservation))
        return self.reserved(reservation, result)

    def settling(self, reservation: Reservation) -> tuple[BudgetWindow, ...]:
        """The windows a settlement still touches: one whose keys are gone for
        good (the call outlived its period and the grace) is left alone, the
        usage record still counts the cost."""
        now = self._now_ms()
        return tuple(w for w in reservation.windows if self._expire_at_ms(w) > now)

    def settle_args(
        self, reservation: Reservation, windows: tuple[BudgetWindow, ...], actual_micros: int
    ) -> list[Any]:
        return [
            self._now_ms(),
            reservation.token,
            max(0, actual_micros),
            *(self._expire_at_ms(w) for w in windows),
        ]

    async def settle(self, reservation: Reservation, actual_micros: int) -> None:
        windows = self.settling(reservation)
        if not windows:
            return
        await self._run(
            self._settle, windows, lambda: self.settle_args(reservation, windows, actual_micros)
        )

    async def standing(self, windows: tuple[BudgetWindow, ...]) -> list[Standing]:
        if not windows:
            return []
        result = await self._run(self._standing, windows, lambda: [self._now_ms()])
        values = [int(v) for v in result[1:]]
        return [
            Standing(spent_micros=values[2 * i], reserved_micros=values[2 * i + 1])
            for i in range(len(windows))
        ]

    async def _run(
        self,
        script: Any,
        windows: Sequence[BudgetWindow],
        args: Callable[[], list[Any]],
    ) -> list[Any]:
        keys = self.keys(windows)
        for _ in range(_ATTEMPTS):
            try:
                result = list(await script(keys=keys, args=args()))
            except (RedisError, OSError) as exc:
                raise StorageUnavailable("The budget ledger is unavailable; try again.") from exc
            if result[0] != -1:
                return result
            await self.seed([windows[int(i) - 1] for i in result[1:]])
        raise StorageUnavailable("The budget ledger could not be seeded; try again.")

    async def seed(self, missing: Sequence[BudgetWindow]) -> None:
        """Seed windows a script answered as missing (``{-1, i...}``)."""
        await asyncio.gather(*(self._seed(window) for window in missing))

    async def _seed(self, window: BudgetWindow) -> None:
        """One history read per window and process at a time, however many calls wait."""
        key = window_key(window)
        running = self._seeding.get(key)
        if running is None:
            running = asyncio.ensure_future(self._seed_from_history(window, key))
            self._seeding[key] = running

            def forget(done: asyncio.Future[None]) -> None:
                if self._seeding.get(key) is done:
                    del self._seeding[key]

            running.add_done_callback(forget)
        await asyncio.shield(running)

    async def _seed_from_history(self, window: BudgetWindow, key: str) -> None:
        budget = window.budget
        spent = await self._history.spent_micros(
            budget.workspace_id, budget.api_key_id, window.starts_at
        )
        try:
            await self._seed_script(keys=[key], args=[spent, self._expire_at_ms(window)])
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The budget ledger is unavailable; try again.") from exc
