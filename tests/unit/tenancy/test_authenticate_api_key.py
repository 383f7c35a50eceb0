"""AuthenticateApiKey: an ``sk-ss-`` secret to the workspace actor it stands for."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from application.commands.tenancy.change_member_role import ChangeMemberRole
from application.commands.tenancy.remove_member import RemoveMember
from application.commands.tenancy.revoke_api_key import RevokeApiKey
from domain.common.errors import StorageUnavailable
from domain.identity.api_key import InvalidApiKeyCredential, RateLimited
from domain.tenancy.roles import KEY_SCOPES, Permission, Role, permissions_of
from tests.unit.tenancy.world import Team, World


async def demote_admin_to_viewer(world: World, team: Team) -> None:
    owner = await world.actor(team, Role.OWNER)
    await world.execute(ChangeMemberRole(actor=owner, user_id=team.admin, role="viewer"))


async def test_a_key_acts_in_its_workspace_for_its_creator(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    actor = await world.authenticate(secret)
    assert actor.workspace_id == team.workspace
    assert actor.user_id == team.admin
    assert actor.role is Role.ADMIN
    assert actor.api_key_id == key.id
    assert actor.permissions == KEY_SCOPES & permissions_of(Role.ADMIN)


async def test_a_key_acts_only_within_its_scopes(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.OWNER), scopes=[Permission.RESOURCES_READ]
    )
    actor = await world.authenticate(secret)
    assert actor.permissions == {Permission.RESOURCES_READ}


async def test_a_key_follows_its_creator_down_to_a_lower_role(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    await demote_admin_to_viewer(world, team)
    actor = await world.authenticate(secret)
    assert actor.role is Role.VIEWER
    assert actor.permissions == permissions_of(Role.VIEWER)


async def test_a_key_whose_scopes_the_creator_no_longer_holds_is_refused(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.ADMIN), scopes=[Permission.RESOURCES_WRITE]
    )
    await demote_admin_to_viewer(world, team)
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_a_key_whose_creator_was_removed_is_refused(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    await world.execute(RemoveMember(actor=await world.actor(team, Role.OWNER), user_id=team.admin))
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_a_revoked_key_is_refused_from_the_next_request_on(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, secret = await world.api_key(admin)
    await world.execute(RevokeApiKey(actor=admin, key_id=key.id))
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_an_expired_key_is_refused(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.ADMIN), expires_at=world.clock.now() + timedelta(hours=1)
    )
    await world.authenticate(secret)
    world.clock.advance(hours=1)
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


@pytest.mark.parametrize(
    "secret",
    ["", "Bearer something", "sk-ss-short", "sk-ss-" + "a" * 95, "sk-xx-" + "a" * 43],
)
async def test_a_malformed_secret_is_refused(world: World, secret: str) -> None:
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)


async def test_an_unknown_secret_is_refused(world: World) -> None:
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate("sk-ss-" + "Z" * 43)


async def test_a_wrong_secret_with_a_real_keys_prefix_is_refused(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert forged[:12] == secret[:12]
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(forged)


async def test_keys_sharing_a_prefix_are_told_apart_by_their_secret(world: World) -> None:
    team = await world.team()
    first, first_secret = await world.api_key(await world.actor(team, Role.ADMIN))
    second, _ = await world.api_key(await world.actor(team, Role.OWNER))
    world.tables.api_keys[second.id].key.prefix = first.prefix  # a prefix collision
    await world.commit_givens()
    assert (await world.authenticate(first_secret)).api_key_id == first.id


async def test_a_use_is_noted_for_last_used_at(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    world.clock.advance(minutes=5)
    await world.authenticate(secret)
    assert await world.usage.pending_last_used([key.id]) == {key.id: world.clock.now()}


async def test_a_refused_secret_is_not_noted_as_a_use(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret[:-1] + "!")
    assert await world.usage.pending_last_used([key.id]) == {}


# -- rate limits -----------------------------------------------------------------------


async def test_a_key_without_a_rate_limit_is_never_counted(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    for _ in range(5):
        await world.authenticate(secret)
    assert world.limiter.hits == []


async def test_a_key_is_let_through_up_to_its_limit_per_minute(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=3)
    remaining = []
    for _ in range(3):
        authenticator = world.authenticator()
        await authenticator.execute(secret)
        assert authenticator.decision is not None
        remaining.append(authenticator.decision.remaining)
    assert remaining == [2, 1, 0]
    assert world.limiter.hits == [f"api-key:{key.id}"] * 3


async def test_a_request_over_the_limit_is_rate_limited_with_retry_after(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=2)
    await world.authenticate(secret)
    world.clock.advance(seconds=20)
    await world.authenticate(secret)
    world.clock.advance(seconds=10)
    with pytest.raises(RateLimited) as refused:
        await world.authenticate(secret)
    assert refused.value.limit == 2
    assert refused.value.retry_after == 30  # the first hit leaves the window 30 s from now


async def test_a_rate_limited_request_is_not_noted_as_a_use(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=1)
    await world.authenticate(secret)
    noted = world.clock.now()
    world.clock.advance(seconds=1)
    with pytest.raises(RateLimited):
        await world.authenticate(secret)
    assert await world.usage.pending_last_used([key.id]) == {key.id: noted}


async def test_the_window_slides_a_minute_after_the_oldest_request(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=1)
    await world.authenticate(secret)
    world.clock.advance(seconds=59)
    with pytest.raises(RateLimited):
        await world.authenticate(secret)
    world.clock.advance(seconds=1)
    await world.authenticate(secret)


async def test_each_key_has_its_own_limit(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    _, first = await world.api_key(admin, rate_limit_per_minute=1)
    _, second = await world.api_key(admin, rate_limit_per_minute=1)
    await world.authenticate(first)
    await world.authenticate(second)
    with pytest.raises(RateLimited):
        await world.authenticate(first)


async def test_a_revoked_key_is_refused_before_it_is_counted(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, secret = await world.api_key(admin, rate_limit_per_minute=5)
    await world.execute(RevokeApiKey(actor=admin, key_id=key.id))
    with pytest.raises(InvalidApiKeyCredential):
        await world.authenticate(secret)
    assert world.limiter.hits == []


async def test_when_the_limiter_cannot_decide_the_request_is_refused(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=5)
    world.limiter.available = False
    with pytest.raises(StorageUnavailable):
        await world.authenticate(secret)


@given(wait_ms=st.integers(min_value=1, max_value=59_999))
@example(wait_ms=15_000)  # a whole, odd number of seconds
@example(wait_ms=30_000)
@example(wait_ms=400)
async def test_retry_after_is_the_wait_until_a_slot_frees_rounded_up(wait_ms: int) -> None:
    world = World()
    team = await world.team()
    _, secret = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=1)
    await world.authenticate(secret)
    world.clock.advance(milliseconds=60_000 - wait_ms)  # the slot frees in wait_ms
    with pytest.raises(RateLimited) as refused:
        await world.authenticate(secret)
    assert refused.value.retry_after == max(1, math.ceil(wait_ms / 1000))
