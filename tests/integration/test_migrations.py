"""Migrations match the tables, and every revision upgrades and downgrades cleanly."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.postgres.engine import async_url
from adapters.postgres.tables import metadata
from entrypoints.cli.migrate import alembic_config, downgrade, upgrade
from tests.conftest import Servers

pytestmark = pytest.mark.integration


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@pytest.fixture
def scratch_database(servers: Servers) -> Iterator[str]:
    """An empty database of its own, so migrating it up and down disturbs no other test."""
    name = f"stairway_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(servers.database_url, f'CREATE DATABASE "{name}"'))
    url = make_url(servers.database_url).set(database=name)
    yield url.render_as_string(hide_password=False)
    asyncio.run(_admin(servers.database_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def _revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(async_url(url))
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        names = {row[0] for row in rows}
    await engine.dispose()
    return names - {"alembic_version"}


def test_stairway_upgrades_and_downgrades_every_revision(scratch_database: str) -> None:
    previous = "base"
    for revision in _revisions(scratch_database):
        upgrade(scratch_database, revision)
        downgrade(scratch_database, previous)
        upgrade(scratch_database, revision)
        previous = revision
    assert asyncio.run(_tables(scratch_database)) == {t.name for t in metadata.sorted_tables}
    downgrade(scratch_database, "base")
    assert asyncio.run(_tables(scratch_database)) == set()


def test_migrations_leave_no_drift_from_the_table_definitions(scratch_database: str) -> None:
    upgrade(scratch_database)

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    async def run() -> list[object]:
        engine = create_async_engine(async_url(scratch_database))
        async with engine.connect() as conn:
            found = await conn.run_sync(diff)
        await engine.dispose()
        return found

    assert asyncio.run(run()) == []
