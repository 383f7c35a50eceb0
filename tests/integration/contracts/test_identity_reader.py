"""UserReader, SessionReader and SessionStatusReader: InMemoryIdentityReader and
SqlIdentityReader read the same views from the same stored state.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.common.identity import user_view
from application.ports.identity_reads import MAX_SESSIONS_LISTED
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason, Session
from tests.integration.contracts.storage import Backend, new_session, stored_user

pytestmark = pytest.mark.integration


async def stored_sessions(backend: Backend, user_id: UserId, count: int) -> list[Session]:
    sessions = []
    async with backend.unit() as unit:
        for _ in range(count):
            session = new_session(backend, user_id)
            await unit.sessions.add(session)
            sessions.append(session)
            backend.clock.advance(seconds=1)
        await unit.tx.commit()
    return sessions


async def revoke(backend: Backend, session_id: SessionId) -> None:
    async with backend.unit() as unit:
        session = await unit.sessions.get(session_id)
        assert session is not None
        session.revoke(backend.clock.now(), RevokeReason.LOGOUT)
        await unit.sessions.save(session)
        await unit.tx.commit()


async def test_get_reads_the_users_view(backend: Backend) -> None:
    user = await stored_user(backend)
    async with backend.reader() as reader:
        assert await reader.get(user.id) == user_view(user)
        assert await reader.get(UserId(uuid4())) is None


async def test_get_sees_committed_changes(backend: Backend) -> None:
    user = await stored_user(backend)
    async with backend.unit() as unit:
        loaded = await unit.users.get(user.id)
        assert loaded is not None
        loaded.verify_email(backend.clock.now())
        await unit.users.save(loaded)
        await unit.tx.commit()
    async with backend.reader() as reader:
        view = await reader.get(user.id)
    assert view is not None
    assert view.email_verified is True


async def test_a_live_session_of_its_user_is_active(backend: Backend) -> None:
    user = await stored_user(backend)
    [session] = await stored_sessions(backend, user.id, 1)
    async with backend.reader() as reader:
        assert await reader.is_active(session.id, user.id, backend.clock.now()) is True


async def test_a_session_is_not_active_for_another_user(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    [session] = await stored_sessions(backend, ada.id, 1)
    async with backend.reader() as reader:
        assert await reader.is_active(session.id, bob.id, backend.clock.now()) is False


async def test_revoked_expired_and_unknown_sessions_are_not_active(backend: Backend) -> None:
    user = await stored_user(backend)
    revoked, expiring = await stored_sessions(backend, user.id, 2)
    await revoke(backend, revoked.id)
    now = backend.clock.now()
    async with backend.reader() as reader:
        assert await reader.is_active(revoked.id, user.id, now) is False
        assert await reader.is_active(expiring.id, user.id, expiring.expires_at) is False
        assert (
            await reader.is_active(expiring.id, user.id, expiring.expires_at - timedelta(seconds=1))
            is True
        )
        assert await reader.is_active(SessionId(uuid4()), user.id, now) is False


async def test_list_active_is_newest_first_with_the_current_one_marked(backend: Backend) -> None:
    user = await stored_user(backend)
    first, second, third = await stored_sessions(backend, user.id, 3)
    async with backend.reader() as reader:
        views = await reader.list_active(user.id, second.id, backend.clock.now())
    assert [v.id for v in views] == [third.id, second.id, first.id]
    assert [v.current for v in views] == [False, True, False]
    assert (views[0].user_agent, views[0].client_address) == ("Firefox/140", "192.0.2.7")
    assert (views[0].created_at, views[0].last_used_at, views[0].expires_at) == (
        third.created_at,
        third.last_used_at,
        third.expires_at,
    )


async def test_list_active_leaves_out_ended_and_foreign_sessions(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    live, revoked = await stored_sessions(backend, ada.id, 2)
    await stored_sessions(backend, bob.id, 1)
    await revoke(backend, revoked.id)
    async with backend.reader() as reader:
        views = await reader.list_active(ada.id, live.id, backend.clock.now())
        later = await reader.list_active(ada.id, live.id, live.expires_at)
    assert [v.id for v in views] == [live.id]
    assert later == []


async def test_list_active_is_capped(backend: Backend) -> None:
    user = await stored_user(backend)
    sessions = await stored_sessions(backend, user.id, MAX_SESSIONS_LISTED + 1)
    async with backend.reader() as reader:
        views = await reader.list_active(user.id, sessions[0].id, backend.clock.now())
    assert len(views) == MAX_SESSIONS_LISTED
    assert views[0].id == sessions[-1].id
    assert sessions[0].id not in {v.id for v in views}
