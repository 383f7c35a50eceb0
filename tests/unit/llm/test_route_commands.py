"""Creating, changing, deleting and reading a workspace's routes."""

from __future__ import annotations

from uuid import UUID

import pytest

from application.commands.llm.create_route import CreateRoute
from application.commands.llm.delete_route import DeleteRoute
from application.commands.llm.update_route import UpdateRoute
from domain.audit.entry import AuditAction
from domain.llm.errors import FALLBACK_KINDS, InvalidRoute, RouteNameTaken, RouteNotFound
from domain.llm.ids import RouteId
from domain.llm.models import Provider
from domain.llm.route import RouteTarget, Strategy
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Role
from tests.fakes.llm_routes import RouteWorld

UNKNOWN = RouteId(UUID("0190aaaa-0000-7000-8000-0000000000ff"))


@pytest.fixture
def world() -> RouteWorld:
    return RouteWorld()


def create(world: RouteWorld, role: Role = Role.ADMIN, **fields: object) -> CreateRoute:
    values: dict[str, object] = {
        "name": "fast",
        "strategy": "priority",
        "targets": (
            RouteTarget(model="openai/gpt-4o-mini"),
            RouteTarget(model="anthropic/claude-haiku-4-5", priority=1),
        ),
    }
    values.update(fields)
    return CreateRoute(actor=world.actor(role), **values)  # type: ignore[arg-type]


# -- create --------------------------------------------------------------------------------


async def test_an_admin_creates_a_route_with_default_fallbacks(world: RouteWorld) -> None:
    route = await world.create(create(world))
    assert route.name == "fast"
    assert route.strategy is Strategy.PRIORITY
    assert [t.model for t in route.targets] == ["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"]
    assert route.fallback_on == frozenset(FALLBACK_KINDS)
    assert route.workspace_id == world.workspace
    assert route.created_by == world.admin
    assert route.created_at == route.updated_at == world.clock.now()
    assert world.routes.rows[route.id].name == "fast"
    assert world.uow.commits == 1


async def test_creating_is_audited(world: RouteWorld) -> None:
    route = await world.create(create(world))
    [entry] = world.audit.entries
    assert entry.action is AuditAction.LLM_ROUTE_CREATED
    assert entry.workspace_id == world.workspace
    assert entry.target_type == "llm_route"
    assert entry.target_id == route.id
    assert entry.metadata == {"name": "fast", "strategy": "priority", "targets": 2}


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_below_admin_cannot_create(world: RouteWorld, role: Role) -> None:
    with pytest.raises(InsufficientRole):
        await world.create(create(world, role))
    assert world.routes.rows == {}
    assert world.audit.entries == []


async def test_a_second_route_of_the_same_name_is_a_conflict(world: RouteWorld) -> None:
    await world.add("fast")
    with pytest.raises(RouteNameTaken) as error:
        await world.create(create(world, name="fast"))
    assert error.value.field == "name"
    assert len(world.routes.rows) == 1
    assert world.audit.actions == [AuditAction.LLM_ROUTE_CREATED]


async def test_the_same_name_in_another_workspace_is_fine(world: RouteWorld) -> None:
    await world.add("fast")
    await world.add("fast", workspace=world.other_workspace)
    assert len(world.routes.rows) == 2


async def test_an_invalid_route_is_refused_before_anything_is_stored(world: RouteWorld) -> None:
    with pytest.raises(InvalidRoute) as error:
        await world.create(create(world, targets=(RouteTarget(model="gpt-4o"),)))
    assert error.value.field == "targets[0].model"
    assert world.routes.rows == {}
    assert world.uow.commits == 0


async def test_a_target_may_name_a_credential_of_the_workspace(world: RouteWorld) -> None:
    credential = world.credentials.put(world.workspace, Provider.OPENAI, 1)
    route = await world.create(
        create(world, targets=(RouteTarget(model="openai/gpt-4o", credential_id=credential),))
    )
    assert route.targets[0].credential_id == credential


async def test_another_workspaces_credential_is_refused_with_its_path(world: RouteWorld) -> None:
    theirs = world.credentials.put(world.other_workspace, Provider.OPENAI, 1)
    targets = (
        RouteTarget(model="openai/gpt-4o-mini"),
        RouteTarget(model="openai/gpt-4o", credential_id=theirs),
    )
    with pytest.raises(InvalidRoute) as error:
        await world.create(create(world, targets=targets))
    assert error.value.field == "targets[1].credential_id"
    assert world.routes.rows == {}


async def test_a_credential_of_another_provider_is_refused(world: RouteWorld) -> None:
    anthropic = world.credentials.put(world.workspace, Provider.ANTHROPIC, 1)
    with pytest.raises(InvalidRoute) as error:
        await world.create(
            create(world, targets=(RouteTarget(model="openai/gpt-4o", credential_id=anthropic),))
        )
    assert error.value.field == "targets[0].credential_id"
    assert "anthropic" in error.value.detail


async def test_creating_forgets_the_cached_miss_for_that_name(world: RouteWorld) -> None:
    key = (world.workspace, "fast")
    assert await world.cache.get_or_load(key, lambda: world.routes.by_name(*key)) is None
    await world.add("fast")
    cached = await world.cache.get_or_load(key, lambda: world.routes.by_name(*key))
    assert cached is not None
    assert cached.name == "fast"


# -- update --------------------------------------------------------------------------------


