from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.logout import Logout
from application.common.authentication import AuthenticatedUser
from application.common.identity import TokenPair
from domain.identity.errors import InvalidAccessToken
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason
from tests.unit.identity.world import SESSION_LIFETIME, World


async def signed_in(world: World) -> TokenPair:
    await world.register()
    return await world.login()


async def test_a_valid_token_of_a_live_session_authenticates(world: World) -> None:
    pair = await signed_in(world)
    assert await world.authenticate(pair.access_token) == AuthenticatedUser(
        user_id=UserId(pair.user_id), session_id=SessionId(pair.session_id)
    )


async def test_a_live_session_is_remembered_in_the_cache(world: World) -> None:
    pair = await signed_in(world)
    await world.authenticate(pair.access_token)
    assert await world.cache.is_active(SessionId(pair.session_id)) is True


@pytest.mark.parametrize("token", ["", "garbage", "access-999"])
async def test_a_token_the_issuer_refuses_is_refused(world: World, token: str) -> None:
    await signed_in(world)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(token)


async def test_an_expired_access_token_is_refused(world: World) -> None:
    pair = await signed_in(world)
    world.clock.advance(seconds=pair.expires_in)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_a_session_revoked_in_the_database_is_refused_on_a_cache_miss(
    world: World,
) -> None:
    pair = await signed_in(world)
    world.stored_session(pair.session_id).revoke(world.clock.now(), RevokeReason.LOGOUT)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_a_refused_session_is_not_remembered_as_live(world: World) -> None:
    pair = await signed_in(world)
    world.stored_session(pair.session_id).revoke(world.clock.now(), RevokeReason.LOGOUT)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)
    assert await world.cache.is_active(SessionId(pair.session_id)) is None


async def test_a_revocation_in_the_cache_is_refused_without_the_database(world: World) -> None:
    pair = await signed_in(world)
    await world.cache.forget([SessionId(pair.session_id)])
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_the_cache_answer_is_trusted_until_it_expires(world: World) -> None:
    pair = await signed_in(world)
    await world.authenticate(pair.access_token)
    world.stored_session(pair.session_id).revoke(world.clock.now(), RevokeReason.LOGOUT)
    assert await world.authenticate(pair.access_token)
    world.clock.advance(seconds=30)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_an_expired_session_is_refused(world: World) -> None:
    pair = await signed_in(world)
    world.issuer.ttl_seconds = int(SESSION_LIFETIME.total_seconds()) * 2
    long_lived = world.issuer.issue(
        UserId(pair.user_id), SessionId(pair.session_id), world.clock.now()
    )
    world.clock.advance(days=SESSION_LIFETIME.days)
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(long_lived.token)


async def test_a_token_naming_another_users_session_is_refused(world: World) -> None:
    pair = await signed_in(world)
    forged = world.issuer.issue(UserId(uuid4()), SessionId(pair.session_id), world.clock.now())
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(forged.token)


async def test_without_the_cache_the_database_decides(world: World) -> None:
    pair = await signed_in(world)
    world.cache.available = False
    assert await world.authenticate(pair.access_token)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)
