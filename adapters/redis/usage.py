from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.rate_limit import UsageRecorder
from domain.identity.api_key import ApiKeyId

log = structlog.get_logger(__name__)
KEY = "ss:api-key-last-used"

# Keep the latest use: a use noted late never replaces a newer one.
_NOTE = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current or tonumber(current) < tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
return 0
"""

# Take the whole hash atomically, so uses noted meanwhile go to the next batch.
_TAKE = """
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
"""


class RedisUsageRecorder(UsageRecorder):
    """Notes key uses in one Redis hash (no database write); the worker
    flushes it to ``api_keys.last_used_at`` in one statement.

    A process notes a key at most once per ``resolution`` seconds: a busy key
    would otherwise cost a Redis round trip on every request, for a time
    nobody reads finer than that.
    """

    def __init__(self, redis: Redis, resolution: float = 1.0) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE)
        self._note = redis.register_script(_NOTE)
        self._resolution = resolution
        self._noted: dict[ApiKeyId, float] = {}

    async def api_key_used(self, key_id: ApiKeyId, at: datetime) -> None:
        stamp = at.timestamp()
        last = self._noted.get(key_id)
        if last is not None and last <= stamp < last + self._resolution:
            return
        if len(self._noted) >= 10_000:
            self._noted.clear()
        self._noted[key_id] = stamp
        try:
            await self._note(keys=[KEY], args=[str(key_id), repr(at.timestamp())])
        except (RedisError, OSError):
            log.warning("api_key_usage.not_recorded")

    async def pending_last_used(self, key_ids: list[ApiKeyId]) -> dict[ApiKeyId, datetime]:
        if not key_ids:
            return {}
        try:
            values = await self._redis.hmget(KEY, [str(k) for k in key_ids])  # type: ignore[misc]
        except (RedisError, OSError):
            return {}
        return {
            key: datetime.fromtimestamp(float(value), UTC)
            for key, value in zip(key_ids, values, strict=True)
            if value is not None
        }

    async def take_all(self) -> dict[ApiKeyId, datetime]:
        flat = await self._take(keys=[KEY])
        pairs = zip(flat[::2], flat[1::2], strict=True)
        return {ApiKeyId(UUID(k.decode())): datetime.fromtimestamp(float(v), UTC) for k, v in pairs}
