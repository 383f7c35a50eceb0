from __future__ import annotations

from collections.abc import Sequence
from uuid import uuid4

import pytest

from application.commands.identity.delete_account import DeleteAccount
from application.commands.identity.refresh_session import RefreshSession
from domain.identity.errors import (
    InvalidAccessToken,
    InvalidCredentials,
    InvalidRefreshToken,
    UserNotFound,
    WrongPassword,
)
from domain.identity.events import UserDeleted
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.tenancy.errors import OwnsSharedWorkspaces
from domain.tenancy.events import WorkspaceDeleted
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role
from domain.tenancy.workspace import Workspace, WorkspaceName
from tests.unit.identity.world import PASSWORD, World


async def given_workspace(
    world: World, *, owner: UserId, members: Sequence[UserId] = ()
) -> Workspace:
    workspace = Workspace.create(
        id=WorkspaceId(world.ids.new()),
        name=WorkspaceName.parse("Team Rocket"),
        owner=owner,
        now=world.clock.now(),
    )
    for member in members:
        workspace.add_member(member, Role.MEMBER, world.clock.now())
    await world.workspaces.add(workspace)
    await world.uow.commit()
    return workspace


async def test_delete_account_erases_the_user(world: World) -> None:
    user = await world.register()
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert world.tables.users == {}
    with pytest.raises(InvalidCredentials):
        await world.login()


async def test_delete_account_publishes_user_deleted(world: World) -> None:
    user = await world.register()
    world.uow.drain()
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert world.uow.published[-1] == UserDeleted(user_id=UserId(user.id))


async def test_delete_account_deletes_the_personal_workspace(world: World) -> None:
    user = await world.register()
    [personal] = world.tables.workspaces
    world.uow.drain()
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert world.tables.workspaces == {}
    assert WorkspaceDeleted(workspace_id=personal) in world.uow.published


async def test_delete_account_deletes_workspaces_the_user_owns_alone(world: World) -> None:
    user = await world.register()
    team = await given_workspace(world, owner=UserId(user.id))
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert team.id not in world.tables.workspaces


async def test_owning_a_workspace_others_use_blocks_the_deletion(world: World) -> None:
    ada = await world.register("ada@example.com")
    bob = await world.register("bob@example.com")
    team = await given_workspace(world, owner=UserId(ada.id), members=[UserId(bob.id)])
    with pytest.raises(OwnsSharedWorkspaces) as caught:
        await world.execute(DeleteAccount(user_id=UserId(ada.id), password=PASSWORD))
    assert "Team Rocket" in caught.value.detail
    assert UserId(ada.id) in world.tables.users
    assert len(world.tables.workspaces) == 3  # two personal ones and the team
    assert world.tables.workspaces[team.id].owner == ada.id


async def test_delete_account_leaves_workspaces_of_others_without_the_user(world: World) -> None:
    ada = await world.register("ada@example.com")
    bob = await world.register("bob@example.com")
    team = await given_workspace(world, owner=UserId(ada.id), members=[UserId(bob.id)])
    await world.execute(DeleteAccount(user_id=UserId(bob.id), password=PASSWORD))
    assert list(world.tables.workspaces[team.id].members) == [ada.id]


async def test_delete_account_removes_sessions_and_tokens(world: World) -> None:
    user = await world.register()
    pair = await world.login()
    await world.mail_token(UserId(user.id), TokenPurpose.RESET_PASSWORD)
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert world.tables.sessions == {}
    assert world.tables.refresh_tokens == {}
    assert world.tables.one_time_tokens == {}
    with pytest.raises(InvalidRefreshToken):
        await world.execute(RefreshSession(refresh_token=pair.refresh_token))


async def test_delete_account_refuses_the_access_tokens_at_once(world: World) -> None:
    user = await world.register()
    pair = await world.login()
    await world.authenticate(pair.access_token)
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    assert await world.cache.is_active(SessionId(pair.session_id)) is False
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_the_address_of_a_deleted_account_is_free_again(world: World) -> None:
    user = await world.register()
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    again = await world.register()
    assert again.id != user.id


async def test_delete_account_with_a_wrong_password_keeps_everything(world: World) -> None:
    user = await world.register()
    pair = await world.login()
    with pytest.raises(WrongPassword) as caught:
        await world.execute(DeleteAccount(user_id=UserId(user.id), password="not my password"))
    assert caught.value.field == "password"
    assert UserId(user.id) in world.tables.users
    assert await world.authenticate(pair.access_token)


async def test_delete_account_of_an_unknown_user_is_not_found(world: World) -> None:
    with pytest.raises(UserNotFound):
        await world.execute(DeleteAccount(user_id=UserId(uuid4()), password=PASSWORD))
