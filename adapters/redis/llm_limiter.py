"""Requests/min, tokens/min and concurrency per scope (a workspace, an API key), in Redis.

Per scope ``s`` (``ws:<id>``, ``key:<id>``), keys share the hash tag ``{s}``:

- ``ss:llm:rpm:{s}``: a sliding-window log of admitted calls (sorted set by time);
- ``ss:llm:tpm:{s}`` and ``…:amounts``: a sliding window of token amounts, one
  entry per call scored by its admission time, its amount in the hash and
  their sum in the hash's ``_sum`` field. Admission holds the estimate;
  release replaces it by the real count (while the entry is in the window);
- ``ss:llm:conc:{s}``: concurrency leases scored by when they lapse, so a
  process that dies mid-call gives its slots back after ``lease_seconds``.

Admission is one Lua script over every scope: all limits are checked before
anything is counted, so a refused call leaves no trace anywhere. Release is
one script too. Redis errors refuse the call (fail closed), as
adapters/redis/rate_limiter.py does.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.llm_governance import Admission, CallLimiter
from domain.common.errors import StorageUnavailable
from domain.llm.errors import LimitExceeded
from domain.llm.governance import Limits

WINDOW_MS = 60_000

# KEYS: rpm, tpm, amounts, conc per scope. ARGV: now_ms, window_ms, token,
# estimate, lease_until_ms, then rpm, tpm, conc per scope (0: none).
# Returns {1} admitted, or {0, scope index, limit name, ms to wait (-1: never)}.
ADMIT = """
local now, window, token = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local estimate, lease_until = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = #KEYS / 4

local function limits(i)
  return tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i]), tonumber(ARGV[5 + 3 * i])
end

local function prune_tokens(t, a)
  local old = redis.call('ZRANGEBYSCORE', t, '-inf', now - window)
  if #old == 0 then return end
  local freed = 0
  for _, member in ipairs(old) do
    local amount = redis.call('HGET', a, member)
    if amount then
      freed = freed + tonumber(amount)
      redis.call('HDEL', a, member)
    end
  end
  redis.call('ZREMRANGEBYSCORE', t, '-inf', now - window)
  redis.call('HINCRBY', a, '_sum', -freed)
end

for i = 1, n do
  local r, t, a, c = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local rpm, tpm, conc = limits(i)
  if rpm > 0 then
    redis.call('ZREMRANGEBYSCORE', r, '-inf', now - window)
    if redis.call('ZCARD', r) >= rpm then
      local oldest = redis.call('ZRANGE', r, 0, 0, 'WITHSCORES')
      return {0, i, 'requests_per_minute', tonumber(oldest[2]) + window - now}
    end
  end
  if tpm > 0 then
    if estimate > tpm then return {0, i, 'tokens_per_minute', -1} end
    prune_tokens(t, a)
    local used = tonumber(redis.call('HGET', a, '_sum') or '0')
    if used + estimate > tpm then
      local excess, wait = used + estimate - tpm, window
      local entries = redis.call('ZRANGE', t, 0, -1, 'WITHSCORES')
      for j = 1, #entries, 2 do
        excess = excess - tonumber(redis.call('HGET', a, entries[j]) or '0')
        if excess <= 0 then
          wait = tonumber(entries[j + 1]) + window - now
          break
        end
      end
      return {0, i, 'tokens_per_minute', wait}
    end
  end
  if conc > 0 then
    redis.call('ZREMRANGEBYSCORE', c, '-inf', now)
    if redis.call('ZCARD', c) >= conc then return {0, i, 'max_concurrent', 1000} end
  end
end

for i = 1, n do
  local r, t, a, c = KEYS[4 * i - 3], KEYS[4 * i - 2], KEYS[4 * i - 1], KEYS[4 * i]
  local rpm, tpm, conc = limits(i)
  if rpm > 0 then
    redis.call('ZADD', r, now, token)
    redis.call('PEXPIRE', r, window)
  end
  if tpm > 0 then
    redis.call('ZADD', t, now, token)
    redis.call('HSET', a, token, estimate)
    redis.call('HINCRBY', a, '_sum', estimate)
    redis.call('PEXPIRE', t, window)
    redis.call('PEXPIRE', a, window)
  end
  if conc > 0 then
    redis.call('ZADD', c, lease_until, token)
    redis.call('PEXPIRE', c, math.max(1, lease_until - now))
  end
