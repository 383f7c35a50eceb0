"""Access changes announced over real Redis pub/sub reach every process's key cache."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from adapters.redis.access_changes import (
    CHANNEL,
    RedisAccessChanges,
    listen_for_access_changes,
)
from domain.tenancy.ids import WorkspaceId


class Forgotten:
    def __init__(self) -> None:
        self.seen: list[WorkspaceId | None] = []
        self.arrived = asyncio.Event()

    def __call__(self, workspace_id: WorkspaceId | None) -> None:
        self.seen.append(workspace_id)
        self.arrived.set()

    async def next(self) -> WorkspaceId | None:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.seen[-1]


@pytest.fixture
async def listening(redis: Redis) -> AsyncIterator[Forgotten]:
    """Another replica: its listener, subscribed, with the start-up forget seen."""
    forgotten = Forgotten()
    task = asyncio.create_task(listen_for_access_changes(redis, forgotten))
    assert await forgotten.next() is None  # (re)subscribed: everything forgotten
    yield forgotten
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_an_announcement_reaches_the_other_replicas(
    redis: Redis, listening: Forgotten
) -> None:
    here = Forgotten()
    workspace = WorkspaceId(uuid.uuid4())
    await RedisAccessChanges(redis, here).changed(workspace)
    assert here.seen == [workspace]  # this process first, before Redis delivers
    assert await listening.next() == workspace


async def test_an_announcement_for_everywhere_forgets_everything(
    redis: Redis, listening: Forgotten
) -> None:
    await RedisAccessChanges(redis, Forgotten()).changed(None)
    assert await listening.next() is None


async def test_an_unreadable_message_forgets_everything(redis: Redis, listening: Forgotten) -> None:
    await redis.publish(CHANNEL, b"not a workspace id")
    assert await listening.next() is None


async def test_a_lost_connection_forgets_everything_and_listens_again(
    redis: Redis, listening: Forgotten
) -> None:
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    assert await listening.next() is None
    await asyncio.sleep(1.5)  # the listener is back (it retries after a second)
    workspace = WorkspaceId(uuid.uuid4())
    deadline = asyncio.get_running_loop().time() + 10
    while workspace not in listening.seen:
        assert asyncio.get_running_loop().time() < deadline, listening.seen
        await redis.publish(CHANNEL, str(workspace))
        await asyncio.sleep(0.2)


async def test_announcing_survives_redis_refusing(listening: Forgotten) -> None:
    here = Forgotten()
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    workspace = WorkspaceId(uuid.uuid4())
    await RedisAccessChanges(dead, here).changed(workspace)  # committed already: no raise
    assert here.seen == [workspace]
    await dead.aclose()
