from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping

from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import one_time_tokens, refresh_tokens, sessions, users
from application.common.identity import UserView
from application.ports.identity import (
    OneTimeTokenRepository,
    RefreshTokenRepository,
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
from domain.identity.email import Email
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import Session
from domain.identity.user import User, UserName


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        email=Email(row["email"]),
        name=UserName(row["name"]),
        password_hash=row["password_hash"],
        email_verified=row["email_verified"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class SqlUserRepository(UnitOfWorkStatements, UserRepository):
    async def add(self, user: User) -> None:
        await self._execute(
            insert(users).values(
                id=user.id,
                email=user.email.value,
                name=user.name.value,
                password_hash=user.password_hash,
                email_verified=user.email_verified,
                created_at=user.created_at,
                updated_at=user.updated_at,
            )
        )
        self._uow.track(user)

    async def get(self, user_id: UserId) -> User | None:
        result = await self._execute(select(users).where(users.c.id == user_id).with_for_update())
        row = result.mappings().first()
        return _user(row) if row else None

    async def get_by_email(self, email: Email) -> User | None:
        result = await self._execute(
            select(users).where(users.c.email == email.value).with_for_update()
        )
        row = result.mappings().first()
        return _user(row) if row else None

    async def save(self, user: User) -> None:
        await self._execute(
            update(users)
            .where(users.c.id == user.id)
            .values(
                name=user.name.value,
                password_hash=user.password_hash,
                email_verified=user.email_verified,
                updated_at=user.updated_at,
            )
        )
        self._uow.track(user)

    async def delete(self, user: User) -> None:
        await self._execute(delete(users).where(users.c.id == user.id))
        self._uow.track(user)


def _session(row: RowMapping) -> Session:
    return Session(
        id=row["id"],
        user_id=row["user_id"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        user_agent=row["user_agent"],
        client_address=row["client_address"],
        revoked_at=row["revoked_at"],
        revoke_reason=row["revoke_reason"],
    )


class SqlSessionRepository(UnitOfWorkStatements, SessionRepository):
    async def add(self, session: Session) -> None:
        await self._execute(
            insert(sessions).values(
                id=session.id,
                user_id=session.user_id,
                created_at=session.created_at,
                last_used_at=session.last_used_at,
                expires_at=session.expires_at,
                user_agent=session.user_agent,
                client_address=session.client_address,
            )
        )
        self._uow.track(session)

    async def get(self, session_id: SessionId) -> Session | None:
        result = await self._execute(
            select(sessions).where(sessions.c.id == session_id).with_for_update()
        )
        row = result.mappings().first()
        return _session(row) if row else None

    async def active_for_user(self, user_id: UserId, now: datetime) -> list[Session]:
        result = await self._execute(
            select(sessions)
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.id)
            .with_for_update()
        )
        return [_session(row) for row in result.mappings()]

    async def save(self, session: Session) -> None:
        await self._execute(
            update(sessions)
            .where(sessions.c.id == session.id)
            .values(
                last_used_at=session.last_used_at,
                expires_at=session.expires_at,
                revoked_at=session.revoked_at,
                revoke_reason=session.revoke_reason,
            )
        )
        self._uow.track(session)


class SqlRefreshTokenRepository(UnitOfWorkStatements, RefreshTokenRepository):
    async def add(self, token_hash: str, session_id: SessionId, now: datetime) -> None:
        await self._execute(
            insert(refresh_tokens).values(
                token_hash=token_hash, session_id=session_id, created_at=now
            )
        )

    async def spend(self, token_hash: str, now: datetime) -> SessionId | None:
        # The row lock makes concurrent spends of one token queue up; the
        # losers re-check ``spent_at`` and update nothing.
        result = await self._execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.token_hash == token_hash, refresh_tokens.c.spent_at.is_(None))
            .values(spent_at=now)
            .returning(refresh_tokens.c.session_id)
        )
        session_id = result.scalar_one_or_none()
        return SessionId(session_id) if session_id else None

    async def session_of(self, token_hash: str) -> SessionId | None:
        result = await self._execute(
            select(refresh_tokens.c.session_id).where(refresh_tokens.c.token_hash == token_hash)
        )
        session_id = result.scalar_one_or_none()
        return SessionId(session_id) if session_id else None


class SqlOneTimeTokenRepository(UnitOfWorkStatements, OneTimeTokenRepository):
    async def add(
        self,
        token_hash: str,
        *,
        purpose: TokenPurpose,
        user_id: UserId,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self._execute(
            insert(one_time_tokens).values(
                token_hash=token_hash,
                purpose=purpose.value,
                user_id=user_id,
                created_at=now,
                expires_at=expires_at,
            )
        )

    def _usable(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> list[Any]:
        return [
            one_time_tokens.c.token_hash == token_hash,
            one_time_tokens.c.purpose == purpose.value,
            one_time_tokens.c.used_at.is_(None),
            one_time_tokens.c.expires_at > now,
        ]

    async def find_valid(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> UserId | None:
        result = await self._execute(
            select(one_time_tokens.c.user_id).where(*self._usable(token_hash, purpose, now))
        )
        user_id = result.scalar_one_or_none()
        return UserId(user_id) if user_id else None

    async def consume(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        result = await self._execute(
            update(one_time_tokens)
            .where(*self._usable(token_hash, purpose, now))
            .values(used_at=now)
            .returning(one_time_tokens.c.user_id)
        )
        user_id = result.scalar_one_or_none()
        return UserId(user_id) if user_id else None

    async def revoke_all(self, user_id: UserId, purpose: TokenPurpose, now: datetime) -> None:
        await self._execute(
            update(one_time_tokens)
            .where(
                one_time_tokens.c.user_id == user_id,
                one_time_tokens.c.purpose == purpose.value,
                one_time_tokens.c.used_at.is_(None),
            )
            .values(used_at=now)
        )


class SqlIdentityReader(Statements, UserReader, SessionStatusReader, SessionReader):
    """Reads straight into views; no aggregate is built."""

    async def get(self, user_id: UserId) -> UserView | None:
        result = await self._execute(
            select(
                users.c.id, users.c.email, users.c.name, users.c.email_verified, users.c.created_at
            ).where(users.c.id == user_id)
        )
        row = result.mappings().first()
        return UserView(**row) if row else None

    async def is_active(self, session_id: SessionId, user_id: UserId, now: datetime) -> bool:
        result = await self._execute(
            select(sessions.c.id).where(
                sessions.c.id == session_id,
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
        )
        return result.first() is not None

    async def list_active(
        self, user_id: UserId, current: SessionId, now: datetime
    ) -> list[SessionView]:
        result = await self._execute(
            select(
                sessions.c.id,
                sessions.c.created_at,
                sessions.c.last_used_at,
                sessions.c.expires_at,
                sessions.c.user_agent,
                sessions.c.client_address,
            )
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.id.desc())
            .limit(MAX_SESSIONS_LISTED)
        )
        return [SessionView(**row, current=row["id"] == current) for row in result.mappings()]
