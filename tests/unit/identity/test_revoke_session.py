from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from application.commands.identity.logout import Logout
from application.commands.identity.revoke_session import RevokeSession
from application.common.identity import TokenPair
from domain.audit.entry import AuditAction
from domain.identity.errors import InvalidAccessToken, SessionNotFound
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import SESSION_LIFETIME, World


async def signed_in(world: World, email: str = "ada@example.com") -> TokenPair:
    if not any(u.email.value == email for u in world.tables.users.values()):
        await world.register(email)
    return await world.login(email)


def revoke(pair: TokenPair, *, by: UUID | None = None) -> RevokeSession:
    return RevokeSession(user_id=UserId(by or pair.user_id), session_id=SessionId(pair.session_id))


async def test_a_user_revokes_one_of_their_sessions(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(revoke(pair))
    session = world.stored_session(pair.session_id)
    assert session.revoked_at == world.clock.now()
    assert session.revoke_reason == "revoked_by_user"


async def test_a_revoked_session_access_token_is_refused_at_once(world: World) -> None:
    pair = await signed_in(world)
    await world.authenticate(pair.access_token)
    await world.execute(revoke(pair))
    with pytest.raises(InvalidAccessToken):
        await world.authenticate(pair.access_token)


async def test_revoking_leaves_the_other_sessions_alone(world: World) -> None:
    pair = await signed_in(world)
    other = await signed_in(world)
    await world.execute(revoke(pair))
    assert world.stored_session(other.session_id).revoked_at is None


async def test_another_users_session_answers_as_not_found_and_stays_live(world: World) -> None:
    ada = await signed_in(world)
    bob = await signed_in(world, "bob@example.com")
    with pytest.raises(SessionNotFound):
        await world.execute(revoke(bob, by=ada.user_id))
    assert world.stored_session(bob.session_id).revoked_at is None


async def test_an_unknown_session_is_not_found(world: World) -> None:
    pair = await signed_in(world)
    with pytest.raises(SessionNotFound):
        await world.execute(
            RevokeSession(user_id=UserId(pair.user_id), session_id=SessionId(uuid4()))
        )


async def test_an_already_revoked_session_is_not_found(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(Logout(refresh_token=pair.refresh_token))
    with pytest.raises(SessionNotFound):
        await world.execute(revoke(pair))
    assert world.stored_session(pair.session_id).revoke_reason == "logout"


async def test_an_expired_session_is_not_found(world: World) -> None:
    pair = await signed_in(world)
    world.clock.advance(seconds=SESSION_LIFETIME.total_seconds())
    with pytest.raises(SessionNotFound):
        await world.execute(revoke(pair))


async def test_revoking_a_session_is_audited(world: World) -> None:
    pair = await signed_in(world)
    await world.execute(revoke(pair))
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LOGOUT
    assert (entry.target_type, entry.target_id) == ("session", pair.session_id)
    assert entry.metadata == {"revoked_by_user": True}


async def test_a_refused_revocation_is_not_audited(world: World) -> None:
    ada = await signed_in(world)
    bob = await signed_in(world, "bob@example.com")
    before = len(world.audit.entries)
    with pytest.raises(SessionNotFound):
        await world.execute(revoke(bob, by=ada.user_id))
    assert len(world.audit.entries) == before
