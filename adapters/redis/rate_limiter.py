from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.rate_limit import RateLimitDecision, RateLimiter
from domain.common.errors import StorageUnavailable

# Sliding-window log, decided inside Redis so concurrent requests cannot race:
# KEYS[1] the log (a sorted set of request times); ARGV: now_ms, window_ms,
# limit, member. Returns {allowed, count, ms until the oldest entry leaves}.
_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
local allowed = 0
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  count = count + 1
  allowed = 1
end
redis.call('PEXPIRE', key, window)
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local reset = window
if oldest[2] then reset = tonumber(oldest[2]) + window - now end
return {allowed, count, reset}
"""


class RedisRateLimiter(RateLimiter):
    """An exact sliding window: of N concurrent requests against a limit L,
    exactly L pass, whatever the replica. One Lua script rather than a
    library: the rule is ten lines, and the script's result also gives the
    ``RateLimit-*`` header values in the same round trip.
    """

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> RateLimitDecision:
        now_ms = time.time_ns() // 1_000_000
        try:
            allowed, count, reset_ms = await self._script(
                keys=[f"ss:rate:{key}"],
                args=[now_ms, window_seconds * 1000, limit, f"{now_ms}:{uuid.uuid4().hex}"],
            )
        except (RedisError, OSError) as exc:
            raise StorageUnavailable("The rate limiter is unavailable; try again.") from exc
        return RateLimitDecision(
            allowed=bool(allowed),
            limit=limit,
            remaining=max(0, limit - int(count)),
            reset_after=max(0.0, int(reset_ms) / 1000),
        )
