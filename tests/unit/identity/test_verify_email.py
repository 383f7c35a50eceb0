from __future__ import annotations

import pytest

from application.commands.identity.verify_email import VerifyEmail
from domain.identity.errors import InvalidOneTimeToken
from domain.identity.events import EmailVerified
from domain.identity.ids import UserId
from domain.identity.one_time_token import TokenPurpose
from tests.unit.identity.world import World


async def mailed(
    world: World, purpose: TokenPurpose = TokenPurpose.VERIFY_EMAIL
) -> tuple[UserId, str]:
    user = await world.register()
    token = await world.mail_token(UserId(user.id), purpose)
    world.uow.drain()
    return UserId(user.id), token


async def test_verify_email_marks_the_address_verified(world: World) -> None:
    user_id, token = await mailed(world)
    await world.execute(VerifyEmail(token=token))
    assert world.stored_user(user_id).email_verified is True


async def test_verify_email_publishes_email_verified(world: World) -> None:
    user_id, token = await mailed(world)
    await world.execute(VerifyEmail(token=token))
    assert world.uow.published == [EmailVerified(user_id=user_id)]


async def test_a_verification_token_works_once(world: World) -> None:
    _, token = await mailed(world)
    await world.execute(VerifyEmail(token=token))
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(VerifyEmail(token=token))


async def test_an_older_verification_token_still_verifies_an_already_verified_address(
    world: World,
) -> None:
    user_id, first = await mailed(world)
    second = await world.mail_token(user_id, TokenPurpose.VERIFY_EMAIL)
    await world.execute(VerifyEmail(token=second))
    world.uow.drain()
    await world.execute(VerifyEmail(token=first))
    assert world.uow.published == []


@pytest.mark.parametrize("token", [None, "", "never-issued"])
async def test_a_missing_or_unknown_token_is_refused(world: World, token: str | None) -> None:
    await mailed(world)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(VerifyEmail(token=token))


async def test_a_reset_token_does_not_verify_the_address(world: World) -> None:
    user_id, token = await mailed(world, TokenPurpose.RESET_PASSWORD)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(VerifyEmail(token=token))
    assert world.stored_user(user_id).email_verified is False


async def test_an_expired_verification_token_is_refused(world: World) -> None:
    user_id, token = await mailed(world)
    world.clock.advance(hours=24)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(VerifyEmail(token=token))
    assert world.stored_user(user_id).email_verified is False


async def test_a_verification_token_works_until_just_before_it_expires(world: World) -> None:
    user_id, token = await mailed(world)
    world.clock.advance(hours=24, microseconds=-1)
    await world.execute(VerifyEmail(token=token))
    assert world.stored_user(user_id).email_verified is True
