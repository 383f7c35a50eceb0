from __future__ import annotations

import asyncio

from arq.worker import Worker

from entrypoints.config import Settings
from entrypoints.worker.settings import worker_settings


def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM; running jobs get ``job_completion_wait`` to finish."""
    asyncio.run(_run(settings))


async def _run(settings: Settings) -> None:
    worker = Worker(**worker_settings(settings))
    try:
        await worker.main()
    finally:
        await worker.close()
