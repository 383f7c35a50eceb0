"""A small per-process cache with a time to live, for reads on the gateway's hot path."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values live ``ttl`` seconds; a write on this replica invalidates at once,
    other replicas see it within ``ttl``. Bounded: past ``max_entries`` the
    oldest half is dropped (cheap, and hot keys come straight back)."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        if self._ttl > 0:
            if len(self._entries) >= self._max:
                for stale in list(self._entries)[: self._max // 2]:
                    del self._entries[stale]
            self._entries[key] = (now + self._ttl, value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def invalidate_where(self, predicate: Callable[[K], bool]) -> None:
        for key in [k for k in self._entries if predicate(k)]:
            del self._entries[key]
