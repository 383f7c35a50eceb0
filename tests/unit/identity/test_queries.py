from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.logout import Logout
from application.commands.identity.update_profile import UpdateProfile
from application.ports.identity_reads import MAX_SESSIONS_LISTED
from application.queries.identity.get_me import GetMe
from application.queries.identity.list_sessions import ListSessions
from domain.identity.errors import UserNotFound
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import SESSION_LIFETIME, World


async def test_get_me_returns_the_users_view(world: World) -> None:
    user = await world.register()
    assert await world.execute(GetMe(user_id=UserId(user.id))) == user


async def test_get_me_reflects_later_changes(world: World) -> None:
    user = await world.register(verified=True)
    await world.execute(UpdateProfile(user_id=UserId(user.id), name="Countess"))
    me = await world.execute(GetMe(user_id=UserId(user.id)))
    assert (me.name, me.email_verified) == ("Countess", True)


async def test_get_me_of_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(UserNotFound):
        await world.execute(GetMe(user_id=UserId(uuid4())))


async def test_list_sessions_returns_live_sessions_newest_first(world: World) -> None:
    await world.register()
    pairs = []
    for agent in ["first", "second", "third"]:
        pairs.append(await world.login(user_agent=agent))
        world.clock.advance(minutes=1)
    views = await world.execute(
        ListSessions(
            user_id=UserId(pairs[0].user_id), current_session_id=SessionId(pairs[1].session_id)
        )
    )
    assert [v.user_agent for v in views] == ["third", "second", "first"]
    assert [v.current for v in views] == [False, True, False]


async def test_list_sessions_shows_what_each_session_is(world: World) -> None:
    await world.register()
    pair = await world.login(user_agent="Firefox", client_address="198.51.100.4")
    [view] = await world.execute(
        ListSessions(user_id=UserId(pair.user_id), current_session_id=SessionId(pair.session_id))
    )
    assert view.id == pair.session_id
    assert (view.user_agent, view.client_address) == ("Firefox", "198.51.100.4")
    assert view.created_at == view.last_used_at == world.clock.now()
    assert view.expires_at == world.clock.now() + SESSION_LIFETIME


async def test_list_sessions_leaves_out_ended_sessions(world: World) -> None:
    await world.register()
    ended = await world.login()
    live = await world.login()
    await world.execute(Logout(refresh_token=ended.refresh_token))
    views = await world.execute(
        ListSessions(user_id=UserId(live.user_id), current_session_id=SessionId(live.session_id))
    )
    assert [v.id for v in views] == [live.session_id]


async def test_list_sessions_leaves_out_expired_sessions(world: World) -> None:
    await world.register()
    old = await world.login()
    world.clock.advance(days=20)
    new = await world.login()
    world.clock.advance(days=10)
    views = await world.execute(
        ListSessions(user_id=UserId(old.user_id), current_session_id=SessionId(new.session_id))
    )
    assert [v.id for v in views] == [new.session_id]


async def test_list_sessions_shows_only_the_users_own_sessions(world: World) -> None:
    await world.register("ada@example.com")
    await world.register("bob@example.com")
    ada = await world.login("ada@example.com")
    await world.login("bob@example.com")
    views = await world.execute(
        ListSessions(user_id=UserId(ada.user_id), current_session_id=SessionId(ada.session_id))
    )
    assert [v.id for v in views] == [ada.session_id]


async def test_list_sessions_is_capped(world: World) -> None:
    await world.register()
    pairs = [await world.login() for _ in range(MAX_SESSIONS_LISTED + 1)]
    views = await world.execute(
        ListSessions(
            user_id=UserId(pairs[0].user_id), current_session_id=SessionId(pairs[0].session_id)
        )
    )
    assert len(views) == MAX_SESSIONS_LISTED
    assert views[0].id == pairs[-1].session_id
    assert not any(v.current for v in views)  # the oldest fell off the list
