"""UserRepository, SessionRepository, RefreshTokenRepository and
OneTimeTokenRepository: the in-memory fakes and the PostgreSQL adapters pass
the same cases, through the same TransactionManager semantics (a unit left
without commit is rolled back; commit publishes the recorded events).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import uuid4

import pytest

from domain.common.errors import StorageUnavailable
from domain.identity.email import Email
from domain.identity.errors import EmailTaken
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import RevokeReason, Session
from domain.identity.user import User, UserName
from tests.integration.contracts.storage import (
    LIFETIME,
    Backend,
    new_session,
    new_user,
    stored_user,
)

pytestmark = pytest.mark.integration

VERIFY = TokenPurpose.VERIFY_EMAIL
RESET = TokenPurpose.RESET_PASSWORD


# -- helpers ----------------------------------------------------------------------------


async def stored_session(
    backend: Backend, user_id: UserId, *, lifetime: timedelta = LIFETIME
) -> Session:
    session = new_session(backend, user_id, lifetime=lifetime)
    async with backend.unit() as unit:
        await unit.sessions.add(session)
        await unit.tx.commit()
    return session


async def stored_refresh_token(backend: Backend, session_id: SessionId, token_hash: str) -> None:
    async with backend.unit() as unit:
        await unit.refresh_tokens.add(token_hash, session_id, backend.clock.now())
        await unit.tx.commit()


async def stored_one_time_token(
    backend: Backend,
    user_id: UserId,
    token_hash: str,
    purpose: TokenPurpose = VERIFY,
    *,
    lifetime: timedelta = timedelta(hours=1),
) -> datetime:
    now = backend.clock.now()
    async with backend.unit() as unit:
        await unit.one_time_tokens.add(
            token_hash, purpose=purpose, user_id=user_id, now=now, expires_at=now + lifetime
        )
        await unit.tx.commit()
    return now + lifetime


def fields(user: User) -> tuple[object, ...]:
    return (
        user.id,
        user.email,
        user.name,
        user.password_hash,
        user.email_verified,
        user.created_at,
        user.updated_at,
    )


def session_fields(session: Session) -> tuple[object, ...]:
    return (
        session.id,
        session.user_id,
        session.created_at,
        session.last_used_at,
        session.expires_at,
        session.user_agent,
        session.client_address,
        session.revoked_at,
        session.revoke_reason,
    )


# -- users --------------------------------------------------------------------------------


async def test_an_added_user_reads_back_by_id_and_by_email(backend: Backend) -> None:
    user = await stored_user(backend)
    async with backend.unit() as unit:
        by_id = await unit.users.get(user.id)
        by_email = await unit.users.get_by_email(Email.parse("ADA@example.com"))
    assert by_id is not None
    assert by_email is not None
    assert fields(by_id) == fields(by_email) == fields(user)


async def test_an_unknown_user_is_none(backend: Backend) -> None:
    await stored_user(backend)
    async with backend.unit() as unit:
        assert await unit.users.get(UserId(uuid4())) is None
        assert await unit.users.get_by_email(Email.parse("bob@example.com")) is None


async def test_a_second_user_with_the_same_address_in_another_case_is_email_taken(
    backend: Backend,
) -> None:
    await stored_user(backend, "ada@example.com")
    async with backend.unit() as unit:
        with pytest.raises(EmailTaken):
            await unit.users.add(new_user(backend, "Ada@EXAMPLE.com", "Impostor"))
    async with backend.unit() as unit:
        found = await unit.users.get_by_email(Email.parse("ada@example.com"))
    assert found is not None
    assert found.name.value == "Ada"


async def test_an_uncommitted_user_is_not_kept(backend: Backend) -> None:
    user = new_user(backend)
    async with backend.unit() as unit:
        await unit.users.add(user)
    async with backend.unit() as unit:
        assert await unit.users.get(user.id) is None


async def test_commit_publishes_the_recorded_events_in_order(backend: Backend) -> None:
    await stored_user(backend)
    assert await backend.published_topics() == [
        "identity.user_registered",
        "identity.email_verification_requested",
    ]


async def test_events_of_an_uncommitted_unit_are_not_published(backend: Backend) -> None:
    async with backend.unit() as unit:
        await unit.users.add(new_user(backend))
    assert await backend.published_topics() == []


async def test_events_are_published_once(backend: Backend) -> None:
    user = new_user(backend)
    async with backend.unit() as unit:
        await unit.users.add(user)
        await unit.tx.commit()
        await unit.users.save(user)
        await unit.tx.commit()
    assert len(await backend.published_topics()) == 2


async def test_save_writes_the_changed_state(backend: Backend) -> None:
    user = await stored_user(backend)
    backend.clock.advance(minutes=5)
    async with backend.unit() as unit:
        loaded = await unit.users.get(user.id)
        assert loaded is not None
        loaded.rename(UserName.parse("Countess"), backend.clock.now())
        loaded.change_password("new-hash", backend.clock.now(), reset=False)
        loaded.verify_email(backend.clock.now())
        await unit.users.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.users.get(user.id)
    assert again is not None
    assert fields(again) == fields(loaded)
    assert await backend.published_topics() == [
        "identity.user_registered",
        "identity.email_verification_requested",
        "identity.password_changed",
        "identity.email_verified",
    ]


async def test_a_loaded_user_changed_but_not_saved_is_not_written(backend: Backend) -> None:
    user = await stored_user(backend)
    async with backend.unit() as unit:
        loaded = await unit.users.get(user.id)
        assert loaded is not None
        loaded.rename(UserName.parse("Countess"), backend.clock.now())
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.users.get(user.id)
    assert again is not None
    assert again.name.value == "Ada"


async def test_delete_removes_the_user_with_sessions_and_tokens(backend: Backend) -> None:
    user = await stored_user(backend)
    session = await stored_session(backend, user.id)
    await stored_refresh_token(backend, session.id, "refresh-hash")
    await stored_one_time_token(backend, user.id, "verify-hash")
    async with backend.unit() as unit:
        await unit.users.delete(user)
        await unit.tx.commit()
    now = backend.clock.now()
    async with backend.unit() as unit:
        assert await unit.users.get(user.id) is None
        assert await unit.sessions.get(session.id) is None
        assert await unit.refresh_tokens.session_of("refresh-hash") is None
        assert await unit.one_time_tokens.find_valid("verify-hash", VERIFY, now) is None


async def test_delete_leaves_other_users_alone(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    bobs = await stored_session(backend, bob.id)
    async with backend.unit() as unit:
        await unit.users.delete(ada)
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.users.get(bob.id) is not None
        assert await unit.sessions.get(bobs.id) is not None


async def test_a_deleted_users_address_can_be_registered_again(backend: Backend) -> None:
    user = await stored_user(backend)
    async with backend.unit() as unit:
        user.delete()
        await unit.users.delete(user)
        await unit.tx.commit()
    again = await stored_user(backend)
    assert again.id != user.id
    assert (await backend.published_topics())[2] == "identity.user_deleted"


# -- sessions -----------------------------------------------------------------------------


async def test_an_added_session_reads_back_whole(backend: Backend) -> None:
    user = await stored_user(backend)
    session = await stored_session(backend, user.id)
    async with backend.unit() as unit:
        loaded = await unit.sessions.get(session.id)
        assert await unit.sessions.get(SessionId(uuid4())) is None
    assert loaded is not None
    assert session_fields(loaded) == session_fields(session)
    assert "identity.session_started" in await backend.published_topics()


async def test_a_session_of_an_unknown_user_is_refused(backend: Backend) -> None:
    async with backend.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.sessions.add(new_session(backend, UserId(uuid4())))


async def test_active_for_user_lists_live_sessions_in_id_order(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    first = await stored_session(backend, ada.id)
    revoked = await stored_session(backend, ada.id)
    short = await stored_session(backend, ada.id, lifetime=timedelta(hours=1))
    await stored_session(backend, bob.id)
    last = await stored_session(backend, ada.id)
    async with backend.unit() as unit:
        loaded = await unit.sessions.get(revoked.id)
        assert loaded is not None
        loaded.revoke(backend.clock.now(), RevokeReason.LOGOUT)
        await unit.sessions.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        live_now = await unit.sessions.active_for_user(ada.id, backend.clock.now())
        later = await unit.sessions.active_for_user(ada.id, short.expires_at)
    assert [s.id for s in live_now] == [first.id, short.id, last.id]
    assert [s.id for s in later] == [first.id, last.id]


async def test_save_writes_touch_and_revocation(backend: Backend) -> None:
    user = await stored_user(backend)
    session = await stored_session(backend, user.id)
    backend.clock.advance(days=3)
    async with backend.unit() as unit:
        loaded = await unit.sessions.get(session.id)
        assert loaded is not None
        loaded.touch(backend.clock.now(), LIFETIME)
        loaded.revoke(backend.clock.now(), RevokeReason.PASSWORD_RESET)
        await unit.sessions.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.sessions.get(session.id)
    assert again is not None
    assert session_fields(again) == session_fields(loaded)
    assert (await backend.published_topics())[-1] == "identity.session_revoked"


# -- refresh tokens -------------------------------------------------------------------------


async def live_session(backend: Backend) -> Session:
    user = await stored_user(backend)
    return await stored_session(backend, user.id)


async def test_spend_returns_the_session_once(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "hash-1")
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) == session.id
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) is None


async def test_spend_twice_in_one_unit_returns_the_session_once(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "hash-1")
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) == session.id
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) is None


async def test_an_unknown_refresh_token_is_not_spent(backend: Backend) -> None:
    await live_session(backend)
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("never-issued", backend.clock.now()) is None
        assert await unit.refresh_tokens.session_of("never-issued") is None


async def test_an_uncommitted_spend_is_undone(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "hash-1")
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) == session.id
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.spend("hash-1", backend.clock.now()) == session.id


async def test_session_of_knows_spent_and_unspent_tokens(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "spent")
    await stored_refresh_token(backend, session.id, "unspent")
    async with backend.unit() as unit:
        await unit.refresh_tokens.spend("spent", backend.clock.now())
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.refresh_tokens.session_of("spent") == session.id
        assert await unit.refresh_tokens.session_of("unspent") == session.id


async def test_a_refresh_token_of_an_unknown_session_is_refused(backend: Backend) -> None:
    await live_session(backend)
    async with backend.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.refresh_tokens.add("hash-1", SessionId(uuid4()), backend.clock.now())


async def test_concurrent_spends_of_one_token_have_exactly_one_winner(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "contested")
    started = asyncio.Barrier(2)

    async def attempt() -> SessionId | None:
        async with backend.unit() as unit:
            await started.wait()
            won = await unit.refresh_tokens.spend("contested", backend.clock.now())
            await unit.tx.commit()
            return won

    results = await asyncio.gather(attempt(), attempt())
    assert sorted(results, key=lambda r: r is None) == [session.id, None]


async def test_many_concurrent_spends_have_exactly_one_winner(backend: Backend) -> None:
    session = await live_session(backend)
    await stored_refresh_token(backend, session.id, "contested")

    async def attempt() -> SessionId | None:
        async with backend.unit() as unit:
            won = await unit.refresh_tokens.spend("contested", backend.clock.now())
            await unit.tx.commit()
            return won

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert [r for r in results if r is not None] == [session.id]


# -- one-time tokens ------------------------------------------------------------------------


async def test_consume_returns_the_owner_once(backend: Backend) -> None:
    user = await stored_user(backend)
    await stored_one_time_token(backend, user.id, "token-1")
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.consume("token-1", VERIFY, backend.clock.now()) == user.id
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.consume("token-1", VERIFY, backend.clock.now()) is None
        assert await unit.one_time_tokens.find_valid("token-1", VERIFY, backend.clock.now()) is None


async def test_find_valid_does_not_use_the_token(backend: Backend) -> None:
    user = await stored_user(backend)
    await stored_one_time_token(backend, user.id, "token-1")
    async with backend.unit() as unit:
        for _ in range(2):
            assert (
                await unit.one_time_tokens.find_valid("token-1", VERIFY, backend.clock.now())
                == user.id
            )
        assert await unit.one_time_tokens.consume("token-1", VERIFY, backend.clock.now()) == user.id


async def test_an_uncommitted_consume_is_undone(backend: Backend) -> None:
    user = await stored_user(backend)
    await stored_one_time_token(backend, user.id, "token-1")
    async with backend.unit() as unit:
        await unit.one_time_tokens.consume("token-1", VERIFY, backend.clock.now())
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.consume("token-1", VERIFY, backend.clock.now()) == user.id


async def test_an_expired_one_time_token_is_refused(backend: Backend) -> None:
    user = await stored_user(backend)
    expires_at = await stored_one_time_token(backend, user.id, "token-1")
    just_before = expires_at - timedelta(microseconds=1)
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.find_valid("token-1", VERIFY, just_before) == user.id
        assert await unit.one_time_tokens.find_valid("token-1", VERIFY, expires_at) is None
        assert await unit.one_time_tokens.consume("token-1", VERIFY, expires_at) is None


async def test_a_one_time_token_of_another_purpose_is_refused(backend: Backend) -> None:
    user = await stored_user(backend)
    await stored_one_time_token(backend, user.id, "token-1", RESET)
    now = backend.clock.now()
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.find_valid("token-1", VERIFY, now) is None
        assert await unit.one_time_tokens.consume("token-1", VERIFY, now) is None
        assert await unit.one_time_tokens.consume("token-1", RESET, now) == user.id


async def test_an_unknown_one_time_token_is_refused(backend: Backend) -> None:
    await stored_user(backend)
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.consume("nope", VERIFY, backend.clock.now()) is None


async def test_a_one_time_token_of_an_unknown_user_is_refused(backend: Backend) -> None:
    await stored_user(backend)
    now = backend.clock.now()
    async with backend.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.one_time_tokens.add(
                "token-1", purpose=VERIFY, user_id=UserId(uuid4()), now=now, expires_at=now
            )


async def test_revoke_all_voids_the_users_tokens_of_that_purpose_only(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    await stored_one_time_token(backend, ada.id, "ada-reset-1", RESET)
    await stored_one_time_token(backend, ada.id, "ada-reset-2", RESET)
    await stored_one_time_token(backend, ada.id, "ada-verify", VERIFY)
    await stored_one_time_token(backend, bob.id, "bob-reset", RESET)
    now = backend.clock.now()
    async with backend.unit() as unit:
        await unit.one_time_tokens.revoke_all(ada.id, RESET, now)
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.one_time_tokens.find_valid("ada-reset-1", RESET, now) is None
        assert await unit.one_time_tokens.find_valid("ada-reset-2", RESET, now) is None
        assert await unit.one_time_tokens.find_valid("ada-verify", VERIFY, now) == ada.id
        assert await unit.one_time_tokens.find_valid("bob-reset", RESET, now) == bob.id
