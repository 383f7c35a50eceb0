from __future__ import annotations

from uuid import uuid4

import pytest

from application.commands.identity.delete_account import DeleteAccount
from application.commands.identity.send_account_mail import SendAccountMail
from application.commands.identity.verify_email import VerifyEmail
from domain.identity.ids import UserId
from domain.identity.one_time_token import TokenPurpose
from tests.fakes.mail import MailOutage
from tests.unit.identity.world import PASSWORD, PUBLIC_URL, World, token_in


async def test_verification_mail_goes_to_the_user_with_a_link(world: World) -> None:
    user = await world.register()
    await world.execute(SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.VERIFY_EMAIL))
    [mail] = world.mailer.sent
    assert mail.to == "ada@example.com"
    assert "Verify" in mail.subject
    assert "Hello Ada Lovelace" in mail.text
    assert f"{PUBLIC_URL}/verify-email?token=" in mail.text


async def test_reset_mail_goes_to_the_user_with_a_link(world: World) -> None:
    user = await world.register()
    await world.execute(
        SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.RESET_PASSWORD)
    )
    [mail] = world.mailer.sent
    assert mail.to == "ada@example.com"
    assert "Reset" in mail.subject
    assert f"{PUBLIC_URL}/reset-password?token=" in mail.text


@pytest.mark.parametrize("purpose", list(TokenPurpose))
async def test_the_mailed_token_is_stored_only_as_a_fingerprint(
    world: World, purpose: TokenPurpose
) -> None:
    user = await world.register()
    token = await world.mail_token(UserId(user.id), purpose)
    assert token not in world.tables.one_time_tokens
    row = world.tables.one_time_tokens[world.fingerprint(token)]
    assert (row.purpose, row.user_id) == (purpose, user.id)


@pytest.mark.parametrize(
    ("purpose", "lifetime_seconds"),
    [(TokenPurpose.VERIFY_EMAIL, 24 * 3600), (TokenPurpose.RESET_PASSWORD, 30 * 60)],
)
async def test_the_mailed_token_lives_as_long_as_its_purpose_says(
    world: World, purpose: TokenPurpose, lifetime_seconds: int
) -> None:
    user = await world.register()
    token = await world.mail_token(UserId(user.id), purpose)
    row = world.tables.one_time_tokens[world.fingerprint(token)]
    assert (row.expires_at - row.created_at).total_seconds() == lifetime_seconds


async def test_no_verification_mail_for_a_verified_address(world: World) -> None:
    user = await world.register(verified=True)
    sent, tokens = len(world.mailer.sent), len(world.tables.one_time_tokens)
    await world.execute(SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.VERIFY_EMAIL))
    assert len(world.mailer.sent) == sent
    assert len(world.tables.one_time_tokens) == tokens


async def test_a_verified_user_still_gets_a_reset_mail(world: World) -> None:
    user = await world.register(verified=True)
    assert await world.mail_token(UserId(user.id), TokenPurpose.RESET_PASSWORD)


async def test_nothing_is_mailed_to_a_deleted_user(world: World) -> None:
    user = await world.register()
    await world.execute(DeleteAccount(user_id=UserId(user.id), password=PASSWORD))
    await world.execute(SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.VERIFY_EMAIL))
    assert world.mailer.sent == []


async def test_nothing_is_mailed_to_an_unknown_user(world: World) -> None:
    await world.execute(SendAccountMail(user_id=UserId(uuid4()), purpose=TokenPurpose.VERIFY_EMAIL))
    assert world.mailer.sent == []
    assert world.tables.one_time_tokens == {}


async def test_a_mail_outage_fails_the_job_so_it_is_retried(world: World) -> None:
    user = await world.register()
    world.mailer.fail_next = 1
    with pytest.raises(MailOutage):
        await world.execute(
            SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.VERIFY_EMAIL)
        )
    assert world.mailer.sent == []


async def test_the_retry_after_an_outage_mails_a_token_that_works(world: World) -> None:
    user = await world.register()
    world.mailer.fail_next = 1
    with pytest.raises(MailOutage):
        await world.execute(
            SendAccountMail(user_id=UserId(user.id), purpose=TokenPurpose.VERIFY_EMAIL)
        )
    token = await world.mail_token(UserId(user.id), TokenPurpose.VERIFY_EMAIL)
    await world.execute(VerifyEmail(token=token))
    assert world.stored_user(user.id).email_verified


async def test_each_mail_carries_a_different_token(world: World) -> None:
    user = await world.register()
    first = await world.mail_token(UserId(user.id), TokenPurpose.VERIFY_EMAIL)
    second = await world.mail_token(UserId(user.id), TokenPurpose.VERIFY_EMAIL)
    assert first != second
    assert token_in(world.mailer.sent[-1].text) == second
