"""Setting, removing and reading budgets, limits and LLM settings (admin+)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from application.commands.llm.remove_budget import RemoveBudget
from application.commands.llm.remove_limits import RemoveLimits
from application.commands.llm.set_budget import SetBudget
from application.commands.llm.set_limits import SetLimits
from application.commands.llm.update_llm_settings import UpdateLlmSettings
from application.llm.settings import LlmSettings
from domain.audit.entry import AuditAction
from domain.identity.api_key import ApiKeyId, ApiKeyNotFound
from domain.llm.errors import BudgetNotFound, InvalidBudget, InvalidLimits, LimitsNotFound
from domain.llm.governance import Budget, BudgetPeriod, Limits, budget_window
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Role
from tests.fakes.llm_governance import GovernanceWorld

UNKNOWN_KEY = ApiKeyId(UUID("0190dddd-0000-7000-8000-0000000000ff"))


@pytest.fixture
def world() -> GovernanceWorld:
    return GovernanceWorld()


def budget(
    world: GovernanceWorld,
    limit: str = "10",
    period: str = "day",
    key: ApiKeyId | None = None,
    role: Role = Role.ADMIN,
) -> SetBudget:
    return SetBudget(
        actor=world.actor(role), api_key_id=key, limit_usd=Decimal(limit), period=period
    )


# -- budgets -------------------------------------------------------------------------------


async def test_an_admin_sets_the_workspace_budget(world: GovernanceWorld) -> None:
    set_ = await world.set_budget(budget(world, "12.5", "month"))
    assert set_ == Budget(
        workspace_id=world.workspace,
        api_key_id=None,
        limit_micros=12_500_000,
        period=BudgetPeriod.MONTH,
    )
    assert world.tables.budget_rows[(world.workspace, None)][0] == set_
    assert world.uow.commits == 1
    [entry] = world.audit.entries
    assert entry.action is AuditAction.LLM_BUDGET_SET
    assert entry.target_type == "workspace"
    assert entry.target_id == world.workspace
    assert entry.metadata == {"scope": "workspace", "limit_micros": 12_500_000, "period": "month"}


async def test_setting_again_replaces_the_budget(world: GovernanceWorld) -> None:
    await world.set_budget(budget(world, "10", "day"))
    await world.set_budget(budget(world, "3", "month"))
    assert next(iter(world.tables.budget_rows.values()))[0].limit_micros == 3_000_000
    assert len(world.tables.budget_rows) == 1


async def test_a_budget_for_a_key_of_the_workspace(world: GovernanceWorld) -> None:
    key = world.keys.put(world.workspace, 1)
    await world.set_budget(budget(world, "1", key=key))
    assert (world.workspace, key) in world.tables.budget_rows
    [entry] = world.audit.entries
    assert (entry.target_type, entry.target_id) == ("api_key", key)
    assert entry.metadata is not None
    assert entry.metadata["scope"] == "api_key"


@pytest.mark.parametrize("case", ["unknown", "foreign", "revoked"])
async def test_a_key_that_is_not_a_live_key_of_the_workspace_is_not_found(
    world: GovernanceWorld, case: str
) -> None:
    key = {
        "unknown": lambda: UNKNOWN_KEY,
        "foreign": lambda: world.keys.put(world.other_workspace, 2),
        "revoked": lambda: world.keys.put(world.workspace, 3, revoked=True),
    }[case]()
    with pytest.raises(ApiKeyNotFound):
        await world.set_budget(budget(world, key=key))
    with pytest.raises(ApiKeyNotFound):
        await world.set_limits(SetLimits(actor=world.actor(), api_key_id=key, max_concurrent=1))
    assert world.tables.budget_rows == {}
    assert world.tables.limit_rows == {}
    assert world.audit.entries == []


@pytest.mark.parametrize(
    ("limit", "period", "field"),
    [("-1", "day", "limit_usd"), ("0.0000001", "day", "limit_usd"), ("5", "week", "period")],
)
async def test_invalid_budgets_change_nothing(
    world: GovernanceWorld, limit: str, period: str, field: str
) -> None:
    with pytest.raises(InvalidBudget) as error:
        await world.set_budget(budget(world, limit, period))
    assert error.value.field == field
    assert world.tables.budget_rows == {}
    assert world.uow.commits == 0


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_below_admin_can_neither_change_nor_read_governance(
    world: GovernanceWorld, role: Role
) -> None:
    with pytest.raises(InsufficientRole):
        await world.set_budget(budget(world, role=role))
    with pytest.raises(InsufficientRole):
        await world.remove_budget(RemoveBudget(actor=world.actor(role), api_key_id=None))
    with pytest.raises(InsufficientRole):
        await world.set_limits(
            SetLimits(actor=world.actor(role), api_key_id=None, max_concurrent=1)
        )
    with pytest.raises(InsufficientRole):
        await world.remove_limits(RemoveLimits(actor=world.actor(role), api_key_id=None))
    with pytest.raises(InsufficientRole):
        await world.update_settings(
            UpdateLlmSettings(actor=world.actor(role), refuse_unpriced_models=True)
        )
    with pytest.raises(InsufficientRole):
        await world.budgets(role)
    with pytest.raises(InsufficientRole):
        await world.limits(role)
    with pytest.raises(InsufficientRole):
        await world.llm_settings(role)
    assert world.audit.entries == []


async def test_removing_a_budget_is_audited_and_a_missing_one_is_not_found(
    world: GovernanceWorld,
) -> None:
    await world.set_budget(budget(world))
    await world.remove_budget(RemoveBudget(actor=world.actor(), api_key_id=None))
    assert world.tables.budget_rows == {}
    assert [e.action for e in world.audit.entries] == [
        AuditAction.LLM_BUDGET_SET,
        AuditAction.LLM_BUDGET_REMOVED,
    ]
    with pytest.raises(BudgetNotFound):
        await world.remove_budget(RemoveBudget(actor=world.actor(), api_key_id=None))


async def test_another_workspaces_budget_cannot_be_removed(world: GovernanceWorld) -> None:
    key = world.keys.put(world.other_workspace, 4)
    other = world.actor(workspace=world.other_workspace)
    await world.set_budget(
        SetBudget(actor=other, api_key_id=key, limit_usd=Decimal(1), period="day")
    )
    with pytest.raises(BudgetNotFound):
        await world.remove_budget(RemoveBudget(actor=world.actor(), api_key_id=key))
    assert (world.other_workspace, key) in world.tables.budget_rows


async def test_the_list_shows_spent_reserved_and_when_each_budget_resets(
    world: GovernanceWorld,
) -> None:
    key = world.keys.put(world.workspace, 5)
    world.tables.key_names[key] = "ci"
    world.clock.set(datetime(2025, 12, 31, 20, 0, tzinfo=UTC))
    world.history.add(world.workspace, key, datetime(2025, 12, 2, tzinfo=UTC), 2_000_000)
    world.history.add(world.workspace, key, datetime(2025, 12, 31, 1, tzinfo=UTC), 500_000)
    world.history.add(world.workspace, None, datetime(2025, 11, 30, tzinfo=UTC), 9_000_000)
    await world.set_budget(budget(world, "100", "month"))
    await world.set_budget(budget(world, "5", "day", key=key))
    ws_budget, key_budget = (b for b, _ in world.tables.budget_rows.values())
    await world.ledger.reserve((budget_window(key_budget, world.clock.now()),), 1_250_000)

    workspace_status, key_status = await world.budgets()

    assert workspace_status.api_key_id is None
    assert workspace_status.spent_micros == 2_500_000  # December's records, not November's
    assert workspace_status.reserved_micros == 0
    assert workspace_status.period_started_at == datetime(2025, 12, 1, tzinfo=UTC)
    assert workspace_status.resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert (key_status.api_key_id, key_status.api_key_name) == (key, "ci")
    assert key_status.spent_micros == 500_000  # today's only
    assert key_status.reserved_micros == 1_250_000
    assert key_status.resets_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert key_status.limit_micros == 5_000_000
    assert ws_budget.limit_micros == 100_000_000


async def test_no_budgets_list_empty(world: GovernanceWorld) -> None:
    assert await world.budgets() == []


# -- limits --------------------------------------------------------------------------------


async def test_an_admin_sets_and_removes_limits(world: GovernanceWorld) -> None:
    key = world.keys.put(world.workspace, 6)
    limits = await world.set_limits(
        SetLimits(actor=world.actor(), api_key_id=key, requests_per_minute=60, max_concurrent=2)
    )
    assert limits == Limits(requests_per_minute=60, max_concurrent=2)
    assert world.tables.limit_rows[(world.workspace, key)][0] == limits
    await world.remove_limits(RemoveLimits(actor=world.actor(), api_key_id=key))
    assert world.tables.limit_rows == {}
    assert [e.action for e in world.audit.entries] == [
        AuditAction.LLM_LIMITS_SET,
        AuditAction.LLM_LIMITS_REMOVED,
    ]
    assert world.audit.entries[0].metadata == {
        "scope": "api_key",
        "requests_per_minute": 60,
        "tokens_per_minute": None,
        "max_concurrent": 2,
    }
    with pytest.raises(LimitsNotFound):
        await world.remove_limits(RemoveLimits(actor=world.actor(), api_key_id=key))


async def test_limits_with_no_limit_at_all_are_refused(world: GovernanceWorld) -> None:
    with pytest.raises(InvalidLimits, match="at least one"):
        await world.set_limits(SetLimits(actor=world.actor(), api_key_id=None))
    with pytest.raises(InvalidLimits) as error:
        await world.set_limits(SetLimits(actor=world.actor(), api_key_id=None, max_concurrent=0))
    assert error.value.field == "max_concurrent"
    assert world.tables.limit_rows == {}


async def test_the_operator_defaults_show_until_the_workspace_sets_its_own() -> None:
    world = GovernanceWorld(LlmSettings(default_requests_per_minute=600, default_max_concurrent=20))
    [default] = await world.limits()
    assert default.default
    assert default.api_key_id is None
    assert default.limits == Limits(requests_per_minute=600, max_concurrent=20)
    await world.set_limits(
        SetLimits(actor=world.actor(), api_key_id=None, tokens_per_minute=50_000)
    )
    [own] = await world.limits()
    assert not own.default
    assert own.limits == Limits(tokens_per_minute=50_000)


async def test_without_operator_defaults_or_own_limits_the_list_is_empty(
    world: GovernanceWorld,
) -> None:
    assert await world.limits() == []


# -- settings ------------------------------------------------------------------------------


async def test_settings_default_to_accepting_unpriced_models_and_can_be_changed(
    world: GovernanceWorld,
) -> None:
    assert not (await world.llm_settings()).refuse_unpriced_models
    await world.update_settings(UpdateLlmSettings(actor=world.actor(), refuse_unpriced_models=True))
    assert (await world.llm_settings()).refuse_unpriced_models
    [entry] = world.audit.entries
    assert entry.action is AuditAction.LLM_SETTINGS_CHANGED
    assert entry.metadata == {"refuse_unpriced_models": True}


# -- the gateway's cached read -------------------------------------------------------------


async def test_a_change_made_here_is_seen_by_the_next_call_at_once(world: GovernanceWorld) -> None:
    key = world.keys.put(world.workspace, 7)
    assert await world.policies.policy(world.workspace, key) == await world.policies.policy(
        world.workspace, key
    )
    assert world.tables.lookups == 1  # cached
    await world.set_budget(budget(world, "2", key=key))
    await world.set_limits(SetLimits(actor=world.actor(), api_key_id=None, max_concurrent=3))
    await world.update_settings(UpdateLlmSettings(actor=world.actor(), refuse_unpriced_models=True))
    policy = await world.policies.policy(world.workspace, key)
    assert [b.limit_micros for b in policy.budgets] == [2_000_000]
    assert policy.workspace_limits == Limits(max_concurrent=3)
    assert policy.refuse_unpriced_models
    # A key's policy holds the workspace's budget and its own, never another key's.
    other = world.keys.put(world.workspace, 8)
    await world.set_budget(budget(world, "9"))
    policy = await world.policies.policy(world.workspace, other)
    assert [b.api_key_id for b in policy.budgets] == [None]


async def test_a_failed_command_leaves_the_cache_alone(world: GovernanceWorld) -> None:
    await world.policies.policy(world.workspace, None)
    with pytest.raises(InvalidBudget):
        await world.set_budget(budget(world, "-3"))
    await world.policies.policy(world.workspace, None)
    assert world.tables.lookups == 1


async def test_a_zero_ttl_reads_every_time() -> None:
    world = GovernanceWorld(LlmSettings(policy_cache_seconds=0.0))
    await world.policies.policy(world.workspace, None)
    await world.policies.policy(world.workspace, None)
    assert world.tables.lookups == 2
