"""SessionCache: InMemorySessionCache and RedisSessionCache answer alike."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid4

import pytest
from redis.asyncio import Redis

from adapters.redis.session_cache import RedisSessionCache
from application.ports.identity import SessionCache
from domain.identity.ids import SessionId
from tests.fakes.identity import InMemorySessionCache
from tests.fakes.system import FakeClock
from tests.integration.contracts.conftest import closed_port

pytestmark = pytest.mark.integration

ACTIVE_TTL = 1
REVOKED_TTL = 2


@dataclass
class Subject:
    cache: SessionCache
    clock: FakeClock | None  # None: real time passes

    async def elapse(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds=seconds)
        else:
            await asyncio.sleep(seconds)


@pytest.fixture(params=["in_memory", "redis"])
def subject(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Subject]:
    if request.param == "in_memory":
        yield Subject(
            InMemorySessionCache(clock, active_ttl=ACTIVE_TTL, revoked_ttl=REVOKED_TTL), clock
        )
    else:
        redis: Redis = request.getfixturevalue("redis")
        request.getfixturevalue("clean")
        yield Subject(
            RedisSessionCache(redis, active_ttl=ACTIVE_TTL, revoked_ttl=REVOKED_TTL), None
        )


def sid() -> SessionId:
    return SessionId(uuid4())


async def test_an_unknown_session_has_no_answer(subject: Subject) -> None:
    assert await subject.cache.is_active(sid()) is None


async def test_a_remembered_session_is_active(subject: Subject) -> None:
    session = sid()
    await subject.cache.remember_active(session)
    assert await subject.cache.is_active(session) is True


async def test_a_forgotten_session_is_not_active(subject: Subject) -> None:
    session = sid()
    await subject.cache.remember_active(session)
    await subject.cache.forget([session])
    assert await subject.cache.is_active(session) is False


async def test_a_revocation_wins_over_a_later_remember_active(subject: Subject) -> None:
    session = sid()
    await subject.cache.forget([session])
    await subject.cache.remember_active(session)
    assert await subject.cache.is_active(session) is False


async def test_forget_records_every_session_given(subject: Subject) -> None:
    sessions = [sid() for _ in range(3)]
    other = sid()
    await subject.cache.remember_active(other)
    await subject.cache.forget(sessions)
    assert [await subject.cache.is_active(s) for s in sessions] == [False, False, False]
    assert await subject.cache.is_active(other) is True


async def test_forgetting_nothing_is_fine(subject: Subject) -> None:
    await subject.cache.forget([])


async def test_a_remembered_session_is_forgotten_after_its_ttl(subject: Subject) -> None:
    session = sid()
    await subject.cache.remember_active(session)
    await subject.elapse(ACTIVE_TTL + 0.2)
    assert await subject.cache.is_active(session) is None


async def test_a_revocation_outlives_the_active_ttl_until_its_own(subject: Subject) -> None:
    session = sid()
    await subject.cache.forget([session])
    await subject.elapse(ACTIVE_TTL + 0.2)
    assert await subject.cache.is_active(session) is False
    await subject.elapse(REVOKED_TTL - ACTIVE_TTL)
    assert await subject.cache.is_active(session) is None


async def test_an_unreachable_redis_gives_no_answer_and_raises_nothing() -> None:
    client = Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5)
    cache = RedisSessionCache(client, active_ttl=ACTIVE_TTL, revoked_ttl=REVOKED_TTL)
    try:
        session = sid()
        await cache.remember_active(session)
        await cache.forget([session])
        assert await cache.is_active(session) is None
    finally:
        await client.aclose()


async def test_an_unavailable_fake_cache_behaves_like_an_unreachable_redis(
    clock: FakeClock,
) -> None:
    cache = InMemorySessionCache(clock, available=False)
    session = sid()
    await cache.remember_active(session)
    await cache.forget([session])
    assert await cache.is_active(session) is None
