from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.update_profile import UpdateProfile
from domain.identity.errors import InvalidName, UserNotFound
from domain.identity.ids import UserId
from tests.unit.identity.world import World


async def test_update_profile_renames_the_user(world: World) -> None:
    user = await world.register()
    world.clock.advance(minutes=1)
    view = await world.execute(UpdateProfile(user_id=UserId(user.id), name="  Countess Lovelace "))
    assert view.name == "Countess Lovelace"
    stored = world.stored_user(user.id)
    assert stored.name.value == "Countess Lovelace"
    assert stored.updated_at == world.clock.now()


async def test_update_profile_without_changes_commits_nothing(world: World) -> None:
    user = await world.register()
    commits = world.uow.commits
    view = await world.execute(UpdateProfile(user_id=UserId(user.id)))
    assert view == user
    assert world.uow.commits == commits


async def test_update_profile_refuses_an_invalid_name(world: World) -> None:
    user = await world.register()
    with pytest.raises(InvalidName) as caught:
        await world.execute(UpdateProfile(user_id=UserId(user.id), name="\u200b"))
    assert caught.value.field == "name"
    assert world.stored_user(user.id).name.value == "Ada Lovelace"


async def test_update_profile_of_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(UserNotFound):
        await world.execute(UpdateProfile(user_id=UserId(uuid4()), name="Nobody"))
