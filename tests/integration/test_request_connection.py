"""The request's connection against a real PostgreSQL: checked out by the first
statement, once, and handed back by ``release`` until the next one."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.engine import RequestConnection

pytestmark = pytest.mark.integration


async def backend_pid(held: RequestConnection) -> int:
    return int((await held.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_nothing_is_checked_out_before_the_first_statement(engine: AsyncEngine) -> None:
    before = engine.pool.checkedout()  # type: ignore[attr-defined]
    held = RequestConnection(engine)
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]
    await backend_pid(held)
    assert engine.pool.checkedout() == before + 1  # type: ignore[attr-defined]
    await held.release()
    assert engine.pool.checkedout() == before  # type: ignore[attr-defined]


async def test_two_first_statements_at_once_share_one_connection(engine: AsyncEngine) -> None:
    held = RequestConnection(engine)
    try:
        first, second = await asyncio.gather(backend_pid(held), backend_pid(held))
        assert first == second
    finally:
        await held.release()


async def test_after_a_release_the_next_statement_runs_in_a_new_transaction(
    engine: AsyncEngine,
) -> None:
    held = RequestConnection(engine)
    try:
        await held.execute(text("CREATE TEMP TABLE scratch (n int) ON COMMIT DROP"))
        before = (await held.execute(text("SELECT txid_current()"))).scalar_one()
        await held.rollback()  # the same as release
        after = (await held.execute(text("SELECT txid_current()"))).scalar_one()
        assert after != before
        missing = await held.execute(text("SELECT to_regclass('pg_temp.scratch')"))
        assert missing.scalar_one() is None  # what the first transaction did is gone
    finally:
        await held.release()
