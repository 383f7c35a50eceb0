from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, column, delete, func, or_, update, values
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import translated
from adapters.postgres.tables import api_keys, one_time_tokens, outbox, sessions
from domain.identity.api_key import ApiKeyId


@dataclass(frozen=True)
class Pruned:
    outbox: int
    one_time_tokens: int
    sessions: int


class Pruner:
    """Deletes what no longer serves anyone: delivered events, dead tokens, old sessions.

    Retention leaves time to investigate: a week for delivered events, a
    month for ended sessions (their refresh-token hashes go with them).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def prune(self, now: datetime) -> Pruned:
        with translated():
            async with self._engine.begin() as conn:
                events = await conn.execute(
                    delete(outbox).where(outbox.c.delivered_at < now - timedelta(days=7))
                )
                tokens = await conn.execute(
                    delete(one_time_tokens).where(
                        one_time_tokens.c.expires_at < now - timedelta(days=1)
                    )
                )
                month_ago = now - timedelta(days=30)
                ended = await conn.execute(
                    delete(sessions).where(
                        or_(sessions.c.revoked_at < month_ago, sessions.c.expires_at < month_ago)
                    )
                )
        return Pruned(events.rowcount, tokens.rowcount, ended.rowcount)


async def flush_key_usage(engine: AsyncEngine, usage: dict[ApiKeyId, datetime]) -> int:
    """Write batched ``last_used_at`` values in one statement; never moves one back."""
    if not usage:
        return 0
    noted = values(
        column("id", PG_UUID(as_uuid=True)),
        column("used_at", DateTime(timezone=True)),
        name="noted",
    ).data(list(usage.items()))
    with translated():
        async with engine.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == noted.c.id)
                .values(
                    last_used_at=func.greatest(
                        func.coalesce(api_keys.c.last_used_at, noted.c.used_at), noted.c.used_at
                    )
                )
            )
    return int(result.rowcount)
