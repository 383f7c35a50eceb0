from __future__ import annotations

from datetime import timedelta

import pytest

from application.commands.identity.login import Login
from domain.audit.entry import ActorType, AuditAction
from domain.identity.errors import InvalidCredentials, InvalidEmail, TooManyLoginAttempts
from domain.identity.events import SessionStarted
from domain.identity.ids import SessionId, UserId
from tests.fakes.security import FakePasswordHasher
from tests.unit.identity.world import (
    PASSWORD,
    PER_ACCOUNT,
    PER_ADDRESS,
    SESSION_LIFETIME,
    WINDOW_SECONDS,
    World,
)


async def fail(world: World, times: int, **login: str) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            await world.execute(
                Login(**{"email": "ada@example.com", "password": "wrong!", **login})
            )


async def test_login_starts_a_session_and_returns_a_token_pair(world: World) -> None:
    user = await world.register()
    pair = await world.login()
    assert pair.user_id == user.id
    assert pair.expires_in == 900
    session = world.stored_session(pair.session_id)
    assert session.user_id == user.id
    assert session.is_active(world.clock.now())
    assert session.expires_at == world.clock.now() + SESSION_LIFETIME


async def test_login_access_token_names_the_user_and_the_session(world: World) -> None:
    await world.register()
    pair = await world.login()
    claims = world.issuer.verify(pair.access_token)
    assert (claims.user_id, claims.session_id) == (pair.user_id, pair.session_id)


async def test_login_stores_only_the_fingerprint_of_the_refresh_token(world: World) -> None:
    await world.register()
    pair = await world.login()
    assert pair.refresh_token not in world.tables.refresh_tokens
    row = world.tables.refresh_tokens[world.fingerprint(pair.refresh_token)]
    assert row.session_id == pair.session_id
    assert row.spent_at is None


async def test_login_records_the_client_of_the_session(world: World) -> None:
    await world.register()
    pair = await world.login(user_agent="Mozilla/5.0", client_address="198.51.100.7")
    session = world.stored_session(pair.session_id)
    assert (session.user_agent, session.client_address) == ("Mozilla/5.0", "198.51.100.7")


async def test_login_publishes_session_started(world: World) -> None:
    await world.register()
    world.uow.drain()
    pair = await world.login()
    assert world.uow.published == [
        SessionStarted(user_id=UserId(pair.user_id), session_id=SessionId(pair.session_id))
    ]


async def test_login_matches_the_address_in_any_case(world: World) -> None:
    await world.register("ada@example.com")
    assert await world.login("  ADA@example.COM ")


async def test_login_accepts_the_password_in_another_unicode_form(world: World) -> None:
    await world.register(password="velvetocean42")
    assert await world.login(password="ｖｅｌｖｅｔｏｃｅａｎ４２")


async def test_each_login_starts_a_session_of_its_own(world: World) -> None:
    await world.register()
    first, second = await world.login(), await world.login()
    assert first.session_id != second.session_id
    assert first.refresh_token != second.refresh_token


async def test_login_with_a_wrong_password_is_refused(world: World) -> None:
    await world.register()
    with pytest.raises(InvalidCredentials):
        await world.login(password="not the password")
    assert world.tables.sessions == {}


async def test_login_with_an_unknown_address_is_refused_after_a_dummy_check(
    world: World,
) -> None:
    with pytest.raises(InvalidCredentials):
        await world.login("nobody@example.com")
    assert world.hasher.verified == [None]  # same work as a real check


async def test_login_with_a_malformed_address_is_refused_as_bad_credentials(
    world: World,
) -> None:
    with pytest.raises(InvalidCredentials):
        await world.login("not an address")


async def test_login_failure_counts_against_the_account_and_the_address(world: World) -> None:
    await world.register()
    with pytest.raises(InvalidCredentials):
        await world.login(password="nope nope nope", client_address="203.0.113.5")
    assert world.throttle.failures("account:ada@example.com") == 1
    assert world.throttle.failures("address:203.0.113.5") == 1


async def test_login_is_blocked_once_the_account_reaches_its_failure_limit(
    world: World,
) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT)
    with pytest.raises(TooManyLoginAttempts) as caught:
        await world.login()
    assert 0 < caught.value.retry_after <= WINDOW_SECONDS


async def test_failures_below_the_limit_do_not_block_the_right_password(world: World) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT - 1)
    assert await world.login()


async def test_a_blocked_login_does_not_check_the_password(world: World) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT)
    checked = len(world.hasher.verified)
    with pytest.raises(TooManyLoginAttempts):
        await world.login()
    assert len(world.hasher.verified) == checked


