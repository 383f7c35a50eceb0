"""Usage records, written off the request path in batches.

``record()`` only appends to an in-memory buffer. A background task (started
by the first record, on the running loop) writes the buffer in batches of at
most ``batch_size`` rows, one statement each: every ``flush_seconds``, or as
soon as a full batch is waiting.

A batch that fails to write stays in the buffer (in order, at the front) and
is retried with exponential backoff and jitter for as long as it takes.
Memory is bounded: past ``max_buffered`` records (50,000 by default) the
oldest are dropped, each counted (``on_dropped``, the metric
``synapscale_llm_usage_records_dropped_total``) and logged as an error (one
line every 10 s at most, with the count).
A batch the database *rejects* (a record it will never accept, such as one
whose workspace was deleted meanwhile) is split in halves until the bad
records are isolated; only those are dropped.

``aclose()`` stops the task and writes everything left, retrying for up to
``close_timeout`` seconds: nothing is lost on a graceful shutdown unless the
database stays away for that long (then the loss is counted and logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

import structlog

from application.ports.llm_usage import UsageSink
from domain.llm.usage import UsageRecord

log = structlog.get_logger(__name__)

DEFAULT_BATCH_SIZE = 500
# ~0.8 kB a record: 50,000 hold ~40 MB, about half a minute of outage at 1,500 calls/s.
DEFAULT_MAX_BUFFERED = 50_000
LOG_EVERY_SECONDS = 10.0


class BatchRejected(Exception):
    """The database refused the batch for what it holds (a constraint, a value
    out of range): retrying it unchanged can never succeed."""


class UsageBatchWriter(Protocol):
    async def write(self, records: Sequence[UsageRecord]) -> None:
        """Store the records in one statement; raise ``BatchRejected`` when the
        data itself is refused, anything else when the store is unavailable."""


class BufferedUsageSink(UsageSink):
    def __init__(
        self,
        writer: UsageBatchWriter,
        *,
        flush_seconds: float = 1.0,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
        on_dropped: Callable[[int], None] | None = None,
        retry_base_seconds: float = 0.5,
        retry_cap_seconds: float = 30.0,
        close_timeout: float = 10.0,
    ) -> None:
        if batch_size < 1 or max_buffered < batch_size:
            raise ValueError("need 1 <= batch_size <= max_buffered")
        if flush_seconds <= 0:
            raise ValueError("flush_seconds must be positive")
        self._writer = writer
        self._flush_seconds = flush_seconds
        self._batch_size = batch_size
        self._max_buffered = max_buffered
        self._on_dropped = on_dropped
        self._retry_base = retry_base_seconds
        self._retry_cap = retry_cap_seconds
        self._close_timeout = close_timeout
        self._buffer: deque[UsageRecord] = deque()
        self._task: asyncio.Task[None] | None = None
        # Made with the task, on its loop: (a full batch waits, stop now).
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._lock: asyncio.Lock | None = None
        self._failures = 0
        self._in_flight = 0
        self._closed = False
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        self.written = 0  # records stored since creation
        self.dropped = 0  # records given up since creation

    # -- the request path ----------------------------------------------------------------

    def record(self, record: UsageRecord) -> None:
        if self._closed:
            self._drop(1, reason="closed")
            return
        self._buffer.append(record)
        self._trim()
        self._ensure_started()
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    @property
    def pending(self) -> int:
        """Records not stored yet: buffered, or in the batch being written."""
        return len(self._buffer) + self._in_flight

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write everything buffered now; raises (keeping the records) if the store fails."""
        async with self._guard():
            while self._buffer:
                await self._write_next()

    async def aclose(self) -> None:
        """Stop the background task and write what is left; idempotent."""
        if self._closed:
            return
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            await self._stop(task)
        deadline = asyncio.get_running_loop().time() + self._close_timeout
        failures = 0
        while self._buffer:
            try:
                await self.flush()
            except Exception as exc:  # noqa: BLE001 - retried until the deadline
                failures += 1
                delay = self._backoff(failures)
                if asyncio.get_running_loop().time() + delay > deadline:
                    lost = len(self._buffer)
                    self._buffer.clear()
                    self._drop(lost, reason="shutdown", error=type(exc).__name__)
                    return
                await asyncio.sleep(delay)

    async def _stop(self, task: asyncio.Task[None]) -> None:
        """Let the task finish the write it is in, then end it."""
        wake, stopping = self._wake, self._stopping

        def signal() -> None:
            stopping.set()
            wake.set()

        loop = task.get_loop()
        if loop is asyncio.get_running_loop():
            signal()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif loop.is_running():  # started on another loop (a test client's thread)
            loop.call_soon_threadsafe(signal)

            async def finished() -> None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(finished(), loop))

    def _ensure_started(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop: aclose() or flush() writes the buffer
            return
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task = loop.create_task(self._run(), name="llm-usage-writer")

    async def _run(self) -> None:
        while not self._stopping.is_set():
            if len(self._buffer) < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._flush_seconds)
            self._wake.clear()
            if self._stopping.is_set():
                return  # aclose() writes what is left
            try:
                await self.flush()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the writer must outlive outages
                self._failures += 1
                delay = self._backoff(self._failures)
                log.warning(
                    "llm.usage_write_failed",
                    error=type(exc).__name__,
                    failures=self._failures,
                    pending=len(self._buffer),
                    retry_in=round(delay, 2),
                )
                # A full batch must not cut the backoff short; only aclose() may.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def _write_next(self) -> None:
        """Write the oldest batch. A rejected chunk is halved until the refused
        records stand alone, and those are dropped; on any other failure what
        is not stored yet goes back in front of the buffer, in order."""
        size = min(self._batch_size, len(self._buffer))
        chunks = [[self._buffer.popleft() for _ in range(size)]]
        self._in_flight = size
        try:
            while chunks:
                chunk = chunks[0]
                try:
                    await self._writer.write(chunk)
                except BatchRejected as exc:
                    if len(chunk) == 1:
                        chunks.pop(0)
                        self._in_flight -= 1
                        self._drop(1, reason="rejected", error=str(exc)[:200])
                    else:
                        middle = len(chunk) // 2
                        chunks[0:1] = [chunk[:middle], chunk[middle:]]
                    continue
                chunks.pop(0)
                self._in_flight -= len(chunk)
                self.written += len(chunk)
        except BaseException:
            self._in_flight = 0
            for chunk in reversed(chunks):
                self._buffer.extendleft(reversed(chunk))
            self._trim()
            raise

    def _trim(self) -> None:
        excess = len(self._buffer) - self._max_buffered
        if excess > 0:
            for _ in range(excess):
                self._buffer.popleft()
            self._drop(excess, reason="overflow")

    def _drop(self, count: int, *, reason: str, error: str | None = None) -> None:
        self.dropped += count
        if self._on_dropped is not None:
            self._on_dropped(count)
        # An overflow drops one record per call for as long as the outage
        # lasts: log those at most every LOG_EVERY_SECONDS, with the count.
        unlogged = self._unlogged.get(reason, 0) + count
        now = time.monotonic()
        if reason in {"overflow", "closed"} and now - self._logged_at.get(reason, -1e9) < (
            LOG_EVERY_SECONDS
        ):
            self._unlogged[reason] = unlogged
            return
        self._unlogged[reason] = 0
        self._logged_at[reason] = now
        log.error(
            "llm.usage_records_dropped",
            count=unlogged,
            reason=reason,
            error=error,
            max_buffered=self._max_buffered,
        )

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._retry_cap, self._retry_base * 2 ** min(failures, 20))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter

    @contextlib.asynccontextmanager
    async def _guard(self) -> AsyncIterator[None]:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            yield
