"""WorkspaceRepository: InMemoryWorkspaces and SqlWorkspaceRepository agree."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.common.errors import StorageUnavailable
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role
from domain.tenancy.workspace import Membership, Workspace, WorkspaceName
from tests.integration.contracts.storage import Backend, stored_user

pytestmark = pytest.mark.integration


def new_workspace(
    backend: Backend, owner: UserId, *, name: str = "Team", personal: bool = False
) -> Workspace:
    return Workspace.create(
        id=WorkspaceId(backend.ids.new()),
        name=WorkspaceName.parse(name),
        owner=owner,
        now=backend.clock.now(),
        personal=personal,
    )


async def stored_workspace(backend: Backend, workspace: Workspace) -> Workspace:
    async with backend.unit() as unit:
        await unit.workspaces.add(workspace)
        await unit.tx.commit()
    return workspace


def fields(workspace: Workspace) -> tuple[object, ...]:
    return (
        workspace.id,
        workspace.name,
        workspace.personal,
        workspace.created_at,
        workspace.updated_at,
        workspace.members,
    )


async def test_an_added_workspace_reads_back_with_its_members(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    workspace = new_workspace(backend, ada.id)
    workspace.add_member(bob.id, Role.VIEWER, backend.clock.now())
    await stored_workspace(backend, workspace)
    async with backend.unit() as unit:
        loaded = await unit.workspaces.get(workspace.id)
        assert await unit.workspaces.get(WorkspaceId(uuid4())) is None
    assert loaded is not None
    assert fields(loaded) == fields(workspace)
    assert "tenancy.workspace_created" in await backend.published_topics()


async def test_an_uncommitted_workspace_is_not_kept(backend: Backend) -> None:
    ada = await stored_user(backend)
    workspace = new_workspace(backend, ada.id)
    async with backend.unit() as unit:
        await unit.workspaces.add(workspace)
    async with backend.unit() as unit:
        assert await unit.workspaces.get(workspace.id) is None


async def test_a_member_must_be_a_user(backend: Backend) -> None:
    ada = await stored_user(backend)
    workspace = new_workspace(backend, ada.id)
    workspace.add_member(UserId(uuid4()), Role.MEMBER, backend.clock.now())
    async with backend.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.workspaces.add(workspace)


async def test_a_workspace_has_at_most_one_owner(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    workspace = new_workspace(backend, ada.id)
    workspace.members[bob.id] = Membership(
        user_id=bob.id, role=Role.OWNER, joined_at=backend.clock.now()
    )
    async with backend.unit() as unit:
        with pytest.raises(StorageUnavailable):
            await unit.workspaces.add(workspace)


async def test_save_writes_name_and_members(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    carol = await stored_user(backend, "carol@example.com")
    workspace = new_workspace(backend, ada.id)
    workspace.add_member(bob.id, Role.MEMBER, backend.clock.now())
    await stored_workspace(backend, workspace)
    backend.clock.advance(hours=1)
    async with backend.unit() as unit:
        loaded = await unit.workspaces.get(workspace.id)
        assert loaded is not None
        loaded.rename(ada.id, WorkspaceName.parse("Renamed"), backend.clock.now())
        loaded.remove_member(ada.id, bob.id)
        loaded.add_member(carol.id, Role.ADMIN, backend.clock.now())
        await unit.workspaces.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.workspaces.get(workspace.id)
    assert again is not None
    assert fields(again) == fields(loaded)


async def test_ownership_moves_in_one_save(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    workspace = new_workspace(backend, ada.id)
    workspace.add_member(bob.id, Role.ADMIN, backend.clock.now())
    await stored_workspace(backend, workspace)
    async with backend.unit() as unit:
        loaded = await unit.workspaces.get(workspace.id)
        assert loaded is not None
        loaded.transfer_ownership(ada.id, bob.id)
        await unit.workspaces.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.workspaces.get(workspace.id)
        assert again is not None
        assert again.owner == bob.id
        assert [w.id for w in await unit.workspaces.owned_by(bob.id)] == [workspace.id]
        assert await unit.workspaces.owned_by(ada.id) == []


async def test_saving_a_deleted_workspace_removes_it(backend: Backend) -> None:
    ada = await stored_user(backend)
    workspace = await stored_workspace(backend, new_workspace(backend, ada.id))
    async with backend.unit() as unit:
        loaded = await unit.workspaces.get(workspace.id)
        assert loaded is not None
        loaded.delete(ada.id)
        await unit.workspaces.save(loaded)
        await unit.tx.commit()
    async with backend.unit() as unit:
        assert await unit.workspaces.get(workspace.id) is None
    assert (await backend.published_topics())[-1] == "tenancy.workspace_deleted"


async def test_owned_by_lists_only_the_workspaces_the_user_owns(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    personal = await stored_workspace(backend, new_workspace(backend, ada.id, personal=True))
    team = new_workspace(backend, ada.id, name="Team")
    team.add_member(bob.id, Role.ADMIN, backend.clock.now())
    await stored_workspace(backend, team)
    await stored_workspace(backend, new_workspace(backend, bob.id, name="Bob's"))
    async with backend.unit() as unit:
        owned = await unit.workspaces.owned_by(ada.id)
        assert sorted(w.id for w in owned) == sorted([personal.id, team.id])
        assert await unit.workspaces.owned_by(UserId(uuid4())) == []


async def test_deleting_a_user_removes_their_memberships(backend: Backend) -> None:
    ada = await stored_user(backend, "ada@example.com")
    bob = await stored_user(backend, "bob@example.com")
    team = new_workspace(backend, ada.id)
    team.add_member(bob.id, Role.MEMBER, backend.clock.now())
    await stored_workspace(backend, team)
    async with backend.unit() as unit:
        await unit.users.delete(bob)
        await unit.tx.commit()
    async with backend.unit() as unit:
        again = await unit.workspaces.get(team.id)
    assert again is not None
    assert list(again.members) == [ada.id]
