from __future__ import annotations

import hashlib

from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.identity import LoginThrottle
from domain.common.errors import StorageUnavailable

# KEYS: counters; ARGV: limit per key, in order. Returns the longest wait, 0 if none.
_RETRY_AFTER = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
return wait
"""

# KEYS: counters; ARGV[1]: window in ms, then the limit per key. Refuses
# (returns the wait) when a key is at its limit; otherwise counts on every key.
# The window starts at the first attempt.
_ATTEMPT = """
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 0
"""

# KEYS[1] the account: cleared; KEYS[2..] un-counted once.
_FORGIVE = """
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
"""


class RedisLoginThrottle(LoginThrottle):
    """Fixed windows of sign-in attempts per account and per client address.

    Keys are hashed so no address or email sits in Redis in clear. When Redis
    is unreachable the throttle fails closed (503) rather than allowing
    unlimited guessing.
    """

    def __init__(
        self, redis: Redis, *, window_seconds: int, per_account: int, per_address: int
    ) -> None:
        self._redis = redis
        self._window_ms = window_seconds * 1000
        self._limits = {"account": per_account, "address": per_address}
        self._retry_after = redis.register_script(_RETRY_AFTER)
        self._attempt = redis.register_script(_ATTEMPT)
        self._forgive = redis.register_script(_FORGIVE)

    def _key(self, key: str) -> str:
        return "ss:login-failures:" + hashlib.sha256(key.encode()).hexdigest()[:32]

    def _limit(self, key: str) -> int:
        return self._limits.get(key.split(":", 1)[0], self._limits["address"])

    async def retry_after(self, keys: list[str]) -> int | None:
        try:
            wait_ms = int(
                await self._retry_after(
                    keys=[self._key(k) for k in keys], args=[self._limit(k) for k in keys]
                )
            )
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The sign-in throttle is unavailable; try again.") from exc
        return -(-wait_ms // 1000) if wait_ms > 0 else None

    async def attempt(self, keys: list[str]) -> int | None:
        try:
            wait_ms = int(
                await self._attempt(
                    keys=[self._key(k) for k in keys],
                    args=[self._window_ms, *(self._limit(k) for k in keys)],
                )
            )
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The sign-in throttle is unavailable; try again.") from exc
        return -(-wait_ms // 1000) if wait_ms > 0 else None

    async def forgive(self, keys: list[str]) -> None:
        try:
            await self._forgive(keys=[self._key(k) for k in keys])
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The sign-in throttle is unavailable; try again.") from exc

    async def clear(self, key: str) -> None:
        try:
            await self._redis.delete(self._key(key))
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The sign-in throttle is unavailable; try again.") from exc
