"""Creating and revoking API keys."""

from __future__ import annotations

from datetime import timedelta

import pytest

from application.commands.tenancy.create_api_key import CreateApiKey
from application.commands.tenancy.revoke_api_key import RevokeApiKey
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.api_key import (
    LOOKUP_PREFIX_LENGTH,
    MAX_RATE_LIMIT_PER_MINUTE,
    ApiKeyId,
    ApiKeyNotFound,
    InvalidApiKey,
)
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import KEY_SCOPES, Permission, Role
from tests.unit.tenancy.world import World

# -- CreateApiKey ----------------------------------------------------------------------


async def test_an_admin_creates_a_key_and_gets_its_secret_once(world: World) -> None:
    team = await world.team()
    key, secret = await world.execute(
        CreateApiKey(actor=await world.actor(team, Role.ADMIN), name="  Deploy bot ")
    )
    assert secret.startswith("sk-ss-")
    assert len(secret) == 49
    assert key.prefix == secret[:LOOKUP_PREFIX_LENGTH]
    assert key.name == "Deploy bot"
    assert key.workspace_id == team.workspace
    assert key.created_by == team.admin
    assert key.created_at == world.clock.now()
    assert key.expires_at is None
    assert key.rate_limit_per_minute is None


async def test_only_the_secrets_hash_is_stored(world: World) -> None:
    team = await world.team()
    key, secret = await world.execute(
        CreateApiKey(actor=await world.actor(team, Role.ADMIN), name="CI")
    )
    stored = world.tables.api_keys[key.id].key
    assert stored.secret_hash == world.secrets.fingerprint(secret)
    assert secret not in repr(stored)


async def test_a_key_without_scopes_gets_every_key_scope(world: World) -> None:
    team = await world.team()
    key, _ = await world.execute(CreateApiKey(actor=await world.actor(team, Role.ADMIN), name="CI"))
    assert key.scopes == KEY_SCOPES


async def test_a_key_keeps_the_scopes_asked_for(world: World) -> None:
    team = await world.team()
    key, _ = await world.api_key(
        await world.actor(team, Role.ADMIN),
        scopes=[Permission.RESOURCES_READ, Permission.LLM_USE],
    )
    assert world.tables.api_keys[key.id].key.scopes == {
        Permission.RESOURCES_READ,
        Permission.LLM_USE,
    }


async def test_a_key_keeps_its_expiry_and_rate_limit(world: World) -> None:
    team = await world.team()
    expires = world.clock.now() + timedelta(days=30)
    key, _ = await world.api_key(
        await world.actor(team, Role.ADMIN), expires_at=expires, rate_limit_per_minute=120
    )
    stored = world.tables.api_keys[key.id].key
    assert (stored.expires_at, stored.rate_limit_per_minute) == (expires, 120)


async def test_the_new_secret_authenticates_at_once(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN))
    assert (await world.authenticate(secret)).api_key_id == key.id


async def test_creating_a_key_is_audited_without_its_secret(world: World) -> None:
    team = await world.team()
    key, secret = await world.execute(
        CreateApiKey(actor=await world.actor(team, Role.ADMIN), name="CI")
    )
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.API_KEY_CREATED,
            actor_type=ActorType.USER,
            actor_id=team.admin,
            workspace_id=team.workspace,
            target_type="api_key",
            target_id=key.id,
            metadata={"name": "CI", "prefix": key.prefix},
        )
    ]
    assert world.secrets_in_audit(secret, key.secret_hash, secret[LOOKUP_PREFIX_LENGTH:]) == []


async def test_a_member_cannot_create_keys(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(CreateApiKey(actor=await world.actor(team, Role.MEMBER), name="CI"))
    assert world.tables.api_keys == {}


async def test_an_api_key_cannot_create_api_keys(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.OWNER), scopes=[Permission.API_KEYS_MANAGE]
    )
    key_actor = await world.authenticate(secret)
    assert Permission.API_KEYS_MANAGE in key_actor.permissions
    with pytest.raises(InsufficientRole):
        await world.execute(CreateApiKey(actor=key_actor, name="Child"))
    assert len(world.tables.api_keys) == 1


async def test_an_unknown_scope_is_refused(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidApiKey) as refused:
        await world.execute(
            CreateApiKey(actor=await world.actor(team, Role.OWNER), name="CI", scopes=["all"])
        )
    assert refused.value.field == "scopes"
    assert world.tables.api_keys == {}


@pytest.mark.parametrize("scope", [Permission.WORKSPACE_DELETE, Permission.OWNERSHIP_TRANSFER])
async def test_even_the_owner_cannot_give_a_key_an_owner_only_scope(
    world: World, scope: Permission
) -> None:
    team = await world.team()
    with pytest.raises(InvalidApiKey):
        await world.execute(
            CreateApiKey(actor=await world.actor(team, Role.OWNER), name="CI", scopes=[scope.value])
        )
    assert world.tables.api_keys == {}


