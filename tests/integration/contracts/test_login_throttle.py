"""LoginThrottle: InMemoryLoginThrottle and RedisLoginThrottle count alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from adapters.redis.login_throttle import RedisLoginThrottle
from application.ports.identity import LoginThrottle
from domain.common.errors import StorageUnavailable
from tests.fakes.identity import InMemoryLoginThrottle
from tests.fakes.system import FakeClock
from tests.integration.contracts.conftest import closed_port

pytestmark = pytest.mark.integration

PER_ACCOUNT = 3
PER_ADDRESS = 5
WINDOW = 60
SHORT_WINDOW = 1

ACCOUNT = "account:ada@example.com"
OTHER_ACCOUNT = "account:bob@example.com"
ADDRESS = "address:203.0.113.5"


@dataclass
class Subject:
    make: Callable[[int], LoginThrottle]  # window in seconds -> a throttle
    clock: FakeClock | None  # None: real time passes

    def throttle(self, window_seconds: int = WINDOW) -> LoginThrottle:
        return self.make(window_seconds)

    async def elapse(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds=seconds)
        else:
            await asyncio.sleep(seconds)


@pytest.fixture(params=["in_memory", "redis"])
def subject(request: pytest.FixtureRequest, clock: FakeClock) -> Iterator[Subject]:
    if request.param == "in_memory":

        def fake(window_seconds: int) -> LoginThrottle:
            return InMemoryLoginThrottle(
                clock,
                window_seconds=window_seconds,
                per_account=PER_ACCOUNT,
                per_address=PER_ADDRESS,
            )

        yield Subject(fake, clock)
    else:
        redis: Redis = request.getfixturevalue("redis")
        request.getfixturevalue("clean")

        def real(window_seconds: int) -> LoginThrottle:
            return RedisLoginThrottle(
                redis,
                window_seconds=window_seconds,
                per_account=PER_ACCOUNT,
                per_address=PER_ADDRESS,
            )

        yield Subject(real, None)


async def fail(throttle: LoginThrottle, keys: list[str], times: int) -> None:
    """Attempts that are allowed, then fail (so are never forgiven)."""
    for _ in range(times):
        assert await throttle.attempt(keys) is None


async def test_no_failures_means_no_wait(subject: Subject) -> None:
    assert await subject.throttle().retry_after([ACCOUNT, ADDRESS]) is None


async def test_failures_below_the_limit_pass(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 1)
    assert await throttle.retry_after([ACCOUNT]) is None


async def test_the_limit_th_failure_blocks_for_at_most_the_window(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT], PER_ACCOUNT)
    wait = await throttle.retry_after([ACCOUNT])
    assert wait is not None
    assert 0 < wait <= WINDOW


async def test_the_wait_is_in_whole_seconds_rounded_up(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT], PER_ACCOUNT)
    assert await throttle.retry_after([ACCOUNT]) == WINDOW


async def test_a_blocked_key_blocks_any_attempt_naming_it(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT], PER_ACCOUNT)
    assert await throttle.retry_after([OTHER_ACCOUNT, ACCOUNT]) is not None
    assert await throttle.retry_after([OTHER_ACCOUNT, ADDRESS]) is None


async def test_address_keys_have_their_own_limit(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ADDRESS], PER_ACCOUNT)
    assert await throttle.retry_after([ADDRESS]) is None
    await fail(throttle, [ADDRESS], PER_ADDRESS - PER_ACCOUNT)
    assert await throttle.retry_after([ADDRESS]) is not None


async def test_keys_of_unknown_kind_use_the_address_limit(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, ["device:abc"], PER_ADDRESS - 1)
    assert await throttle.retry_after(["device:abc"]) is None
    await fail(throttle, ["device:abc"], 1)
    assert await throttle.retry_after(["device:abc"]) is not None


async def test_one_failure_counts_for_every_key_given(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT, ADDRESS], PER_ACCOUNT)
    assert await throttle.retry_after([ACCOUNT]) is not None
    assert await throttle.retry_after([ADDRESS]) is None
    await fail(throttle, [OTHER_ACCOUNT, ADDRESS], PER_ADDRESS - PER_ACCOUNT)
    assert await throttle.retry_after([ADDRESS]) is not None
    assert await throttle.retry_after([OTHER_ACCOUNT]) is None


async def test_clear_unblocks_the_account_key(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT], PER_ACCOUNT)
    await throttle.clear(ACCOUNT)
    assert await throttle.retry_after([ACCOUNT]) is None
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 1)
    assert await throttle.retry_after([ACCOUNT]) is None


async def test_clear_leaves_the_other_keys_counted(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT, ADDRESS], PER_ACCOUNT)
    await fail(throttle, [OTHER_ACCOUNT, ADDRESS], PER_ADDRESS - PER_ACCOUNT)
    await throttle.clear(ACCOUNT)
    assert await throttle.retry_after([ADDRESS]) is not None


async def test_a_blocked_attempt_is_refused_and_not_counted(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT, ADDRESS], PER_ACCOUNT)
    assert await throttle.attempt([ACCOUNT, ADDRESS]) == WINDOW
    await fail(throttle, [OTHER_ACCOUNT, ADDRESS], PER_ADDRESS - PER_ACCOUNT)
    assert await throttle.retry_after([ADDRESS]) is not None


async def test_concurrent_attempts_get_exactly_the_allowance(subject: Subject) -> None:
    throttle = subject.throttle()
    answers = await asyncio.gather(*(throttle.attempt([ACCOUNT, ADDRESS]) for _ in range(40)))
    assert sum(answer is None for answer in answers) == PER_ACCOUNT


async def test_forgiving_clears_the_account_and_uncounts_the_address(subject: Subject) -> None:
    throttle = subject.throttle()
    await fail(throttle, [ACCOUNT, ADDRESS], PER_ACCOUNT - 1)
    await fail(throttle, [OTHER_ACCOUNT, ADDRESS], PER_ADDRESS - PER_ACCOUNT)
    await throttle.forgive([ACCOUNT, ADDRESS])
    await fail(throttle, [ACCOUNT, ADDRESS], 1)
    assert await throttle.retry_after([ADDRESS]) is None  # 4 counted of 5
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 2)
    assert await throttle.retry_after([ACCOUNT]) is None


async def test_clearing_an_unknown_key_is_fine(subject: Subject) -> None:
    await subject.throttle().clear("account:nobody@example.com")


async def test_the_block_lifts_when_the_window_ends(subject: Subject) -> None:
    throttle = subject.throttle(SHORT_WINDOW)
    await fail(throttle, [ACCOUNT], PER_ACCOUNT)
    assert await throttle.retry_after([ACCOUNT]) == SHORT_WINDOW
    await subject.elapse(SHORT_WINDOW + 0.2)
    assert await throttle.retry_after([ACCOUNT]) is None


async def test_the_window_starts_at_the_first_failure(subject: Subject) -> None:
    throttle = subject.throttle(SHORT_WINDOW)
    await fail(throttle, [ACCOUNT], 1)
    await subject.elapse(0.6)
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 1)
    assert await throttle.retry_after([ACCOUNT]) == 1  # about 0.4 s left, rounded up
    await subject.elapse(0.6)
    assert await throttle.retry_after([ACCOUNT]) is None


async def test_the_count_starts_again_in_a_new_window(subject: Subject) -> None:
    throttle = subject.throttle(SHORT_WINDOW)
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 1)
    await subject.elapse(SHORT_WINDOW + 0.2)
    await fail(throttle, [ACCOUNT], PER_ACCOUNT - 1)
    assert await throttle.retry_after([ACCOUNT]) is None


@pytest.fixture
async def unreachable() -> AsyncIterator[RedisLoginThrottle]:
    client = Redis(host="127.0.0.1", port=closed_port(), socket_connect_timeout=0.5)
    yield RedisLoginThrottle(
        client, window_seconds=WINDOW, per_account=PER_ACCOUNT, per_address=PER_ADDRESS
    )
    await client.aclose()


async def test_an_unreachable_redis_fails_closed_on_check(
    unreachable: RedisLoginThrottle,
) -> None:
    with pytest.raises(StorageUnavailable):
        await unreachable.retry_after([ACCOUNT])


async def test_an_unreachable_redis_fails_closed_on_attempt(
    unreachable: RedisLoginThrottle,
) -> None:
    with pytest.raises(StorageUnavailable):
        await unreachable.attempt([ACCOUNT])


async def test_an_unreachable_redis_fails_closed_on_forgive(
    unreachable: RedisLoginThrottle,
) -> None:
    with pytest.raises(StorageUnavailable):
        await unreachable.forgive([ACCOUNT])


async def test_an_unreachable_redis_fails_closed_on_clear(
    unreachable: RedisLoginThrottle,
) -> None:
    with pytest.raises(StorageUnavailable):
        await unreachable.clear(ACCOUNT)