async def test_the_account_block_lifts_when_the_window_ends(world: World) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT)
    world.clock.advance(seconds=WINDOW_SECONDS)
    assert await world.login()


async def test_the_account_block_applies_to_any_spelling_of_the_address(world: World) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT)
    with pytest.raises(TooManyLoginAttempts):
        await world.login("ADA@EXAMPLE.COM")


async def test_the_address_block_stops_guessing_across_accounts(world: World) -> None:
    await world.register("ada@example.com")
    for i in range(PER_ADDRESS):
        with pytest.raises(InvalidCredentials):
            await world.login(f"guess{i}@example.com", client_address="203.0.113.9")
    with pytest.raises(TooManyLoginAttempts):
        await world.login("ada@example.com", client_address="203.0.113.9")
    assert await world.login("ada@example.com", client_address="198.51.100.1")


async def test_a_successful_login_clears_the_account_failures(world: World) -> None:
    await world.register()
    await fail(world, PER_ACCOUNT - 1)
    await world.login()
    await fail(world, PER_ACCOUNT - 1)
    assert await world.login()


async def test_login_rehashes_a_password_hashed_with_old_parameters(world: World) -> None:
    user = await world.register()
    world.tables.users[UserId(user.id)].password_hash = await FakePasswordHasher("old").hash(
        PASSWORD
    )
    world.uow.drain()
    await world.login()
    stored = world.stored_user(user.id).password_hash
    assert not world.hasher.needs_rehash(stored)
    assert await world.hasher.verify(stored, PASSWORD)
    assert [e.topic for e in world.uow.published] == ["identity.session_started"]


async def test_login_keeps_a_current_hash_untouched(world: World) -> None:
    user = await world.register()
    before = world.stored_user(user.id).password_hash
    updated = world.stored_user(user.id).updated_at
    world.clock.advance(minutes=5)
    await world.login()
    assert world.stored_user(user.id).password_hash == before
    assert world.stored_user(user.id).updated_at == updated


async def test_a_session_started_later_expires_later(world: World) -> None:
    await world.register()
    first = await world.login()
    world.clock.advance(days=1)
    second = await world.login()
    assert world.stored_session(second.session_id).expires_at == world.stored_session(
        first.session_id
    ).expires_at + timedelta(days=1)


async def test_a_successful_login_is_audited_with_its_session(world: World) -> None:
    await world.register()
    pair = await world.login()
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LOGIN_SUCCEEDED
    assert (entry.actor_type, entry.actor_id) == (ActorType.USER, pair.user_id)
    assert (entry.target_type, entry.target_id) == ("session", pair.session_id)


async def test_a_failed_login_is_audited_although_the_request_fails(world: World) -> None:
    user = await world.register()
    with pytest.raises(InvalidCredentials):
        await world.login(password="not the password")
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LOGIN_FAILED
    assert entry.actor_type is ActorType.ANONYMOUS
    assert entry.subject_user == user.id
    assert entry.metadata == {"reason": "wrong_password"}


async def test_a_failed_login_on_an_unknown_account_names_no_user(world: World) -> None:
    with pytest.raises(InvalidCredentials):
        await world.login("nobody@example.com")
    [entry] = world.audit.entries
    assert entry.subject_user is None
    assert entry.metadata == {"reason": "unknown_account"}


async def test_audit_entries_of_a_login_carry_no_secret(world: World) -> None:
    await world.register()
    with pytest.raises(InvalidCredentials):
        await world.login(password="a wrong guess")
    pair = await world.login()
    for entry in world.audit.entries:
        text = repr(entry)
        for secret in (PASSWORD, "a wrong guess", pair.refresh_token, pair.access_token):
            assert secret not in text


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com",
        "Zoë@Bücher.Example",
        "İ̖x@example.com",  # lower-casing leaves the combining marks out of canonical order
    ],
    ids=["ascii", "idn", "combining-marks"],
)
async def test_login_accepts_the_address_exactly_as_the_account_shows_it(
    world: World, email: str
) -> None:
    view = await world.register(email, name="Someone Else")
    assert await world.login(view.email)


async def test_an_address_too_long_once_in_punycode_is_refused_at_registration(
    world: World,
) -> None:
    email = "a@" + ".".join(["ü" * 20 + "x" * 10] * 7) + ".de"  # 221 typed, 270 stored
    with pytest.raises(InvalidEmail):
        await world.register(email, name="Someone Else")
