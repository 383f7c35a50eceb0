"""Stored credentials in PostgreSQL: the repository, reader and lookup agree with
their fake, and a ciphertext copied into another workspace's row stays shut."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol
from uuid import UUID

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.llm_credentials import (
    SqlCredentialLookup,
    SqlCredentialReader,
    SqlCredentialRepository,
)
from adapters.postgres.tables import llm_credentials, users, workspaces
from adapters.postgres.unit_of_work import SqlUnitOfWork
from adapters.security.cipher import AesGcmCipher
from application.llm.endpoints import EndpointResolver
from application.llm.settings import LlmSettings
from application.ports.llm_credentials import (
    CredentialLookup,
    CredentialReader,
    CredentialRepository,
)
from application.ports.transaction import TransactionManager
from domain.identity.ids import UserId
from domain.llm.credential import Credential, credential_associated_data
from domain.llm.errors import CredentialNameTaken, CredentialUnreadable
from domain.llm.ids import CredentialId
from domain.llm.models import Provider
from domain.tenancy.ids import WorkspaceId
from tests.fakes.llm_credentials import InMemoryCredentials, ScriptedGuard, master_keys_setting
from tests.fakes.system import DEFAULT_START, FakeClock, SequentialIds
from tests.fakes.transaction import FakeUnitOfWork

pytestmark = pytest.mark.integration

A = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000a"))
B = WorkspaceId(UUID("0190ffff-0000-7000-8000-00000000000b"))
ADMIN = UserId(UUID("0190eeee-0000-7000-8000-000000000001"))
CIPHER = AesGcmCipher.from_setting(master_keys_setting("k1"))


@dataclass
class Unit:
    credentials: CredentialRepository
    reader: CredentialReader
    tx: TransactionManager


class Store(Protocol):
    lookup: CredentialLookup

    def unit(self) -> AbstractAsyncContextManager[Unit]: ...


class MemoryStore:
    def __init__(self) -> None:
        self._uow = FakeUnitOfWork()
        self._table = InMemoryCredentials(self._uow)
        self.lookup: CredentialLookup = self._table

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        try:
            yield Unit(self._table, self._table, self._uow)
        finally:
            self._uow.rollback()


class PostgresStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.lookup: CredentialLookup = SqlCredentialLookup(engine)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self.engine.connect() as connection:
            uow = SqlUnitOfWork(connection, SequentialIds(), FakeClock())
            yield Unit(SqlCredentialRepository(uow), SqlCredentialReader(connection), uow)


async def seed(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            insert(users).values(
                id=ADMIN,
                email="admin@example.com",
                name="Admin",
                password_hash="x",
                email_verified=True,
                created_at=DEFAULT_START,
                updated_at=DEFAULT_START,
            )
        )
        for workspace_id, name in ((A, "A"), (B, "B")):
            await conn.execute(
                insert(workspaces).values(
                    id=workspace_id,
                    name=name,
                    personal=False,
                    created_at=DEFAULT_START,
                    updated_at=DEFAULT_START,
                )
            )


@pytest.fixture(params=["in_memory", "postgres"])
def backend(request: pytest.FixtureRequest) -> Store:
    if request.param == "in_memory":
        return MemoryStore()
    engine: AsyncEngine = request.getfixturevalue("engine")
    request.getfixturevalue("clean")
    return PostgresStore(engine)


@pytest.fixture
async def store(backend: Store) -> Store:
    if isinstance(backend, PostgresStore):
        await seed(backend.engine)
    return backend


_serial = iter(range(1, 1_000_000))


def credential(
    workspace_id: WorkspaceId = A,
    provider: Provider = Provider.OPENAI,
    name: str | None = None,
    key: str = "sk-test-0123456789abcdef",
    *,
    minutes: int = 0,
    base_url: str | None = None,
) -> Credential:
    credential_id = CredentialId(UUID(int=(0x0190 << 112) | next(_serial)))
    return Credential(
        id=credential_id,
        workspace_id=workspace_id,
        provider=provider,
        name=name or f"cred-{credential_id.int & 0xFFFF}",
        secret=CIPHER.encrypt(
            key, associated_data=credential_associated_data(workspace_id, credential_id)
        ),
        last4=key[-4:],
        base_url=base_url,
        created_by=ADMIN,
        created_at=DEFAULT_START + timedelta(minutes=minutes),
    )


async def stored(store: Store, *items: Credential) -> None:
    async with store.unit() as unit:
        for item in items:
            await unit.credentials.add(item)
        await unit.tx.commit()


# -- the contract ------------------------------------------------------------------------


async def test_a_stored_credential_reads_back_whole(store: Store) -> None:
    item = credential(base_url="https://llm.example.com/v1")
    await stored(store, item)
    async with store.unit() as unit:
        assert await unit.credentials.get(A, item.id) == item
    assert await store.lookup.of_workspace(A) == [item]


async def test_a_credential_is_only_found_in_its_own_workspace(store: Store) -> None:
    item = credential(A)
    await stored(store, item)
    async with store.unit() as unit:
        assert await unit.credentials.get(B, item.id) is None
        assert await unit.reader.list(B) == []
    assert await store.lookup.of_workspace(B) == []


async def test_names_are_unique_per_workspace_only(store: Store) -> None:
    await stored(store, credential(A, name="Main"))
    with pytest.raises(CredentialNameTaken):
        await stored(store, credential(A, Provider.ANTHROPIC, name="Main"))
    await stored(store, credential(B, name="Main"))
    assert [c.name for c in await store.lookup.of_workspace(A)] == ["Main"]
    assert [c.name for c in await store.lookup.of_workspace(B)] == ["Main"]


async def test_reads_are_oldest_first(store: Store) -> None:
    newer = credential(minutes=5, name="newer")
    older = credential(minutes=1, name="older", key="sk-older-key-000000WXYZ")
    await stored(store, newer, older)
    assert [c.id for c in await store.lookup.of_workspace(A)] == [older.id, newer.id]
    async with store.unit() as unit:
        views = await unit.reader.list(A)
    assert [(v.id, v.name, v.last4, v.provider) for v in views] == [
        (older.id, "older", "WXYZ", "openai"),
        (newer.id, "newer", newer.last4, "openai"),
    ]
    assert views[0].created_by == str(ADMIN)
    assert views[0].created_at == older.created_at


async def test_removing_takes_the_credential_away_and_an_uncommitted_change_is_undone(
    store: Store,
) -> None:
    keep, drop = credential(name="keep"), credential(name="drop")
    await stored(store, keep, drop)
    async with store.unit() as unit:
        found = await unit.credentials.get(A, drop.id)
        assert found is not None
        await unit.credentials.remove(found)
        await unit.credentials.add(credential(name="never committed"))
    assert [c.id for c in await store.lookup.of_workspace(A)] == [keep.id, drop.id]
    async with store.unit() as unit:
        await unit.credentials.remove(drop)
        await unit.tx.commit()
    assert [c.id for c in await store.lookup.of_workspace(A)] == [keep.id]


# -- what only the database shows --------------------------------------------------------


def resolver(engine: AsyncEngine) -> EndpointResolver:
    return EndpointResolver(
        SqlCredentialLookup(engine),
        CIPHER,
        ScriptedGuard(),
        LlmSettings(policy_cache_seconds=0.0),
    )


@pytest.mark.usefixtures("clean")
async def test_a_ciphertext_copied_into_another_workspaces_row_does_not_decrypt(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    store = PostgresStore(engine)
    mine = credential(A, key="sk-workspace-a-secret-0000")
    theirs = credential(B, key="sk-workspace-b-secret-1111")
    await stored(store, mine, theirs)
    endpoints = resolver(engine)
    assert (await endpoints.resolve(B, Provider.OPENAI)).api_key == "sk-workspace-b-secret-1111"

    async with engine.begin() as conn:  # B's row now holds A's sealed key, byte for byte
        await conn.execute(
            text(
                "UPDATE llm_credentials AS b"
                " SET key_id = a.key_id, nonce = a.nonce, ciphertext = a.ciphertext"
                " FROM llm_credentials AS a WHERE a.id = :a AND b.id = :b"
            ),
            {"a": mine.id, "b": theirs.id},
        )
        copied = (
            await conn.execute(
                select(llm_credentials.c.ciphertext).where(llm_credentials.c.id == theirs.id)
            )
        ).scalar_one()
    assert bytes(copied) == mine.secret.ciphertext

    with pytest.raises(CredentialUnreadable) as caught:
        await endpoints.resolve(B, Provider.OPENAI)
    assert "sk-workspace" not in caught.value.detail
    with pytest.raises(CredentialUnreadable):
        await endpoints.resolve(B, Provider.OPENAI, theirs.id)
    assert (await endpoints.resolve(A, Provider.OPENAI)).api_key == "sk-workspace-a-secret-0000"


@pytest.mark.usefixtures("clean")
async def test_a_row_written_by_a_newer_version_with_an_unknown_provider_is_skipped(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    item = credential(A)
    await stored(PostgresStore(engine), item)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO llm_credentials"
                " (id, workspace_id, provider, name, key_id, nonce, ciphertext, last4, created_at)"
                " VALUES (gen_random_uuid(), :w, 'mistral', 'future', 'k1', '\\x00', '\\x00',"
                " '', now())"
            ),
            {"w": A},
        )
    assert [c.id for c in await SqlCredentialLookup(engine).of_workspace(A)] == [item.id]


@pytest.mark.usefixtures("clean")
async def test_a_deleted_workspace_takes_its_credentials_along(engine: AsyncEngine) -> None:
    await seed(engine)
    await stored(PostgresStore(engine), credential(A), replace(credential(B), name="b"))
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM workspaces WHERE id = :w"), {"w": A})
    lookup = SqlCredentialLookup(engine)
    assert await lookup.of_workspace(A) == []
    assert len(await lookup.of_workspace(B)) == 1
