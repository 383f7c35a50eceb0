from __future__ import annotations

import pytest

from application.commands.identity.forgot_password import ForgotPassword
from domain.identity.events import PasswordResetRequested
from domain.identity.ids import UserId
from tests.unit.identity.world import World


async def test_forgot_password_owes_a_reset_mail_to_an_existing_account(world: World) -> None:
    user = await world.register()
    world.uow.drain()
    await world.execute(ForgotPassword(email="ada@example.com"))
    assert world.uow.published == [PasswordResetRequested(user_id=UserId(user.id))]


async def test_forgot_password_finds_the_account_in_any_case(world: World) -> None:
    await world.register()
    world.uow.drain()
    await world.execute(ForgotPassword(email=" ADA@Example.com"))
    assert world.uow.topics == ["identity.password_reset_requested"]


@pytest.mark.parametrize("email", ["nobody@example.com", "not an address", ""])
async def test_forgot_password_says_nothing_about_unknown_or_invalid_addresses(
    world: World, email: str
) -> None:
    await world.register()
    world.uow.drain()
    commits = world.uow.commits
    assert await world.execute(ForgotPassword(email=email)) is None
    assert world.uow.commits == commits
    assert world.uow.published == []


async def test_forgot_password_changes_nothing_about_the_password(world: World) -> None:
    user = await world.register()
    before = world.stored_user(user.id).password_hash
    await world.execute(ForgotPassword(email="ada@example.com"))
    assert world.stored_user(user.id).password_hash == before
    assert await world.login()
