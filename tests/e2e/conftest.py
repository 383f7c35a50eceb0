from __future__ import annotations

import asyncio
import contextlib
import email
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config import Settings
from entrypoints.http.app import create_app
from entrypoints.worker.settings import shutdown, worker_settings


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar, clean: None) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        yield client


@pytest.fixture
async def worker(settings: Settings, clean: None) -> AsyncIterator[Worker]:
    """The real arq worker, relaying the outbox in the background of one test."""
    worker = Worker(**worker_settings(settings), handle_signals=False, poll_delay=0.05)
    task = asyncio.create_task(worker.async_run())
    yield worker
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # Jobs cut short by the stop end in CancelledError: expected, not a failure.
    with contextlib.suppress(asyncio.CancelledError):
        await worker.close()
    # close() skips on_shutdown when a cancelled job interrupts it: the outbox
    # relay must not outlive this test and deliver other tests' events.
    relay = worker.ctx.get("relay_task")
    if relay is not None and not relay.done():
        await shutdown(worker.ctx)


class Mailbox:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def messages(self) -> list[email.message.Message]:
        if not self.directory.exists():
            return []
        return [
            email.message_from_bytes(path.read_bytes())
            for path in sorted(self.directory.glob("*.eml"))
        ]

    async def wait_for(
        self, to: str, subject_contains: str, *, count: int = 1
    ) -> email.message.Message:
        for _ in range(200):
            found = [
                m
                for m in self.messages()
                if m["To"] == to and subject_contains.lower() in str(m["Subject"]).lower()
            ]
            if len(found) >= count:
                return found[count - 1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail '{subject_contains}' for {to} within 10 s")

    async def token(self, to: str, subject_contains: str, *, count: int = 1) -> str:
        message = await self.wait_for(to, subject_contains, count=count)
        body = message.get_payload(decode=True)
        assert isinstance(body, bytes)
        match = re.search(r"token=([\w-]+)", body.decode())
        assert match, body
        return match.group(1)


@pytest.fixture
def mailbox(settings: Settings, worker: Worker, clean: None) -> Mailbox:
    return Mailbox(settings.mail_path)


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
