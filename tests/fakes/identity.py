"""In-memory identity storage, behaving like the Postgres and Redis adapters.

``InMemoryDatabase`` plays the database: the repositories read and write it
through a ``FakeUnitOfWork`` (which can roll it back), store copies and hand
out copies, so an aggregate changed but not saved leaves the stored state alone.
Constraint violations mirror Postgres: a duplicate address raises EmailTaken,
any other (missing parent row, duplicate key) StorageUnavailable.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from application.common.identity import UserView, user_view
from application.ports.identity import (
    LoginThrottle,
    OneTimeTokenRepository,
    RefreshTokenRepository,
    SessionCache,
    SessionRepository,
    SessionStatusReader,
    UserRepository,
)
from application.ports.identity_reads import (
    MAX_SESSIONS_LISTED,
    SessionReader,
    SessionView,
    UserReader,
)
from application.ports.system import Clock
from domain.common.errors import StorageUnavailable
from domain.identity.email import Email
from domain.identity.errors import EmailTaken
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import Session
from domain.identity.user import User
from tests.fakes.database import (
    InMemoryDatabase,
    OneTimeTokenRow,
    RefreshTokenRow,
    copy_session,
    copy_user,
)
from tests.fakes.transaction import FakeUnitOfWork


class _InMemoryRepository:
    def __init__(self, uow: FakeUnitOfWork, tables: InMemoryDatabase) -> None:
        self._uow = uow
        self._tables = tables
        uow.enlist(tables)


class InMemoryUsers(_InMemoryRepository, UserRepository):
    async def add(self, user: User) -> None:
        if user.id in self._tables.users:
            raise StorageUnavailable("The database refused the change.")
        if any(stored.email == user.email for stored in self._tables.users.values()):
            raise EmailTaken
        self._tables.users[user.id] = copy_user(user)
        self._uow.track(user)

    async def get(self, user_id: UserId) -> User | None:
        stored = self._tables.users.get(user_id)
        return copy_user(stored) if stored else None

    async def get_by_email(self, email: Email) -> User | None:
        for stored in self._tables.users.values():
            if stored.email == email:
                return copy_user(stored)
        return None

    async def save(self, user: User) -> None:
        stored = self._tables.users.get(user.id)
        if stored is not None:  # like UPDATE … WHERE id = …: the columns the SQL one writes
            stored.name = user.name
            stored.password_hash = user.password_hash
            stored.email_verified = user.email_verified
            stored.updated_at = user.updated_at
        self._uow.track(user)

    async def delete(self, user: User) -> None:
        self._tables.delete_user(user.id)
        self._uow.track(user)


class InMemorySessions(_InMemoryRepository, SessionRepository):
    async def add(self, session: Session) -> None:
        if session.id in self._tables.sessions or session.user_id not in self._tables.users:
            raise StorageUnavailable("The database refused the change.")
        self._tables.sessions[session.id] = copy_session(session)
        self._uow.track(session)

    async def get(self, session_id: SessionId) -> Session | None:
        stored = self._tables.sessions.get(session_id)
        return copy_session(stored) if stored else None

    async def active_for_user(self, user_id: UserId, now: datetime) -> list[Session]:
        return [
            copy_session(s)
            for s in sorted(self._tables.sessions.values(), key=lambda s: s.id)
            if s.user_id == user_id and s.revoked_at is None and s.expires_at > now
        ]

    async def save(self, session: Session) -> None:
        stored = self._tables.sessions.get(session.id)
        if stored is not None:
            stored.last_used_at = session.last_used_at
            stored.expires_at = session.expires_at
            stored.revoked_at = session.revoked_at
            stored.revoke_reason = session.revoke_reason
        self._uow.track(session)


class InMemoryRefreshTokens(_InMemoryRepository, RefreshTokenRepository):
    async def add(self, token_hash: str, session_id: SessionId, now: datetime) -> None:
        if token_hash in self._tables.refresh_tokens or session_id not in self._tables.sessions:
            raise StorageUnavailable("The database refused the change.")
        self._tables.refresh_tokens[token_hash] = RefreshTokenRow(
            session_id=session_id, created_at=now
        )

    async def spend(self, token_hash: str, now: datetime) -> SessionId | None:
        row = self._tables.refresh_tokens.get(token_hash)
        if row is None or row.spent_at is not None:
            return None
        row.spent_at = now
        return row.session_id

    async def session_of(self, token_hash: str) -> SessionId | None:
        row = self._tables.refresh_tokens.get(token_hash)
        return row.session_id if row else None


class InMemoryOneTimeTokens(_InMemoryRepository, OneTimeTokenRepository):
    async def add(
        self,
        token_hash: str,
        *,
        purpose: TokenPurpose,
        user_id: UserId,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        if token_hash in self._tables.one_time_tokens or user_id not in self._tables.users:
            raise StorageUnavailable("The database refused the change.")
        self._tables.one_time_tokens[token_hash] = OneTimeTokenRow(
            purpose=purpose, user_id=user_id, created_at=now, expires_at=expires_at
        )

    def _usable(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> OneTimeTokenRow | None:
        row = self._tables.one_time_tokens.get(token_hash)
        if row is None or row.purpose != purpose or row.used_at is not None:
            return None
        return row if row.expires_at > now else None

    async def find_valid(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> UserId | None:
        row = self._usable(token_hash, purpose, now)
        return row.user_id if row else None

    async def consume(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        row = self._usable(token_hash, purpose, now)
        if row is None:
            return None
        row.used_at = now
        return row.user_id

    async def revoke_all(self, user_id: UserId, purpose: TokenPurpose, now: datetime) -> None:
        for row in self._tables.one_time_tokens.values():
            if row.user_id == user_id and row.purpose == purpose and row.used_at is None:
                row.used_at = now


class InMemoryIdentityReader(UserReader, SessionReader, SessionStatusReader):
    """Reads the same tables the repositories write, straight into views."""

    def __init__(self, tables: InMemoryDatabase) -> None:
        self._tables = tables

    async def get(self, user_id: UserId) -> UserView | None:
        user = self._tables.users.get(user_id)
        return user_view(user) if user else None

    async def is_active(self, session_id: SessionId, user_id: UserId, now: datetime) -> bool:
        session = self._tables.sessions.get(session_id)
        return (
            session is not None
            and session.user_id == user_id
            and session.revoked_at is None
            and session.expires_at > now
        )

    async def list_active(
        self, user_id: UserId, current: SessionId, now: datetime
    ) -> list[SessionView]:
        live = [
            s
            for s in self._tables.sessions.values()
            if s.user_id == user_id and s.revoked_at is None and s.expires_at > now
        ]
        live.sort(key=lambda s: s.id, reverse=True)
        return [
            SessionView(
                id=s.id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                expires_at=s.expires_at,
                user_agent=s.user_agent,
                client_address=s.client_address,
                current=s.id == current,
            )
            for s in live[:MAX_SESSIONS_LISTED]
        ]


class InMemorySessionCache(SessionCache):
    """Like RedisSessionCache: "live" for ``active_ttl`` seconds, set only when no
    entry exists (NX); "revoked" for ``revoked_ttl``. With ``available=False`` it
    behaves like a cache whose Redis is down: no answers, writes dropped.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        active_ttl: int = 30,
        revoked_ttl: int = 960,
        available: bool = True,
    ) -> None:
        self._clock = clock
        self._active_ttl = timedelta(seconds=active_ttl)
        self._revoked_ttl = timedelta(seconds=revoked_ttl)
        self.available = available
        self._entries: dict[SessionId, tuple[bool, datetime]] = {}

    def _entry(self, session_id: SessionId) -> bool | None:
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        value, expires_at = entry
        if self._clock.now() >= expires_at:
            del self._entries[session_id]
            return None
        return value

    async def is_active(self, session_id: SessionId) -> bool | None:
        if not self.available:
            return None
        return self._entry(session_id)

    async def remember_active(self, session_id: SessionId) -> None:
        if not self.available or self._entry(session_id) is not None:
            return
        self._entries[session_id] = (True, self._clock.now() + self._active_ttl)

    async def forget(self, session_ids: list[SessionId]) -> None:
        if not self.available:
            return
        expires_at = self._clock.now() + self._revoked_ttl
        for session_id in session_ids:
            self._entries[session_id] = (False, expires_at)


