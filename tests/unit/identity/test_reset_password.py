from __future__ import annotations

import pytest

from application.commands.identity.refresh_session import RefreshSession
from application.commands.identity.reset_password import ResetPassword
from domain.audit.entry import ActorType, AuditAction
from domain.identity.errors import (
    InvalidAccessToken,
    InvalidCredentials,
    InvalidOneTimeToken,
    InvalidRefreshToken,
    WeakPassword,
)
from domain.identity.events import PasswordChanged
from domain.identity.ids import UserId
from domain.identity.one_time_token import TokenPurpose
from tests.unit.identity.world import OTHER_PASSWORD, PASSWORD, PER_ACCOUNT, World


async def mailed(
    world: World, purpose: TokenPurpose = TokenPurpose.RESET_PASSWORD
) -> tuple[UserId, str]:
    user = await world.register()
    token = await world.mail_token(UserId(user.id), purpose)
    world.uow.drain()
    return UserId(user.id), token


async def test_reset_password_sets_the_new_password(world: World) -> None:
    _, token = await mailed(world)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert await world.login(password=OTHER_PASSWORD)
    with pytest.raises(InvalidCredentials):
        await world.login(password=PASSWORD)


async def test_reset_password_publishes_a_password_change_by_reset(world: World) -> None:
    user_id, token = await mailed(world)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert PasswordChanged(user_id=user_id, reset=True) in world.uow.published


async def test_reset_password_verifies_the_address_the_mail_reached(world: World) -> None:
    user_id, token = await mailed(world)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert world.stored_user(user_id).email_verified is True


async def test_reset_password_signs_out_every_session(world: World) -> None:
    _, token = await mailed(world)
    pairs = [await world.login(), await world.login()]
    await world.authenticate(pairs[0].access_token)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    for pair in pairs:
        assert world.stored_session(pair.session_id).revoke_reason == "password_reset"
        with pytest.raises(InvalidAccessToken):
            await world.authenticate(pair.access_token)
        with pytest.raises(InvalidRefreshToken):
            await world.execute(RefreshSession(refresh_token=pair.refresh_token))


async def test_a_reset_token_works_once(world: World) -> None:
    _, token = await mailed(world)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token=token, new_password="yet another phrase"))


async def test_reset_password_voids_the_other_reset_tokens(world: World) -> None:
    user_id, first = await mailed(world)
    second = await world.mail_token(user_id, TokenPurpose.RESET_PASSWORD)
    await world.execute(ResetPassword(token=second, new_password=OTHER_PASSWORD))
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token=first, new_password="yet another phrase"))


async def test_reset_password_leaves_verification_tokens_alone(world: World) -> None:
    user_id, token = await mailed(world)
    verify = await world.mail_token(user_id, TokenPurpose.VERIFY_EMAIL)
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    row = world.tables.one_time_tokens[world.fingerprint(verify)]
    assert row.used_at is None


async def test_reset_password_lifts_the_account_login_block(world: World) -> None:
    _, token = await mailed(world)
    for _ in range(PER_ACCOUNT):
        with pytest.raises(InvalidCredentials):
            await world.login(password="a wrong guess")
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert await world.login(password=OTHER_PASSWORD)


@pytest.mark.parametrize("token", [None, "", "never-issued"])
async def test_a_missing_or_unknown_reset_token_is_refused(world: World, token: str | None) -> None:
    await mailed(world)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert await world.login(password=PASSWORD)


async def test_a_verification_token_does_not_reset_the_password(world: World) -> None:
    _, token = await mailed(world, TokenPurpose.VERIFY_EMAIL)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert await world.login(password=PASSWORD)


async def test_an_expired_reset_token_is_refused(world: World) -> None:
    _, token = await mailed(world)
    world.clock.advance(minutes=30)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))


@pytest.mark.parametrize("new", ["short", "password123", "ada@example.com", "Ada Lovelace"])
async def test_a_weak_new_password_is_refused_and_the_token_stays_usable(
    world: World, new: str
) -> None:
    _, token = await mailed(world)
    with pytest.raises(WeakPassword) as caught:
        await world.execute(ResetPassword(token=token, new_password=new))
    assert caught.value.field == "new_password"
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    assert await world.login(password=OTHER_PASSWORD)


async def test_the_weak_password_check_comes_after_the_token_check(world: World) -> None:
    await mailed(world)
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token="never-issued", new_password="short"))


async def test_reset_password_is_audited_with_the_sessions_it_ended(world: World) -> None:
    user_id, token = await mailed(world)
    await world.login()
    await world.execute(ResetPassword(token=token, new_password=OTHER_PASSWORD))
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.PASSWORD_RESET
    assert entry.actor_type is ActorType.ANONYMOUS
    assert (entry.subject_user, entry.target_id) == (user_id, user_id)
    assert entry.metadata == {"sessions_revoked": 1}


async def test_a_refused_reset_is_not_audited(world: World) -> None:
    _, token = await mailed(world)
    before = len(world.audit.entries)
    with pytest.raises(WeakPassword):
        await world.execute(ResetPassword(token=token, new_password="short"))
    with pytest.raises(InvalidOneTimeToken):
        await world.execute(ResetPassword(token="never-issued", new_password=OTHER_PASSWORD))
    assert len(world.audit.entries) == before
