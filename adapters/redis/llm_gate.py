"""A call's limits and budget hold in one Lua script each way.

The limiter's and the ledger's own scripts (adapters/redis/llm_limiter.py,
adapters/redis/llm_ledger.py) run here unchanged, each wrapped in a Lua
function over its share of KEYS and ARGV: admission runs ADMIT, then RESERVE,
and undoes the admission with RELEASE when the budget refuses; settlement runs
SETTLE then RELEASE. One script is one atomic step, so nobody sees a slot
taken for a call that the budget then refuses. A round trip through redis-py
costs the API more than the scripts do: this halves them.

When a budget window has no counter yet (a new period, a Redis that lost its
data) the script changes nothing and says so; the ledger seeds the window from
the usage records and the script runs again.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from adapters.redis.llm_ledger import RESERVE, SETTLE, RedisSpendLedger
from adapters.redis.llm_limiter import ADMIT, RELEASE, RedisCallLimiter, admitted
from application.ports.llm_governance import Admission, CallGate, Reservation
from domain.common.errors import StorageUnavailable
from domain.llm.governance import BudgetWindow, Limits

# KEYS: the limiter's, then the ledger's. ARGV: how many keys and arguments
# are the limiter's, its arguments, then the ledger's.
_SPLIT = """
local nk, na = tonumber(ARGV[1]), tonumber(ARGV[2])
local lk, la, bk, ba = {}, {}, {}, {}
for i = 1, #KEYS do
  if i <= nk then lk[#lk + 1] = KEYS[i] else bk[#bk + 1] = KEYS[i] end
end
for i = 3, #ARGV do
  if i <= na + 2 then la[#la + 1] = ARGV[i] else ba[#ba + 1] = ARGV[i] end
end
"""


def _function(name: str, body: str) -> str:
    return f"local function {name}(KEYS, ARGV)\n{body}\nend\n"


# Returns {1} admitted and held; {0, limiter's refusal...}; {2, -1, i...}
# windows to seed first, nothing changed; {2, ledger's refusal...} with the
# admission undone (the request still counts against requests/min, as a
# refusal by the budget always did).
_ADMIT_AND_RESERVE = (
    _function("admit", ADMIT)
    + _function("reserve", RESERVE)
    + _function("release", RELEASE)
    + _SPLIT
    + """
local missing = {}
for i = 1, #bk / 2 do
  if redis.call('HEXISTS', bk[2 * i - 1], 'spent') == 0 then missing[#missing + 1] = i end
end
if #missing > 0 then return {2, -1, unpack(missing)} end
local limits = admit(lk, la)
if limits[1] ~= 1 then return limits end
local budget = reserve(bk, ba)
if budget[1] ~= 1 then
  local rk = {}
  for i = 1, #lk / 4 do
    rk[#rk + 1] = lk[4 * i - 2]; rk[#rk + 1] = lk[4 * i - 1]; rk[#rk + 1] = lk[4 * i]
  end
  release(rk, {la[3], 0})
  return {2, unpack(budget)}
end
return {1}
"""
)

# KEYS/ARGV as above with RELEASE's for the limiter. Returns {1}, or the
# ledger's {-1, i...} (windows to seed) with nothing changed.
_SETTLE_AND_RELEASE = (
    _function("settle", SETTLE)
    + _function("release", RELEASE)
    + _SPLIT
    + """
local budget = settle(bk, ba)
if budget[1] ~= 1 then return budget end
release(lk, la)
return {1}
"""
)

_ATTEMPTS = 4  # a seed per missing window, then the script again


class RedisCallGate(CallGate):
    def __init__(self, redis: Redis, limiter: RedisCallLimiter, ledger: RedisSpendLedger) -> None:
        self._limiter = limiter
        self._ledger = ledger
        self._admit = redis.register_script(_ADMIT_AND_RESERVE)
        self._settle = redis.register_script(_SETTLE_AND_RELEASE)

    async def admit(
        self,
        scopes: tuple[tuple[str, Limits], ...],
        estimated_tokens: int,
        windows: tuple[BudgetWindow, ...],
        micros: int,
    ) -> tuple[Admission | None, Reservation | None]:
        if not windows:
            return (await self._limiter.admit(scopes, estimated_tokens) if scopes else None), None
        prepared = self._limiter.prepare(scopes, estimated_tokens)
        if not prepared.counted:
            admission = prepared.admission if scopes else None
            return admission, await self._ledger.reserve(windows, micros)
        reservation = await self._ledger.prepare(windows, micros)
        keys = prepared.keys + self._ledger.keys(windows)
        for _ in range(_ATTEMPTS):
            args = [len(prepared.keys), len(prepared.args), *prepared.args]
            args += self._ledger.reserve_args(reservation)
            result = await self._run(self._admit, keys, args)
            if int(result[0]) == 0:
                return admitted(prepared, result), None  # raises the limit's refusal
            if int(result[0]) == 1:
                return prepared.admission, reservation
            answer = result[1:]
            if int(answer[0]) != -1:
                return None, self._ledger.reserved(reservation, answer)  # raises
            await self._ledger.seed([windows[int(i) - 1] for i in answer[1:]])
        raise StorageUnavailable("The budget ledger could not be seeded; try again.")

    async def settle(
        self,
        admission: Admission | None,
        reservation: Reservation | None,
        actual_tokens: int,
        actual_micros: int,
    ) -> None:
        windows = self._ledger.settling(reservation) if reservation is not None else ()
        if reservation is None or not windows or admission is None or not admission.scopes:
            if reservation is not None:
                await self._ledger.settle(reservation, actual_micros)
            if admission is not None:
                await self._limiter.release(admission, actual_tokens)
            return
        release_keys, release_args = self._limiter.release_call(admission, actual_tokens)
        keys = release_keys + self._ledger.keys(windows)
        for _ in range(_ATTEMPTS):
            args = [len(release_keys), len(release_args), *release_args]
            args += self._ledger.settle_args(reservation, windows, actual_micros)
            result = await self._run(self._settle, keys, args)
            if int(result[0]) == 1:
                return
            await self._ledger.seed([windows[int(i) - 1] for i in result[1:]])
        raise StorageUnavailable("The budget ledger could not be seeded; try again.")

    @staticmethod
    async def _run(script: Any, keys: list[str], args: list[Any]) -> list[Any]:
        try:
            return list(await script(keys=keys, args=args))
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("Limits and budgets are unavailable; try again.") from exc
