"""Announcements that who may act in a workspace changed, over Redis pub/sub.

Every process keeps the API keys it has seen (application.common.api_keys);
an announcement makes each of them forget the workspace's keys. The
announcing process forgets before it publishes, so its own next request is
right even if Redis is slow to deliver.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from application.ports.tenancy import AccessChanges
from domain.tenancy.ids import WorkspaceId

log = structlog.get_logger(__name__)

CHANNEL = "ss:access-changed"
EVERYWHERE = b"*"

Forget = Callable[[WorkspaceId | None], None]


class RedisAccessChanges(AccessChanges):
    def __init__(self, redis: Redis, forget: Forget) -> None:
        self._redis = redis
        self._forget = forget

    async def changed(self, workspace_id: WorkspaceId | None) -> None:
        self._forget(workspace_id)
        try:
            await self._redis.publish(
                CHANNEL, str(workspace_id).encode() if workspace_id else EVERYWHERE
            )
        except (RedisError, OSError):
            # The change is committed; other replicas catch up within the cache's TTL.
            log.error("access_change.not_announced", workspace_id=str(workspace_id))


async def listen_for_access_changes(
    redis: Redis, forget: Forget, *, poll_seconds: float = 5.0, retry_seconds: float = 1.0
) -> None:
    """Forget what each announcement names, until cancelled. Once (re)subscribed
    everything is forgotten: announcements sent while not listening are lost."""
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                forget(None)
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=poll_seconds
                    )
                    if message is not None and message["type"] == "message":
                        forget(_workspace(message["data"]))
        except (RedisError, OSError) as exc:
            log.warning("access_change.listener_down", error=type(exc).__name__)
            forget(None)
            await asyncio.sleep(retry_seconds)


def _workspace(data: bytes) -> WorkspaceId | None:
    if data == EVERYWHERE:
        return None
    try:
        return WorkspaceId(UUID(data.decode()))
    except ValueError:
        return None  # not ours to read: forget everything, the safe side
