from __future__ import annotations

import pytest

from application.commands.identity.logout import Logout
from application.commands.identity.refresh_session import RefreshSession
from application.common.identity import TokenPair
from domain.audit.entry import AuditAction
from domain.common.errors import StorageUnavailable
from domain.identity.errors import InvalidAccessToken, InvalidRefreshToken
from domain.identity.events import RefreshTokenReuseDetected, SessionRevoked
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import SESSION_LIFETIME, World


async def signed_in(world: World) -> TokenPair:
    await world.register()
    pair = await world.login()
    world.uow.drain()
    return pair


async def refresh(world: World, token: str) -> TokenPair:
    pair: TokenPair = await world.execute(RefreshSession(refresh_token=token))
    return pair


async def test_refresh_returns_a_new_pair_for_the_same_session(world: World) -> None:
    first = await signed_in(world)
    second = await refresh(world, first.refresh_token)
    assert (second.user_id, second.session_id) == (first.user_id, first.session_id)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token


async def test_refresh_spends_the_presented_token(world: World) -> None:
    first = await signed_in(world)
    await refresh(world, first.refresh_token)
    assert world.tables.refresh_tokens[world.fingerprint(first.refresh_token)].spent_at is not None


async def test_refresh_slides_the_session_expiry_forward(world: World) -> None:
    first = await signed_in(world)
    world.clock.advance(days=10)
    await refresh(world, first.refresh_token)
    session = world.stored_session(first.session_id)
    assert session.last_used_at == world.clock.now()
    assert session.expires_at == world.clock.now() + SESSION_LIFETIME


async def test_the_new_refresh_token_refreshes_again(world: World) -> None:
    pair = await signed_in(world)
    for _ in range(3):
        pair = await refresh(world, pair.refresh_token)
    assert world.stored_session(pair.session_id).revoked_at is None


async def test_the_new_access_token_authenticates(world: World) -> None:
    first = await signed_in(world)
    second = await refresh(world, first.refresh_token)
    assert (await world.authenticate(second.access_token)).session_id == first.session_id


async def test_refresh_token_reuse_revokes_the_whole_family(world: World) -> None:
    first = await signed_in(world)
    second = await refresh(world, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    session = world.stored_session(first.session_id)
    assert session.revoked_at is not None
    assert session.revoke_reason == "refresh_token_reuse"
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, second.refresh_token)


async def test_refresh_token_reuse_publishes_the_detection_and_the_revocation(
    world: World,
) -> None:
    first = await signed_in(world)
    await refresh(world, first.refresh_token)
    world.uow.drain()
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    user_id, session_id = UserId(first.user_id), SessionId(first.session_id)
    assert world.uow.published == [
        RefreshTokenReuseDetected(user_id=user_id, session_id=session_id),
        SessionRevoked(user_id=user_id, session_id=session_id, reason="refresh_token_reuse"),
    ]


async def test_refresh_token_reuse_revokes_the_access_tokens_at_once(world: World) -> None:
    first = await signed_in(world)
    second = await refresh(world, first.refresh_token)
    await world.authenticate(second.access_token)  # cached as live
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    assert await world.cache.is_active(SessionId(first.session_id)) is False
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(second.access_token)


async def test_refresh_token_reuse_leaves_other_sessions_alone(world: World) -> None:
    first = await signed_in(world)
    other = await world.login()
    await refresh(world, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    assert await refresh(world, other.refresh_token)


async def test_reuse_on_an_already_revoked_session_changes_nothing(world: World) -> None:
    first = await signed_in(world)
    await refresh(world, first.refresh_token)
    await world.execute(Logout(refresh_token=first.refresh_token))
    world.uow.drain()
    commits = world.uow.commits
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    assert world.stored_session(first.session_id).revoke_reason == "logout"
    assert world.uow.commits == commits
    assert world.uow.published == []


async def test_an_unknown_refresh_token_is_refused_without_changes(world: World) -> None:
    await signed_in(world)
    commits = world.uow.commits
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, "made-up")
    assert world.uow.commits == commits


async def test_refresh_of_a_logged_out_session_is_refused_without_spending_the_token(
    world: World,
) -> None:
    first = await signed_in(world)
    await world.execute(Logout(refresh_token=first.refresh_token))
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    assert world.tables.refresh_tokens[world.fingerprint(first.refresh_token)].spent_at is None


async def test_refresh_of_an_expired_session_is_refused(world: World) -> None:
    first = await signed_in(world)
    world.clock.advance(days=30)
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)


async def test_refresh_of_an_expired_session_is_not_mistaken_for_reuse(world: World) -> None:
    first = await signed_in(world)
    world.clock.advance(days=30)
    for _ in range(2):
        with pytest.raises(InvalidRefreshToken):
            await refresh(world, first.refresh_token)
    assert world.stored_session(first.session_id).revoked_at is None
    assert world.uow.published == []


async def test_a_failed_commit_keeps_the_presented_token_unspent(world: World) -> None:
    first = await signed_in(world)
    world.uow.fail_next = 1
    with pytest.raises(StorageUnavailable):
        await refresh(world, first.refresh_token)
    assert await refresh(world, first.refresh_token)


async def test_refresh_token_reuse_is_audited(world: World) -> None:
    first = await signed_in(world)
    await refresh(world, first.refresh_token)
    with pytest.raises(InvalidRefreshToken):
        await refresh(world, first.refresh_token)
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.REFRESH_TOKEN_REUSE
    assert entry.subject_user == first.user_id
    assert (entry.target_type, entry.target_id) == ("session", first.session_id)


async def test_an_ordinary_refresh_is_not_audited(world: World) -> None:
    first = await signed_in(world)
    before = len(world.audit.entries)
    await refresh(world, first.refresh_token)
    assert len(world.audit.entries) == before