end
return {1}
"""

# KEYS: tpm, amounts, conc per scope. ARGV: token, actual tokens.
RELEASE = """
local token, actual = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS / 3 do
  local a, c = KEYS[3 * i - 1], KEYS[3 * i]
  redis.call('ZREM', c, token)
  local estimate = redis.call('HGET', a, token)
  if estimate then
    redis.call('HSET', a, token, actual)
    redis.call('HINCRBY', a, '_sum', actual - tonumber(estimate))
  end
end
return 1
"""

_NAMES = {
    "requests_per_minute": "requests per minute",
    "tokens_per_minute": "tokens per minute",
    "max_concurrent": "concurrent requests",
}


def _keys(scope: str) -> tuple[str, str, str, str]:
    tokens = f"ss:llm:tpm:{{{scope}}}"
    return f"ss:llm:rpm:{{{scope}}}", tokens, f"{tokens}:amounts", f"ss:llm:conc:{{{scope}}}"


def _owner(scope: str) -> str:
    return "This API key's" if scope.startswith("key:") else "The workspace's"


def _limit_of(limits: Limits, name: str) -> int:
    value = getattr(limits, name)
    return int(value) if value else 0


class RedisCallLimiter(CallLimiter):
    def __init__(
        self,
        redis: Redis,
        *,
        lease_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lease_ms = int(lease_seconds * 1000)
        self._clock = clock
        self._admit = redis.register_script(ADMIT)
        self._release = redis.register_script(RELEASE)

    def prepare(
        self, scopes: tuple[tuple[str, Limits], ...], estimated_tokens: int
    ) -> PreparedAdmission:
        """The keys and arguments of ADMIT (``counted`` empty: nothing to count)."""
        token = uuid.uuid4().hex
        estimate = max(0, estimated_tokens)
        counted = tuple((scope, limits) for scope, limits in scopes if not limits.unlimited)
        now = round(self._clock() * 1000)
        keys: list[str] = []
        args: list[Any] = [now, WINDOW_MS, token, estimate, now + self._lease_ms]
        for scope, limits in counted:
            keys += _keys(scope)
            args += [_limit_of(limits, name) for name in _NAMES]
        admission = Admission(
            scopes=tuple(scope for scope, _ in counted), reserved_tokens=estimate, token=token
        )
        return PreparedAdmission(admission, counted, keys, args)

    async def admit(
        self, scopes: tuple[tuple[str, Limits], ...], estimated_tokens: int
    ) -> Admission:
        prepared = self.prepare(scopes, estimated_tokens)
        if not prepared.counted:
            return prepared.admission
        try:
            result = await self._admit(keys=prepared.keys, args=prepared.args)
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The rate limiter is unavailable; try again.") from exc
        return admitted(prepared, result)

    @staticmethod
    def release_call(admission: Admission, actual_tokens: int) -> tuple[list[str], list[Any]]:
        """The keys and arguments of RELEASE."""
        keys: list[str] = []
        for scope in admission.scopes:
            keys += _keys(scope)[1:]
        return keys, [admission.token, max(0, actual_tokens)]

    async def release(self, admission: Admission, actual_tokens: int) -> None:
        if not admission.scopes:
            return
        keys, args = self.release_call(admission, actual_tokens)
        try:
            await self._release(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The rate limiter is unavailable; try again.") from exc


@dataclass(frozen=True, slots=True)
class PreparedAdmission:
    admission: Admission  # what a positive answer gives
    counted: tuple[tuple[str, Limits], ...]
    keys: list[str]
    args: list[Any]


def admitted(prepared: PreparedAdmission, result: list[Any]) -> Admission:
    """The admission ADMIT answered, or the refusal it stands for."""
    if int(result[0]) == 1:
        return prepared.admission
    estimate = prepared.admission.reserved_tokens
    scope, limits = prepared.counted[int(result[1]) - 1]
    name = result[2].decode() if isinstance(result[2], bytes) else str(result[2])
    wait_ms = int(result[3])
    limit = _limit_of(limits, name)
    if wait_ms < 0:
        raise LimitExceeded(
            f"This request may use up to {estimate} tokens, more than "
            f"{_owner(scope).lower()} limit of {limit} tokens per minute; "
            "lower max_tokens or the input.",
            retry_after=60,
        )
    retry_after = max(1, math.ceil(wait_ms / 1000))
    raise LimitExceeded(
        f"{_owner(scope)} limit of {limit} {_NAMES[name]} is reached; retry in {retry_after} s.",
        retry_after=retry_after,
    )
