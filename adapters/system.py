from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime
from uuid import UUID

from application.ports.system import Clock, IdGenerator


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)


class UuidV7Generator(IdGenerator):
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, then randomness.

    Ids minted in one process are strictly increasing (a 12-bit counter in
    ``rand_a`` orders ids within a millisecond), so B-tree inserts append.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def new(self) -> UUID:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2)) & 0x7FF
            else:
                self._counter += 1
                if self._counter > 0xFFF:
                    self._last_ms += 1
                    self._counter = 0
                ms = self._last_ms
            rand_b = int.from_bytes(os.urandom(8)) & 0x3FFF_FFFF_FFFF_FFFF
            value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | self._counter << 64
            value |= 0b10 << 62 | rand_b
            return UUID(int=value)
