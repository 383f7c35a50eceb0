from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.tables import audit_log
from adapters.redis.rate_limiter import RedisRateLimiter
from adapters.system import SystemClock
from domain.common.errors import StorageUnavailable

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("clean")]


async def one_entry(engine: AsyncEngine) -> uuid.UUID:
    entry_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            insert(audit_log).values(
                id=entry_id,
                occurred_at=SystemClock().now(),
                actor_type="user",
                action="auth.login_succeeded",
                metadata={},
            )
        )
    return entry_id


async def test_the_database_refuses_to_update_an_audit_entry(engine: AsyncEngine) -> None:
    entry_id = await one_entry(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(
                update(audit_log).where(audit_log.c.id == entry_id).values(action="forged")
            )
    async with engine.connect() as conn:
        action = await conn.scalar(select(audit_log.c.action).where(audit_log.c.id == entry_id))
    assert action == "auth.login_succeeded"


async def test_the_database_refuses_to_delete_an_audit_entry(engine: AsyncEngine) -> None:
    await one_entry(engine)
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(delete(audit_log))
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(audit_log)) == 1
        # Not even a raw statement gets through.
    with pytest.raises(DBAPIError, match="append-only"):
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log"))


async def test_a_thousand_concurrent_hits_against_a_limit_of_ten_let_exactly_ten_through(
    redis: Redis,
) -> None:
    limiter = RedisRateLimiter(redis)
    decisions = await asyncio.gather(
        *(limiter.hit("key:exact", limit=10, window_seconds=60) for _ in range(1000))
    )
    assert sum(d.allowed for d in decisions) == 10
    refused = [d for d in decisions if not d.allowed]
    assert all(d.remaining == 0 and 0 < d.reset_after <= 60 for d in refused)


async def test_limits_are_per_key(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    for key in ("a", "b"):
        assert (await limiter.hit(key, limit=1, window_seconds=60)).allowed
        assert not (await limiter.hit(key, limit=1, window_seconds=60)).allowed


async def test_the_window_slides(redis: Redis) -> None:
    limiter = RedisRateLimiter(redis)
    assert (await limiter.hit("slide", limit=1, window_seconds=1)).allowed
    assert not (await limiter.hit("slide", limit=1, window_seconds=1)).allowed
    await asyncio.sleep(1.05)
    assert (await limiter.hit("slide", limit=1, window_seconds=1)).allowed


async def test_the_limiter_fails_closed_when_redis_is_down() -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(StorageUnavailable):
        await RedisRateLimiter(unreachable).hit("x", limit=10, window_seconds=60)
    await unreachable.aclose()