@pytest.mark.parametrize("delta", [timedelta(0), timedelta(seconds=-1)])
async def test_an_expiry_not_in_the_future_is_refused(world: World, delta: timedelta) -> None:
    team = await world.team()
    with pytest.raises(InvalidApiKey) as refused:
        await world.execute(
            CreateApiKey(
                actor=await world.actor(team, Role.ADMIN),
                name="CI",
                expires_at=world.clock.now() + delta,
            )
        )
    assert refused.value.field == "expires_at"


@pytest.mark.parametrize("limit", [0, -5, MAX_RATE_LIMIT_PER_MINUTE + 1])
async def test_a_rate_limit_out_of_range_is_refused(world: World, limit: int) -> None:
    team = await world.team()
    with pytest.raises(InvalidApiKey) as refused:
        await world.execute(
            CreateApiKey(
                actor=await world.actor(team, Role.ADMIN), name="CI", rate_limit_per_minute=limit
            )
        )
    assert refused.value.field == "rate_limit_per_minute"


@pytest.mark.parametrize("limit", [1, MAX_RATE_LIMIT_PER_MINUTE])
async def test_a_rate_limit_at_the_bounds_is_accepted(world: World, limit: int) -> None:
    team = await world.team()
    key, _ = await world.api_key(await world.actor(team, Role.ADMIN), rate_limit_per_minute=limit)
    assert key.rate_limit_per_minute == limit


async def test_an_empty_name_is_refused(world: World) -> None:
    team = await world.team()
    with pytest.raises(InvalidApiKey) as refused:
        await world.execute(CreateApiKey(actor=await world.actor(team, Role.ADMIN), name="  "))
    assert refused.value.field == "name"


async def test_each_key_gets_its_own_secret(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    _, first = await world.api_key(admin)
    _, second = await world.api_key(admin)
    assert first != second


# -- RevokeApiKey ----------------------------------------------------------------------


async def test_an_admin_revokes_a_key(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, _ = await world.api_key(admin)
    world.clock.advance(minutes=1)
    await world.execute(RevokeApiKey(actor=admin, key_id=key.id))
    assert world.tables.api_keys[key.id].key.revoked_at == world.clock.now()


async def test_revoking_a_key_is_audited_with_its_name_and_prefix(world: World) -> None:
    team = await world.team()
    key, secret = await world.api_key(await world.actor(team, Role.ADMIN), name="CI")
    await world.execute(RevokeApiKey(actor=await world.actor(team, Role.OWNER), key_id=key.id))
    assert world.new_audit_events == [
        AuditEvent(
            action=AuditAction.API_KEY_REVOKED,
            actor_type=ActorType.USER,
            actor_id=team.owner,
            workspace_id=team.workspace,
            target_type="api_key",
            target_id=key.id,
            metadata={"name": "CI", "prefix": key.prefix},
        )
    ]
    assert world.secrets_in_audit(secret, key.secret_hash) == []


async def test_a_key_scoped_to_manage_keys_may_revoke_one(world: World) -> None:
    team = await world.team()
    owner = await world.actor(team, Role.OWNER)
    target, _ = await world.api_key(owner)
    manager, secret = await world.api_key(owner, scopes=[Permission.API_KEYS_MANAGE])
    await world.execute(RevokeApiKey(actor=await world.authenticate(secret), key_id=target.id))
    [event] = world.new_audit_events
    assert (event.actor_type, event.actor_id) == (ActorType.API_KEY, manager.id)


async def test_another_workspaces_key_is_not_found(world: World) -> None:
    team = await world.team()
    elsewhere = await world.workspace(team.outsider, name="Elsewhere")
    theirs, _ = await world.api_key(await world.resolve(team.outsider, elsewhere))
    with pytest.raises(ApiKeyNotFound):
        await world.execute(
            RevokeApiKey(actor=await world.actor(team, Role.OWNER), key_id=theirs.id)
        )
    assert world.tables.api_keys[theirs.id].key.revoked_at is None


async def test_an_unknown_key_is_not_found(world: World) -> None:
    team = await world.team()
    with pytest.raises(ApiKeyNotFound):
        await world.execute(
            RevokeApiKey(
                actor=await world.actor(team, Role.ADMIN), key_id=ApiKeyId(world.ids.new())
            )
        )


async def test_revoking_twice_is_not_found(world: World) -> None:
    team = await world.team()
    admin = await world.actor(team, Role.ADMIN)
    key, _ = await world.api_key(admin)
    await world.execute(RevokeApiKey(actor=admin, key_id=key.id))
    revoked_at = world.tables.api_keys[key.id].key.revoked_at
    world.clock.advance(minutes=1)
    with pytest.raises(ApiKeyNotFound):
        await world.execute(RevokeApiKey(actor=admin, key_id=key.id))
    assert world.tables.api_keys[key.id].key.revoked_at == revoked_at


async def test_a_member_cannot_revoke_keys(world: World) -> None:
    team = await world.team()
    key, _ = await world.api_key(await world.actor(team, Role.ADMIN))
    with pytest.raises(InsufficientRole):
        await world.execute(RevokeApiKey(actor=await world.actor(team, Role.MEMBER), key_id=key.id))
    assert world.tables.api_keys[key.id].key.revoked_at is None
