"""The storage the repository contracts run against: the in-memory database
behind a FakeUnitOfWork, or PostgreSQL behind a SqlUnitOfWork. Either way a
``unit()`` is one request: repositories over one transaction, rolled back
when left without a commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.audit import RequestOrigin, SqlAuditLog
from adapters.postgres.identity import (
    SqlIdentityReader,
    SqlOneTimeTokenRepository,
    SqlRefreshTokenRepository,
    SqlSessionRepository,
    SqlUserRepository,
)
from adapters.postgres.tables import audit_log, outbox
from adapters.postgres.tenancy import SqlWorkspaceRepository
from adapters.postgres.unit_of_work import SqlUnitOfWork
from application.ports.audit import AuditLog
from application.ports.identity import (
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionRepository,
    SessionStatusReader,
    UserRepository,
)
from application.ports.identity_reads import SessionReader, UserReader
from application.ports.tenancy import WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.identity.email import Email
from domain.identity.ids import SessionId, UserId
from domain.identity.session import Session
from domain.identity.user import User, UserName
from tests.fakes.audit import RecordingAuditLog
from tests.fakes.database import InMemoryDatabase
from tests.fakes.identity import (
    InMemoryIdentityReader,
    InMemoryOneTimeTokens,
    InMemoryRefreshTokens,
    InMemorySessions,
    InMemoryUsers,
)
from tests.fakes.system import FakeClock, SequentialIds
from tests.fakes.tenancy import InMemoryWorkspaces
from tests.fakes.transaction import FakeUnitOfWork


class IdentityReader(UserReader, SessionReader, SessionStatusReader, Protocol):
    """The three identity read ports, which both readers implement together."""


@dataclass
class Unit:
    """One request's worth of repositories over one transaction."""

    users: UserRepository
    sessions: SessionRepository
    refresh_tokens: RefreshTokenRepository
    one_time_tokens: OneTimeTokenRepository
    workspaces: WorkspaceRepository
    audit: AuditLog
    tx: TransactionManager


class Backend(Protocol):
    clock: FakeClock
    ids: SequentialIds

    def unit(self) -> AbstractAsyncContextManager[Unit]: ...

    def reader(self) -> AbstractAsyncContextManager[IdentityReader]:
        """The read side, over a connection of its own."""

    async def published_topics(self) -> list[str]:
        """Topics of every event committed so far, in order."""

    async def audited_actions(self) -> list[str]:
        """Actions of every audit entry kept so far, in order."""


class InMemoryBackend:
    def __init__(self, clock: FakeClock, ids: SequentialIds) -> None:
        self.clock = clock
        self.ids = ids
        self.database = InMemoryDatabase()
        self._topics: list[str] = []
        self._audit_uow = FakeUnitOfWork()  # the audit log outlives each request's unit
        self._audit = RecordingAuditLog(self._audit_uow)

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        uow = FakeUnitOfWork()
        uow.enlist(self._audit)
        try:
            yield Unit(
                InMemoryUsers(uow, self.database),
                InMemorySessions(uow, self.database),
                InMemoryRefreshTokens(uow, self.database),
                InMemoryOneTimeTokens(uow, self.database),
                InMemoryWorkspaces(uow, self.database),
                self._audit,
                uow,
            )
        finally:
            uow.rollback()  # what closing the connection does to an uncommitted transaction
            self._topics.extend(event.topic for event in uow.published)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[IdentityReader]:
        yield InMemoryIdentityReader(self.database)

    async def published_topics(self) -> list[str]:
        return list(self._topics)

    async def audited_actions(self) -> list[str]:
        return [entry.action.value for entry in self._audit.entries]


class PostgresBackend:
    def __init__(self, engine: AsyncEngine, clock: FakeClock, ids: SequentialIds) -> None:
        self.engine = engine
        self.clock = clock
        self.ids = ids

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        async with self.engine.connect() as connection:
            uow = SqlUnitOfWork(connection, self.ids, self.clock)
            yield Unit(
                SqlUserRepository(uow),
                SqlSessionRepository(uow),
                SqlRefreshTokenRepository(uow),
                SqlOneTimeTokenRepository(uow),
                SqlWorkspaceRepository(uow),
                SqlAuditLog(uow, self.engine, RequestOrigin(), self.ids, self.clock),
                uow,
            )

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[IdentityReader]:
        async with self.engine.connect() as connection:
            yield SqlIdentityReader(connection)

    async def _column(self, statement: Select[tuple[Any]]) -> list[str]:
        async with self.engine.connect() as connection:
            result = await connection.execute(statement)
            return [str(value) for value in result.scalars()]

    async def published_topics(self) -> list[str]:
        return await self._column(select(outbox.c.topic).order_by(outbox.c.id))

    async def audited_actions(self) -> list[str]:
        return await self._column(select(audit_log.c.action).order_by(audit_log.c.id))


# -- givens shared by the suites -------------------------------------------------------

LIFETIME = timedelta(days=30)


def new_user(backend: Backend, email: str = "ada@example.com", name: str = "Ada") -> User:
    return User.register(
        id=UserId(backend.ids.new()),
        email=Email.parse(email),
        name=UserName.parse(name),
        password_hash="hash-of-ada",
        now=backend.clock.now(),
    )


def new_session(backend: Backend, user_id: UserId, *, lifetime: timedelta = LIFETIME) -> Session:
    return Session.start(
        id=SessionId(backend.ids.new()),
        user_id=user_id,
        now=backend.clock.now(),
        lifetime=lifetime,
        user_agent="Firefox/140",
        client_address="192.0.2.7",
    )


async def stored_user(backend: Backend, email: str = "ada@example.com") -> User:
    user = new_user(backend, email)
    async with backend.unit() as unit:
        await unit.users.add(user)
        await unit.tx.commit()
    return user
