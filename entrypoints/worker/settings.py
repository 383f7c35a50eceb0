"""The arq worker: relays the outbox and runs background jobs.

Start it with ``make worker`` (or ``arq entrypoints.worker.settings.WorkerSettings``).
It builds the same dishka container as the HTTP app. The outbox relay runs
as a loop inside the worker process; retries with backoff for failed
deliveries are the relay's (see ``adapters.postgres.outbox``).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from arq import Retry, cron
from arq.connections import RedisSettings
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.maintenance import Pruner, flush_key_usage
from adapters.postgres.outbox import OutboxRelay
from adapters.redis.usage import RedisUsageRecorder
from application.commands.files.release_blobs import ReleaseBlobs, ReleaseBlobsHandler
from application.ports.system import Clock
from domain.common.errors import StorageUnavailable
from entrypoints.config import Settings, load_settings
from entrypoints.ioc.container import build_container
from entrypoints.ioc.infrastructure import JobOriginProvider
from entrypoints.observability import configure_logging
from entrypoints.worker.events import EventDispatcher

log = structlog.get_logger(__name__)


async def relay_forever(relay: OutboxRelay, poll_seconds: float) -> None:
    """Drain the outbox, sleep while it is empty; survive any outage."""
    failures = 0
    while True:
        try:
            if await relay.drain() == 0:
                await asyncio.sleep(poll_seconds)
            failures = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the relay must outlive outages
            failures += 1
            log.warning("outbox.relay_unavailable", error=type(exc).__name__, failures=failures)
            await asyncio.sleep(min(30.0, poll_seconds * 2**failures))


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    container = build_container(settings, JobOriginProvider())
    ctx["container"] = container
    relay = OutboxRelay(
        await container.get(AsyncEngine),
        EventDispatcher(container),
        await container.get(Clock),
        max_attempts=settings.outbox_max_attempts,
    )
    ctx["relay_task"] = asyncio.create_task(relay_forever(relay, settings.outbox_poll_seconds))
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.host)
    log.info("worker.started")


async def shutdown(ctx: dict[str, Any]) -> None:
    task: asyncio.Task[None] | None = ctx.get("relay_task")
    if task is not None:
        # A delivery cut short rolls back: its event stays due and is redelivered.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    container = ctx.get("container")
    if container is not None:  # None when startup itself failed
        await container.close()
    log.info("worker.stopped")


async def prune_expired(ctx: dict[str, Any]) -> dict[str, int]:
    """Hourly clean-up; retried with backoff while the database is away."""
    container = ctx["container"]
    try:
        pruned = await Pruner(await container.get(AsyncEngine)).prune(
            (await container.get(Clock)).now()
        )
    except StorageUnavailable as exc:
        raise Retry(defer=min(300, 5 * 2 ** ctx.get("job_try", 1))) from exc
    log.info("maintenance.pruned", **vars(pruned))
    return dict(vars(pruned))


async def reconcile_blobs(ctx: dict[str, Any]) -> int:
    """Delete blobs no version row references (an upload killed midway, a lost event)."""
    container = ctx["container"]
    async with container() as request:
        handler = await request.get(ReleaseBlobsHandler)
        removed = await handler.execute(ReleaseBlobs())
    if removed:
        log.info("files.stray_blobs_removed", count=removed)
    return int(removed)


async def flush_api_key_usage(ctx: dict[str, Any]) -> int:
    """Write the API keys' batched ``last_used_at`` to the database."""
    container = ctx["container"]
    usage = await (await container.get(RedisUsageRecorder)).take_all()
    try:
        return await flush_key_usage(await container.get(AsyncEngine), usage)
    except StorageUnavailable:
        recorder = await container.get(RedisUsageRecorder)
        for key_id, at in usage.items():  # put them back for the next run
            await recorder.api_key_used(key_id, at)
        raise


def worker_settings(settings: Settings) -> dict[str, Any]:
    return {
        "functions": [],
        "cron_jobs": [
            cron(
                prune_expired,
                minute=17,
                second=0,
                unique=True,
                timeout=600,
                max_tries=5,
            ),
            cron(
                reconcile_blobs,
                minute=47,
                second=0,
                unique=True,
                timeout=1800,
                max_tries=3,
            ),
            cron(
                flush_api_key_usage,
                second={0, 10, 20, 30, 40, 50},
                unique=True,
                timeout=60,
                run_at_startup=True,
            ),
        ],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        "ctx": {"settings": settings},
        "max_jobs": settings.worker_concurrency,
        "job_completion_wait": 20,
        "max_tries": 5,
        "health_check_interval": 30,
    }


def __getattr__(name: str) -> Any:
    """``WorkerSettings``, built on first use so importing this module reads no settings."""
    if name == "WorkerSettings":
        return type("WorkerSettings", (), worker_settings(load_settings()))
    raise AttributeError(name)
