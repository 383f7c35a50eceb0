from __future__ import annotations

import pytest

from application.commands.identity.logout import Logout
from application.commands.identity.logout_all import LogoutAll
from application.commands.identity.refresh_session import RefreshSession
from application.common.identity import TokenPair
from domain.audit.entry import AuditAction
from domain.identity.errors import InvalidAccessToken, InvalidRefreshToken
from domain.identity.events import SessionRevoked
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import World


async def signed_in(world: World, email: str = "ada@example.com") -> TokenPair:
    if not any(u.email.value == email for u in world.tables.users.values()):
        await world.register(email)
    pair = await world.login(email)
    world.uow.drain()
    return pair


async def test_logout_revokes_the_session_of_the_refresh_token(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    session = world.stored_session(pair.session_id)
    assert session.revoked_at == world.clock.now()
    assert session.revoke_reason == "logout"


async def test_logout_publishes_session_revoked(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    assert world.uow.published == [
        SessionRevoked(
            user_id=UserId(pair.user_id), session_id=SessionId(pair.session_id), reason="logout"
        )
    ]


async def test_after_logout_the_refresh_token_is_refused(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    with pytest.raises(InvalidRefreshToken):
        await world.execute(RefreshSession(refresh_token=pair.refresh_token))


async def test_after_logout_the_access_token_is_refused_at_once(world: World) -> None:
    pair = await signed_in(world)
    await world.authenticate(pair.access_token)  # cached as live
    await world.execute(Logout(refresh_token=pair.refresh_token))
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_logout_with_an_unknown_token_is_a_no_op(world: World) -> None:
    await signed_in(world)
    commits = world.uow.commits
    await world.execute(Logout(refresh_token="never-issued"))
    assert world.uow.commits == commits


async def test_logging_out_twice_is_not_an_error(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    world.uow.drain()
    await world.execute(Logout(refresh_token=pair.refresh_token))
    assert world.uow.published == []


async def test_logout_with_an_earlier_token_of_the_session_ends_it(world: World) -> None:
    first = await signed_in(world)
    second: TokenPair = await world.execute(RefreshSession(refresh_token=first.refresh_token))
    await world.execute(Logout(refresh_token=first.refresh_token))
    with pytest.raises(InvalidRefreshToken):
        await world.execute(RefreshSession(refresh_token=second.refresh_token))


async def test_logout_leaves_the_other_sessions_alone(world: World) -> None:
    pair = await signed_in(world)
    other = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    assert world.stored_session(other.session_id).revoked_at is None
    assert await world.authenticate(other.access_token)


async def test_logout_all_revokes_every_session_of_the_user(world: World) -> None:
    pairs = [await signed_in(world) for _ in range(3)]
    await world.execute(LogoutAll(user_id=UserId(pairs[0].user_id)))
    for pair in pairs:
        session = world.stored_session(pair.session_id)
        assert session.revoke_reason == "logout_all"
        with pytest.raises(InvalidAccessToken):
            await world.authenticate(pair.access_token)


async def test_logout_all_can_keep_the_current_session(world: World) -> None:
    current = await signed_in(world)
    other = await signed_in(world)
    await world.execute(
        LogoutAll(user_id=UserId(current.user_id), keep=SessionId(current.session_id))
    )
    assert world.stored_session(current.session_id).revoked_at is None
    assert world.stored_session(other.session_id).revoked_at is not None
    assert await world.cache.is_active(SessionId(current.session_id)) is not False


async def test_logout_all_leaves_other_users_alone(world: World) -> None:
    ada = await signed_in(world)
    bob = await signed_in(world, "bob@example.com")
    await world.execute(LogoutAll(user_id=UserId(ada.user_id)))
    assert world.stored_session(bob.session_id).revoked_at is None
    assert await world.authenticate(bob.access_token)


async def test_logout_all_keeps_the_first_reason_of_an_ended_session(world: World) -> None:
    first = await signed_in(world)
    await signed_in(world)
    await world.execute(Logout(refresh_token=first.refresh_token))
    await world.execute(LogoutAll(user_id=UserId(first.user_id)))
    assert world.stored_session(first.session_id).revoke_reason == "logout"


async def test_logout_all_publishes_one_revocation_per_live_session(world: World) -> None:
    pairs = [await signed_in(world) for _ in range(2)]
    await world.execute(LogoutAll(user_id=UserId(pairs[0].user_id)))
    assert sorted(e.session_id for e in world.uow.published if isinstance(e, SessionRevoked)) == [
        SessionId(p.session_id) for p in pairs
    ]


async def test_logout_all_without_sessions_is_not_an_error(world: World) -> None:
    user = await world.register()
    await world.execute(LogoutAll(user_id=UserId(user.id)))


async def test_logout_is_audited_with_its_session(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LOGOUT
    assert (entry.actor_id, entry.subject_user) == (pair.user_id, pair.user_id)
    assert (entry.target_type, entry.target_id) == ("session", pair.session_id)


async def test_a_no_op_logout_is_not_audited(world: World) -> None:
    await signed_in(world)
    before = len(world.audit.entries)
    await world.execute(Logout(refresh_token="never-issued"))
    assert len(world.audit.entries) == before


async def test_logout_all_is_audited_with_the_number_of_sessions(world: World) -> None:
    pairs = [await signed_in(world) for _ in range(2)]
    await world.execute(LogoutAll(user_id=UserId(pairs[0].user_id)))
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LOGOUT
    assert entry.metadata == {"sessions": 2, "all": True}
