from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.change_password import ChangePassword
from application.commands.identity.refresh_session import RefreshSession
from application.common.identity import TokenPair
from domain.audit.entry import AuditAction
from domain.identity.errors import (
    InvalidAccessToken,
    InvalidCredentials,
    InvalidRefreshToken,
    UserNotFound,
    WeakPassword,
    WrongPassword,
)
from domain.identity.events import PasswordChanged
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import OTHER_PASSWORD, PASSWORD, World


async def two_sessions(world: World) -> tuple[TokenPair, TokenPair]:
    await world.register()
    current, other = await world.login(), await world.login()
    world.uow.drain()
    return current, other


def change(pair: TokenPair, current: str = PASSWORD, new: str = OTHER_PASSWORD) -> ChangePassword:
    return ChangePassword(
        user_id=UserId(pair.user_id),
        session_id=SessionId(pair.session_id),
        current_password=current,
        new_password=new,
    )


async def test_change_password_replaces_the_password(world: World) -> None:
    current, _ = await two_sessions(world)
    await world.execute(change(current))
    assert await world.login(password=OTHER_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await world.login(password=PASSWORD)


async def test_change_password_publishes_password_changed_not_reset(world: World) -> None:
    current, _ = await two_sessions(world)
    await world.execute(change(current))
    assert PasswordChanged(user_id=UserId(current.user_id), reset=False) in world.uow.published


async def test_change_password_signs_out_every_other_session(world: World) -> None:
    current, other = await two_sessions(world)
    await world.authenticate(other.access_token)
    await world.execute(change(current))
    assert world.stored_session(other.session_id).revoke_reason == "password_changed"
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(other.access_token)
    with pytest.raises(InvalidRefreshToken):
        await world.execute(RefreshSession(refresh_token=other.refresh_token))


async def test_change_password_keeps_the_current_session(world: World) -> None:
    current, _ = await two_sessions(world)
    await world.execute(change(current))
    assert world.stored_session(current.session_id).revoked_at is None
    assert await world.authenticate(current.access_token)
    assert await world.execute(RefreshSession(refresh_token=current.refresh_token))


async def test_change_password_with_a_wrong_current_password_changes_nothing(
    world: World,
) -> None:
    current, other = await two_sessions(world)
    with pytest.raises(WrongPassword) as caught:
        await world.execute(change(current, current="not my password"))
    assert caught.value.field == "current_password"
    assert world.uow.published == []
    assert world.stored_session(other.session_id).revoked_at is None
    assert await world.login(password=PASSWORD)


async def test_change_password_accepts_the_current_password_in_another_unicode_form(
    world: World,
) -> None:
    await world.register(password="velvetocean42")
    pair = await world.login(password="velvetocean42")
    await world.execute(change(pair, current="ｖｅｌｖｅｔｏｃｅａｎ４２"))
    assert await world.login(password=OTHER_PASSWORD)


@pytest.mark.parametrize("new", ["short", "password123", "ada@example.com", "Ada Lovelace"])
async def test_change_password_refuses_a_weak_new_password(world: World, new: str) -> None:
    current, other = await two_sessions(world)
    with pytest.raises(WeakPassword) as caught:
        await world.execute(change(current, new=new))
    assert caught.value.field == "new_password"
    assert world.stored_session(other.session_id).revoked_at is None
    assert await world.login(password=PASSWORD)


async def test_change_password_for_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(UserNotFound):
        await world.execute(
            ChangePassword(
                user_id=UserId(uuid4()),
                session_id=SessionId(uuid4()),
                current_password=PASSWORD,
                new_password=OTHER_PASSWORD,
            )
        )


async def test_change_password_is_audited_with_the_sessions_it_ended(world: World) -> None:
    current, _ = await two_sessions(world)
    await world.execute(change(current))
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.PASSWORD_CHANGED
    assert (entry.actor_id, entry.subject_user) == (current.user_id, current.user_id)
    assert entry.metadata == {"sessions_revoked": 1}


async def test_a_refused_password_change_is_not_audited(world: World) -> None:
    current, _ = await two_sessions(world)
    before = len(world.audit.entries)
    with pytest.raises(WrongPassword):
        await world.execute(change(current, current="not my password"))
    with pytest.raises(WeakPassword):
        await world.execute(change(current, new="short"))
    assert len(world.audit.entries) == before
