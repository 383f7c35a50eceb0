"""The per-process cache of API keys: a key used once is answered from memory,
and every change of who may act is announced, so the next request sees it."""

from __future__ import annotations

import asyncio

import pytest

from application.commands.tenancy.change_member_role import ChangeMemberRole
from application.commands.tenancy.delete_workspace import DeleteWorkspace
from application.commands.tenancy.leave_workspace import LeaveWorkspace
from application.commands.tenancy.remove_member import RemoveMember
from application.commands.tenancy.revoke_api_key import RevokeApiKey
from application.commands.tenancy.transfer_ownership import TransferOwnership
from application.common.api_keys import CachedApiKeyLookup
from application.ports.tenancy import ApiKeyLookup
from domain.identity.api_key import ApiKey, InvalidApiKeyCredential
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Role, permissions_of
from tests.unit.tenancy.world import Team, World


class CountingLookup(ApiKeyLookup):
    def __init__(self, inner: ApiKeyLookup) -> None:
        self.inner = inner
        self.reads = 0
        self.gate: asyncio.Event | None = None

    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        self.reads += 1
        found = await self.inner.by_prefix(prefix)
        if self.gate is not None:
            await self.gate.wait()
        return found


async def counted(world: World, ttl: float = 60) -> CountingLookup:
    counting = CountingLookup(world.keys)
    world.key_cache = CachedApiKeyLookup(counting, ttl=ttl)
    world.access._forget = world.key_cache.forget
    return counting


async def test_a_key_seen_once_is_answered_from_memory(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    reads = await counted(world)
    for _ in range(5):
        assert (await world.authenticate(secret)).workspace_id == team.workspace
    assert reads.reads == 1


async def test_an_unknown_key_is_not_kept_so_a_new_key_works_at_once(world: World) -> None:
    team = await world.team()
    reads = await counted(world)
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate("sk-ss-" + "x" * 43)
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate("sk-ss-" + "x" * 43)
    assert reads.reads == 2
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    assert (await world.authenticate(secret)).workspace_id == team.workspace


async def test_entries_expire_after_their_ttl(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    reads = await counted(world, ttl=0.01)
    await world.authenticate(secret)
    await asyncio.sleep(0.02)
    await world.authenticate(secret)
    assert reads.reads == 2


async def revoke(world: World, team: Team) -> None:
    admin = await world.actor(team, Role.ADMIN)
    for key_id in list(world.tables.api_keys):
        await world.execute(RevokeApiKey(actor=admin, key_id=key_id))


async def remove_creator(world: World, team: Team) -> None:
    owner = await world.actor(team, Role.OWNER)
    await world.execute(RemoveMember(actor=owner, user_id=team.admin))


async def creator_leaves(world: World, team: Team) -> None:
    await world.execute(LeaveWorkspace(actor=await world.actor(team, Role.ADMIN)))


async def delete_workspace(world: World, team: Team) -> None:
    await world.execute(DeleteWorkspace(actor=await world.actor(team, Role.OWNER)))


@pytest.mark.parametrize("change", [revoke, remove_creator, creator_leaves, delete_workspace])
async def test_a_key_in_use_is_refused_from_the_request_after_the_change(
    world: World, change: object
) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    await world.authenticate(secret)  # now cached
    assert callable(change)
    await change(world, team)
    assert team.workspace in world.access.announced
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_a_key_in_use_follows_its_creator_to_a_lower_role_at_once(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    assert (await world.authenticate(secret)).role is Role.ADMIN
    owner = await world.actor(team, Role.OWNER)
    await world.execute(ChangeMemberRole(actor=owner, user_id=team.admin, role="viewer"))
    actor = await world.authenticate(secret)
    assert actor.role is Role.VIEWER
    assert actor.permissions == permissions_of(Role.VIEWER)


async def test_a_key_of_the_old_owner_narrows_after_a_transfer(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.OWNER))
    assert (await world.authenticate(secret)).role is Role.OWNER
    owner = await world.actor(team, Role.OWNER)
    await world.execute(TransferOwnership(actor=owner, user_id=team.admin))
    assert (await world.authenticate(secret)).role is Role.ADMIN


async def test_a_change_in_another_workspace_keeps_this_ones_keys(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    reads = await counted(world)
    await world.authenticate(secret)
    world.key_cache.forget(WorkspaceId(team.outsider))  # not a workspace of this key
    await world.authenticate(secret)
    assert reads.reads == 1
    world.key_cache.forget(None)
    await world.authenticate(secret)
    assert reads.reads == 2


async def test_a_read_overtaken_by_a_change_is_not_kept(world: World) -> None:
    """The read may have started before the change's commit: keeping it would
    hold the old answer past the announcement."""
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    reads = await counted(world)
    reads.gate = asyncio.Event()
    pending = asyncio.create_task(world.authenticate(secret))
    await asyncio.sleep(0)
    world.key_cache.forget(team.workspace)
    reads.gate.set()
    await pending
    reads.gate = None
    await world.authenticate(secret)
    assert reads.reads == 2
