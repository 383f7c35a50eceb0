"""Test session: real PostgreSQL and Redis, started once, only when a test needs them.

Set TEST_DATABASE_URL / TEST_REDIS_URL to use servers of your own instead.
Between tests every table is truncated and Redis flushed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import create_engine
from adapters.postgres.tables import metadata
from entrypoints.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from entrypoints.cli.migrate import upgrade
from entrypoints.config import Settings

# Timing is not what these tests judge: a loaded CI machine must not fail them.
hypothesis_settings.register_profile(
    "synapscale", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("synapscale")

TEST_JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"


@dataclass(frozen=True)
class Servers:
    database_url: str
    redis_url: str
    scratch: Path


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    scratch = Path(tempfile.mkdtemp(prefix="synapscale-test-"))
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        database_url = os.environ.get("TEST_DATABASE_URL", "")
        if not database_url:
            postgres = EmbeddedPostgres(scratch / "postgres")
            started.append(postgres)
            database_url = postgres.start()
        redis_url = os.environ.get("TEST_REDIS_URL", "")
        if not redis_url:
            redis = EmbeddedRedis(scratch / "redis")
            started.append(redis)
            redis_url = redis.start()
        upgrade(database_url)
        yield Servers(database_url, redis_url, scratch)
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)


def make_settings(servers: Servers, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": servers.database_url,
        "redis_url": servers.redis_url,
        "jwt_secret": TEST_JWT_SECRET,
        "argon2_time_cost": 2,
        "argon2_memory_kib": 19_456,
        "argon2_parallelism": 1,
        "mail_backend": "file",
        "mail_dir": str(servers.scratch / "mail"),
        "outbox_poll_seconds": 0.05,
        "db_pool_size": 5,
        "log_level": "WARNING",
    }
    values.update(overrides)
    settings = Settings(**values)  # type: ignore[arg-type]
    settings.check()
    return settings


@pytest.fixture(scope="session")
def settings(servers: Servers) -> Settings:
    return make_settings(servers)


@pytest.fixture(scope="session")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(servers.database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def redis(servers: Servers) -> AsyncIterator[Redis]:
    client = Redis.from_url(servers.redis_url)
    yield client
    await client.aclose()


TABLES = ", ".join(table.name for table in metadata.sorted_tables)


@pytest.fixture
async def clean(engine: AsyncEngine, redis: Redis, servers: Servers) -> None:
    """Every test that touches the servers starts from empty tables and an empty Redis."""
    for attempt in range(5):
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {TABLES} CASCADE"))
            break
        except DBAPIError as exc:  # a gateway's usage writer inserting meanwhile
            if "deadlock" not in str(exc) or attempt == 4:
                raise
            await asyncio.sleep(0.05)
    await redis.flushdb()
    shutil.rmtree(servers.scratch / "mail", ignore_errors=True)
