from __future__ import annotations

import asyncio
import contextlib

from arq.worker import Worker

from entrypoints.config import Settings
from entrypoints.worker.settings import shutdown, worker_settings


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; running jobs get ``job_completion_wait`` to finish."""
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    worker = Worker(**worker_settings(settings))
    try:
        # async_run (not main) registers the task that the signal handlers cancel.
        with contextlib.suppress(asyncio.CancelledError):
            await worker.async_run()
    finally:
        with contextlib.suppress(asyncio.CancelledError):
            await worker.close()
        # close() skips on_shutdown when a cancelled job interrupts it.
        relay = worker.ctx.get("relay_task")
        if relay is not None and not relay.done():
            await shutdown(worker.ctx)
