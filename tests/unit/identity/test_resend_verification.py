from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.resend_verification import ResendVerification
from domain.identity.errors import InvalidEmail
from domain.identity.events import EmailVerificationRequested
from domain.identity.ids import UserId
from tests.unit.identity.world import World


async def test_resend_by_user_id_owes_a_new_verification_mail(world: World) -> None:
    user = await world.register()
    world.uow.drain()
    await world.execute(ResendVerification(user_id=UserId(user.id)))
    assert world.uow.published == [EmailVerificationRequested(user_id=UserId(user.id))]


async def test_resend_by_address_owes_a_new_verification_mail(world: World) -> None:
    user = await world.register()
    world.uow.drain()
    await world.execute(ResendVerification(email="ADA@example.com"))
    assert world.uow.published == [EmailVerificationRequested(user_id=UserId(user.id))]


@pytest.mark.parametrize("by_id", [True, False])
async def test_resend_for_a_verified_address_does_nothing(world: World, by_id: bool) -> None:
    user = await world.register(verified=True)
    world.uow.drain()
    command = (
        ResendVerification(user_id=UserId(user.id))
        if by_id
        else ResendVerification(email="ada@example.com")
    )
    await world.execute(command)
    assert world.uow.published == []


@pytest.mark.parametrize(
    "command",
    [
        ResendVerification(email="nobody@example.com"),
        ResendVerification(email="not an address"),
        ResendVerification(user_id=UserId(uuid4())),
    ],
    ids=["unknown-address", "invalid-address", "unknown-user"],
)
async def test_resend_says_nothing_about_accounts_that_do_not_exist(
    world: World, command: ResendVerification
) -> None:
    await world.register()
    world.uow.drain()
    assert await world.execute(command) is None
    assert world.uow.published == []


@pytest.mark.parametrize("email", [None, ""])
async def test_resend_without_user_or_address_is_invalid(world: World, email: str | None) -> None:
    with pytest.raises(InvalidEmail) as caught:
        await world.execute(ResendVerification(email=email))
    assert caught.value.field == "email"
