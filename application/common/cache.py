"""A small per-process cache with a time to live, for reads on hot paths."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Values live ``ttl`` seconds; a write on this replica invalidates at once,
    other replicas see it within ``ttl`` (or when told, where changes are
    announced). A load overtaken by an invalidation is returned but not kept:
    it may have read the state from before the change. ``keep`` says which
    values are worth keeping. Bounded: past ``max_entries`` the oldest half is
    dropped (cheap, and hot keys come straight back)."""

    def __init__(
        self,
        ttl: float,
        max_entries: int = 10_000,
        keep: Callable[[V], bool] = lambda _: True,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._keep = keep
        self._entries: dict[K, tuple[float, V]] = {}
        self._generation = 0

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        generation = self._generation
        value = await load()
        if self._ttl > 0 and generation == self._generation and self._keep(value):
            if len(self._entries) >= self._max:
                for stale in list(self._entries)[: self._max // 2]:
                    del self._entries[stale]
            self._entries[key] = (now + self._ttl, value)
        return value

    def invalidate(self, key: K | None = None) -> None:
        self._generation += 1
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    def invalidate_where(self, predicate: Callable[[K, V], bool]) -> None:
        self._generation += 1
        for key in [k for k, (_, v) in self._entries.items() if predicate(k, v)]:
            del self._entries[key]