class InMemoryLoginThrottle(LoginThrottle):
    """Fixed windows, as RedisLoginThrottle: a key's window opens at its first
    attempt; the key is blocked once its count reaches the limit of its prefix
    ("account:" or "address:"; unknown prefixes use the address limit).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        window_seconds: int = 900,
        per_account: int = 5,
        per_address: int = 50,
    ) -> None:
        self._clock = clock
        self._window = timedelta(seconds=window_seconds)
        self._limits = {"account": per_account, "address": per_address}
        self._counters: dict[str, tuple[int, datetime]] = {}

    def _limit(self, key: str) -> int:
        return self._limits.get(key.split(":", 1)[0], self._limits["address"])

    def _counter(self, key: str) -> tuple[int, datetime] | None:
        counter = self._counters.get(key)
        if counter is not None and self._clock.now() >= counter[1]:
            del self._counters[key]
            return None
        return counter

    def failures(self, key: str) -> int:
        counter = self._counter(key)
        return counter[0] if counter else 0

    async def retry_after(self, keys: list[str]) -> int | None:
        wait = timedelta(0)
        for key in keys:
            counter = self._counter(key)
            if counter is not None and counter[0] >= self._limit(key):
                wait = max(wait, counter[1] - self._clock.now())
        if wait <= timedelta(0):
            return None
        return math.ceil(wait.total_seconds())

    async def attempt(self, keys: list[str]) -> int | None:
        wait = await self.retry_after(keys)
        if wait is not None:
            return wait
        now = self._clock.now()
        for key in keys:
            counter = self._counter(key)
            if counter is None:
                self._counters[key] = (1, now + self._window)
            else:
                self._counters[key] = (counter[0] + 1, counter[1])
        return None

    async def forgive(self, keys: list[str]) -> None:
        if not keys:
            return
        self._counters.pop(keys[0], None)
        for key in keys[1:]:
            counter = self._counter(key)
            if counter is not None and counter[0] > 0:
                self._counters[key] = (counter[0] - 1, counter[1])

    async def clear(self, key: str) -> None:
        self._counters.pop(key, None)
