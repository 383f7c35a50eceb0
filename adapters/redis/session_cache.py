from __future__ import annotations

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.identity import SessionCache
from domain.identity.ids import SessionId

log = structlog.get_logger(__name__)

_ACTIVE, _REVOKED = b"1", b"0"


class RedisSessionCache(SessionCache):
    """``ss:session:<id>`` is ``1`` (live) for a short while, or ``0`` (revoked)
    for as long as any access token of it could still be unexpired.

    Every API replica shares it, so a revocation is seen by all of them at
    once. When Redis fails, checks fall back to the database (``None``).
    """

    def __init__(self, redis: Redis, *, active_ttl: int, revoked_ttl: int) -> None:
        self._redis = redis
        self._active_ttl = active_ttl
        self._revoked_ttl = revoked_ttl

    @staticmethod
    def _key(session_id: SessionId) -> str:
        return f"ss:session:{session_id}"

    async def is_active(self, session_id: SessionId) -> bool | None:
        try:
            value = await self._redis.get(self._key(session_id))
        except (RedisError, OSError):
            log.warning("session_cache.unavailable")
            return None
        if value is None:
            return None
        return bool(value == _ACTIVE)

    async def remember_active(self, session_id: SessionId) -> None:
        # NX: a revocation written meanwhile must win over this stale "live".
        try:
            await self._redis.set(self._key(session_id), _ACTIVE, ex=self._active_ttl, nx=True)
        except (RedisError, OSError):
            log.warning("session_cache.unavailable")

    async def forget(self, session_ids: list[SessionId]) -> None:
        if not session_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for session_id in session_ids:
                    pipe.set(self._key(session_id), _REVOKED, ex=self._revoked_ttl)
                await pipe.execute()
        except (RedisError, OSError):
            log.error("session_cache.revocation_not_cached", sessions=len(session_ids))