async def test_a_patch_changes_only_the_given_fields(world: RouteWorld) -> None:
    route = await world.add("fast", "openai/gpt-4o-mini")
    world.clock.advance(minutes=1)
    updated = await world.update(
        UpdateRoute(
            actor=world.actor(),
            route_id=route.id,
            strategy="weighted",
            fallback_on=("timeout",),
        )
    )
    assert updated.name == "fast"
    assert updated.strategy is Strategy.WEIGHTED
    assert updated.fallback_on == frozenset({"timeout"})
    assert updated.targets == route.targets
    assert updated.updated_at == world.clock.now()
    stored = world.routes.rows[route.id]
    assert stored.strategy is Strategy.WEIGHTED
    entry = world.audit.entries[-1]
    assert entry.action is AuditAction.LLM_ROUTE_UPDATED
    assert entry.metadata == {"name": "fast", "from": "fast", "changed": "strategy,fallback_on"}


async def test_a_patch_without_changes_stores_and_audits_nothing(world: RouteWorld) -> None:
    route = await world.add("fast")
    commits = world.uow.commits
    same = await world.update(UpdateRoute(actor=world.actor(), route_id=route.id, name="fast"))
    assert same.updated_at == route.updated_at
    assert world.uow.commits == commits
    assert world.audit.actions == [AuditAction.LLM_ROUTE_CREATED]


async def test_renaming_onto_another_routes_name_is_a_conflict(world: RouteWorld) -> None:
    await world.add("fast")
    slow = await world.add("slow")
    with pytest.raises(RouteNameTaken):
        await world.update(UpdateRoute(actor=world.actor(), route_id=slow.id, name="fast"))
    assert world.routes.rows[slow.id].name == "slow"


async def test_new_targets_are_checked_like_new_routes(world: RouteWorld) -> None:
    route = await world.add("fast")
    theirs = world.credentials.put(world.other_workspace, Provider.OPENAI, 7)
    with pytest.raises(InvalidRoute) as error:
        await world.update(
            UpdateRoute(
                actor=world.actor(),
                route_id=route.id,
                targets=(RouteTarget(model="openai/gpt-4o", credential_id=theirs),),
            )
        )
    assert error.value.field == "targets[0].credential_id"
    assert world.routes.rows[route.id].targets == route.targets


async def test_renaming_drops_the_cached_old_name(world: RouteWorld) -> None:
    route = await world.add("fast")
    key = (world.workspace, "fast")
    assert await world.cache.get_or_load(key, lambda: world.routes.by_name(*key)) is not None
    await world.update(UpdateRoute(actor=world.actor(), route_id=route.id, name="quick"))
    assert await world.cache.get_or_load(key, lambda: world.routes.by_name(*key)) is None


async def test_a_member_cannot_update(world: RouteWorld) -> None:
    route = await world.add("fast")
    with pytest.raises(InsufficientRole):
        await world.update(
            UpdateRoute(actor=world.actor(Role.MEMBER), route_id=route.id, strategy="weighted")
        )
    assert world.routes.rows[route.id].strategy is Strategy.PRIORITY


async def test_another_workspaces_route_is_not_found(world: RouteWorld) -> None:
    theirs = await world.add("fast", workspace=world.other_workspace)
    for cmd in (
        UpdateRoute(actor=world.actor(), route_id=theirs.id, strategy="weighted"),
        UpdateRoute(actor=world.actor(), route_id=UNKNOWN, strategy="weighted"),
    ):
        with pytest.raises(RouteNotFound):
            await world.update(cmd)
    with pytest.raises(RouteNotFound):
        await world.delete(DeleteRoute(actor=world.actor(), route_id=theirs.id))
    with pytest.raises(RouteNotFound):
        await world.get(theirs.id)
    assert world.routes.rows[theirs.id].strategy is Strategy.PRIORITY


# -- delete --------------------------------------------------------------------------------


async def test_an_admin_deletes_a_route_and_it_is_audited(world: RouteWorld) -> None:
    route = await world.add("fast")
    key = (world.workspace, "fast")
    await world.cache.get_or_load(key, lambda: world.routes.by_name(*key))
    await world.delete(DeleteRoute(actor=world.actor(), route_id=route.id))
    assert world.routes.rows == {}
    assert world.audit.actions[-1] is AuditAction.LLM_ROUTE_DELETED
    assert world.audit.entries[-1].metadata == {"name": "fast"}
    assert await world.cache.get_or_load(key, lambda: world.routes.by_name(*key)) is None


async def test_a_member_cannot_delete(world: RouteWorld) -> None:
    route = await world.add("fast")
    with pytest.raises(InsufficientRole):
        await world.delete(DeleteRoute(actor=world.actor(Role.MEMBER), route_id=route.id))
    assert route.id in world.routes.rows


async def test_a_failed_commit_keeps_nothing(world: RouteWorld) -> None:
    world.uow.fail_next = 1
    with pytest.raises(Exception, match="unavailable"):
        await world.create(create(world))
    assert world.routes.rows == {}
    assert world.audit.entries == []


# -- queries -------------------------------------------------------------------------------


async def test_members_list_the_routes_by_name(world: RouteWorld) -> None:
    await world.add("zeta")
    await world.add("alpha", "openai/gpt-4o", "anthropic/claude-haiku-4-5")
    await world.add("other", workspace=world.other_workspace)
    views = await world.list(Role.MEMBER)
    assert [v.name for v in views] == ["alpha", "zeta"]
    assert views[0].fallback_on == FALLBACK_KINDS
    assert [t.model for t in views[0].targets] == ["openai/gpt-4o", "anthropic/claude-haiku-4-5"]


async def test_a_member_reads_one_route(world: RouteWorld) -> None:
    route = await world.add("fast")
    view = await world.get(route.id, Role.MEMBER)
    assert (view.id, view.name, view.strategy) == (route.id, "fast", "priority")


async def test_a_viewer_cannot_read_routes(world: RouteWorld) -> None:
    route = await world.add("fast")
    with pytest.raises(InsufficientRole):
        await world.list(Role.VIEWER)
    with pytest.raises(InsufficientRole):
        await world.get(route.id, Role.VIEWER)
