"""Budgets, limits and LLM settings over HTTP: admins set and read them,
members get 403, outsiders and other workspaces' keys 404, bad input 422
with the field at fault; the budget list shows what the ledger holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.llm_usage import SqlUsageWriter
from adapters.postgres.tables import llm_budgets
from adapters.redis.llm_ledger import RedisSpendLedger
from application.ports.llm_governance import SpendHistory
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Budget, BudgetPeriod, budget_window
from domain.tenancy.ids import WorkspaceId
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, error_fields
from tests.e2e.tenancy_helpers import (
    Team,
    assert_same_404,
    audit_entries,
    build_team,
    create_key,
    create_workspace,
    only,
    signup,
)
from tests.fakes.llm_usage import usage_record

Client = AsyncTestClient[Litestar]
LLM = "/api/v1/llm"
BUDGETS = f"{LLM}/budgets"
LIMITS = f"{LLM}/limits"
SETTINGS = f"{LLM}/settings"
BUDGET_FIELDS = {
    "scope",
    "api_key_id",
    "api_key_name",
    "limit_usd",
    "period",
    "spent_usd",
    "reserved_usd",
    "remaining_usd",
    "period_started_at",
    "resets_at",
    "updated_at",
}


@pytest.fixture
async def team(client: Client, mailbox: Mailbox) -> Team:
    return await build_team(client, mailbox, "admin", "member")


async def key_of(client: Client, team: Team, name: str = "ci") -> str:
    return str((await create_key(client, team.admin, team.workspace, name=name))["id"])


def as_admin(team: Team) -> dict[str, str]:
    return team.admin.in_(team.workspace)


def at_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# -- budgets -------------------------------------------------------------------------------


async def test_an_admin_sets_budgets_and_the_list_shows_where_they_stand(
    client: Client, team: Team, engine: AsyncEngine, redis: Redis
) -> None:
    key = await key_of(client, team)
    response = await client.put(
        f"{BUDGETS}/workspace", json={"limit_usd": 25.5, "period": "month"}, headers=as_admin(team)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == BUDGET_FIELDS
    assert (body["scope"], body["api_key_id"], body["limit_usd"], body["period"]) == (
        "workspace",
        None,
        "25.500000",
        "month",
    )
    assert (body["spent_usd"], body["reserved_usd"], body["remaining_usd"]) == (
        "0.000000",
        "0.000000",
        "25.500000",
    )
    response = await client.put(
        f"{BUDGETS}/api-keys/{key}",
        json={"limit_usd": "0.000125", "period": "day"},
        headers=as_admin(team),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["scope"], response.json()["api_key_id"]) == ("api_key", key)
    assert response.json()["api_key_name"] == "ci"

    # Calls made today (recorded) and one running now (held in the ledger).
    today = datetime.now(UTC)
    await SqlUsageWriter(engine).write(
        [
            usage_record(
                WorkspaceId(uuid.UUID(team.workspace)), cost_micros=2_000_000, created_at=today
            ),
            usage_record(
                WorkspaceId(uuid.UUID(team.workspace)),
                api_key_id=ApiKeyId(uuid.UUID(key)),
                cost_micros=100,
                created_at=today,
            ),
        ]
    )
    await redis.flushdb()  # counters seeded by the PUT answers start again from the records
    ledger = RedisSpendLedger(redis, NoHistory())
    key_budget = Budget(
        workspace_id=WorkspaceId(uuid.UUID(team.workspace)),
        api_key_id=ApiKeyId(uuid.UUID(key)),
        limit_micros=125,
        period=BudgetPeriod.DAY,
    )
    response = await client.get(f"{BUDGETS}/", headers=as_admin(team))
    assert response.status_code == 200, response.text
    await ledger.reserve((budget_window(key_budget, datetime.now(UTC)),), 20)

    workspace_budget, key_entry = (await client.get(f"{BUDGETS}/", headers=as_admin(team))).json()
    assert workspace_budget["scope"] == "workspace"
    assert workspace_budget["spent_usd"] == "2.000100"
    assert workspace_budget["reserved_usd"] == "0.000000"
    assert workspace_budget["remaining_usd"] == "23.499900"
    started = at_utc(workspace_budget["period_started_at"])
    resets = at_utc(workspace_budget["resets_at"])
    assert (started.day, started.hour, started.minute) == (1, 0, 0)
    assert (resets.day, resets.hour) == (1, 0)
    assert started <= today < resets
    assert key_entry["api_key_id"] == key
    assert (key_entry["spent_usd"], key_entry["reserved_usd"]) == ("0.000100", "0.000020")
    assert key_entry["remaining_usd"] == "0.000005"
    day_start = at_utc(key_entry["period_started_at"])
    assert (day_start.date(), day_start.hour) == (today.date(), 0)
    assert (at_utc(key_entry["resets_at"]) - day_start).days == 1


class NoHistory(SpendHistory):
    async def spent_micros(
        self, workspace_id: WorkspaceId, api_key_id: ApiKeyId | None, since: datetime
    ) -> int:
        raise AssertionError("the app seeded this window already")


async def test_put_replaces_and_delete_removes_a_budget(
    client: Client, team: Team, engine: AsyncEngine
) -> None:
    for body in ({"limit_usd": 10, "period": "day"}, {"limit_usd": 0, "period": "month"}):
        response = await client.put(f"{BUDGETS}/workspace", json=body, headers=as_admin(team))
        assert response.status_code == 200, response.text
    [only_budget] = (await client.get(f"{BUDGETS}/", headers=as_admin(team))).json()
    assert (only_budget["limit_usd"], only_budget["period"]) == ("0.000000", "month")
    removed = await client.delete(f"{BUDGETS}/workspace", headers=as_admin(team))
    assert removed.status_code == 204, removed.text
    assert (await client.get(f"{BUDGETS}/", headers=as_admin(team))).json() == []
    async with engine.connect() as conn:
        assert (await conn.execute(select(llm_budgets))).all() == []
    again = await client.delete(f"{BUDGETS}/workspace", headers=as_admin(team))
    assert_problem(again, 404, "budget_not_found")
    key = await key_of(client, team)
    assert_problem(
        await client.delete(f"{BUDGETS}/api-keys/{key}", headers=as_admin(team)),
        404,
        "budget_not_found",
    )


async def test_budget_changes_are_audited(client: Client, team: Team) -> None:
    key = await key_of(client, team)
    body = {"limit_usd": 3, "period": "day"}
    await client.put(f"{BUDGETS}/api-keys/{key}", json=body, headers=as_admin(team))
    await client.delete(f"{BUDGETS}/api-keys/{key}", headers=as_admin(team))
    entries = await audit_entries(client, team.owner, team.workspace)
    set_ = only(entries, "llm.budget_set")
    assert set_["target_id"] == key
    assert set_["metadata"] == {"scope": "api_key", "limit_micros": 3_000_000, "period": "day"}
    assert only(entries, "llm.budget_removed")["target_id"] == key


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit_usd": -1, "period": "day"}, "limit_usd"),
        ({"limit_usd": 1.1234567, "period": "day"}, "limit_usd"),
        ({"limit_usd": 1_000_000_001, "period": "day"}, "limit_usd"),
        ({"limit_usd": "NaN", "period": "day"}, "limit_usd"),
        ({"limit_usd": True, "period": "day"}, "limit_usd"),
        ({"limit_usd": 5, "period": "week"}, "period"),
        ({"limit_usd": 5}, "period"),
        ({"period": "day"}, "limit_usd"),
        ({"limit_usd": 5, "period": "day", "hard": True}, "hard"),
    ],
)
async def test_invalid_budgets_are_422_naming_the_field_and_change_nothing(
    client: Client, team: Team, body: dict[str, Any], field: str
) -> None:
    response = await client.put(f"{BUDGETS}/workspace", json=body, headers=as_admin(team))
    assert response.status_code == 422, response.text
    assert field in error_fields(response.json()), response.json()
    assert (await client.get(f"{BUDGETS}/", headers=as_admin(team))).json() == []


# -- limits --------------------------------------------------------------------------------


async def test_an_admin_sets_reads_and_removes_limits(client: Client, team: Team) -> None:
    key = await key_of(client, team, "batch")
    response = await client.put(
        f"{LIMITS}/workspace",
        json={"requests_per_minute": 600, "tokens_per_minute": 100_000},
        headers=as_admin(team),
    )
    assert response.status_code == 200, response.text
    assert response.json()["requests_per_minute"] == 600
    assert response.json()["max_concurrent"] is None
    assert response.json()["default"] is False
    response = await client.put(
        f"{LIMITS}/api-keys/{key}", json={"max_concurrent": 2}, headers=as_admin(team)
    )
    assert response.status_code == 200, response.text
    listed = (await client.get(f"{LIMITS}/", headers=as_admin(team))).json()
    assert [(e["scope"], e["api_key_id"], e["api_key_name"]) for e in listed] == [
        ("workspace", None, None),
        ("api_key", key, "batch"),
    ]
    assert listed[1]["max_concurrent"] == 2
    assert (
        await client.delete(f"{LIMITS}/api-keys/{key}", headers=as_admin(team))
    ).status_code == 204
    assert (await client.delete(f"{LIMITS}/workspace", headers=as_admin(team))).status_code == 204
    assert (await client.get(f"{LIMITS}/", headers=as_admin(team))).json() == []
    assert_problem(
        await client.delete(f"{LIMITS}/workspace", headers=as_admin(team)), 404, "limits_not_found"
    )
    entries = await audit_entries(client, team.owner, team.workspace)
    actions = [e["action"] for e in entries]
    assert actions.count("llm.limits_set") == 2
    assert actions.count("llm.limits_removed") == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"tokens_per_minute": -5}, "tokens_per_minute"),
        ({"max_concurrent": 1.5}, "max_concurrent"),
        ({"requests_per_minute": 10_000_000}, "requests_per_minute"),
        ({}, "body"),
        ({"requests_per_minute": None}, "body"),
        ({"burst": 3}, "burst"),
    ],
)
async def test_invalid_limits_are_422_and_change_nothing(
    client: Client, team: Team, body: dict[str, Any], field: str
) -> None:
    response = await client.put(f"{LIMITS}/workspace", json=body, headers=as_admin(team))
    assert response.status_code == 422, response.text
    assert field in error_fields(response.json()) or (
        field == "body" and response.json()["code"] == "invalid_limits"
    ), response.json()
    assert (await client.get(f"{LIMITS}/", headers=as_admin(team))).json() == []


# -- settings ------------------------------------------------------------------------------


async def test_an_admin_turns_refusing_unpriced_models_on_and_off(
    client: Client, team: Team
) -> None:
    response = await client.get(f"{SETTINGS}/", headers=as_admin(team))
    assert response.status_code == 200, response.text
    assert response.json() == {"refuse_unpriced_models": False}
    for value in (True, False, True):
        response = await client.put(
            f"{SETTINGS}/", json={"refuse_unpriced_models": value}, headers=as_admin(team)
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"refuse_unpriced_models": value}
    assert (await client.get(f"{SETTINGS}/", headers=as_admin(team))).json() == {
        "refuse_unpriced_models": True
    }
    entries = await audit_entries(client, team.owner, team.workspace)
    changed = [e for e in entries if e["action"] == "llm.settings_changed"]
    assert sorted(e["metadata"]["refuse_unpriced_models"] for e in changed) == [False, True, True]
    for bad in ({}, {"refuse_unpriced_models": "yes"}, {"refuse_unpriced_models": True, "x": 1}):
        response = await client.put(f"{SETTINGS}/", json=bad, headers=as_admin(team))
        assert response.status_code == 422, response.text


# -- who may -------------------------------------------------------------------------------


def every_call(key: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    budget = {"limit_usd": 1, "period": "day"}
    limits = {"max_concurrent": 1}
    return [
        ("GET", f"{BUDGETS}/", None),
        ("PUT", f"{BUDGETS}/workspace", budget),
        ("PUT", f"{BUDGETS}/api-keys/{key}", budget),
        ("DELETE", f"{BUDGETS}/workspace", None),
        ("DELETE", f"{BUDGETS}/api-keys/{key}", None),
        ("GET", f"{LIMITS}/", None),
        ("PUT", f"{LIMITS}/workspace", limits),
        ("PUT", f"{LIMITS}/api-keys/{key}", limits),
        ("DELETE", f"{LIMITS}/workspace", None),
        ("DELETE", f"{LIMITS}/api-keys/{key}", None),
        ("GET", f"{SETTINGS}/", None),
        ("PUT", f"{SETTINGS}/", {"refuse_unpriced_models": True}),
    ]


async def test_a_member_gets_403_everywhere(client: Client, team: Team) -> None:
    key = await key_of(client, team)
    for method, url, body in every_call(key):
        response = await client.request(
            method, url, json=body, headers=team.member.in_(team.workspace)
        )
        assert_problem(response, 403, "insufficient_role")


async def test_a_non_member_gets_404_everywhere(
    client: Client, team: Team, mailbox: Mailbox
) -> None:
    key = await key_of(client, team)
    outsider = await signup(client, mailbox, "outsider@example.com")
    for method, url, body in every_call(key):
        response = await client.request(
            method, url, json=body, headers=outsider.in_(team.workspace)
        )
        assert response.status_code == 404, (method, url, response.text)


async def test_another_workspaces_key_is_404_like_an_unknown_one(
    client: Client, team: Team
) -> None:
    elsewhere = await create_workspace(client, team.admin, "Elsewhere")
    foreign = str((await create_key(client, team.admin, elsewhere, name="theirs"))["id"])
    unknown = str(uuid.uuid4())
    for prefix, body in (
        (BUDGETS, {"limit_usd": 1, "period": "day"}),
        (LIMITS, {"requests_per_minute": 5}),
    ):
        foreign_response = await client.put(
            f"{prefix}/api-keys/{foreign}", json=body, headers=as_admin(team)
        )
        unknown_response = await client.put(
            f"{prefix}/api-keys/{unknown}", json=body, headers=as_admin(team)
        )
        assert_problem(foreign_response, 404, "api_key_not_found")
        assert_same_404(foreign_response, unknown_response)
        assert_same_404(
            await client.delete(f"{prefix}/api-keys/{foreign}", headers=as_admin(team)),
            await client.delete(f"{prefix}/api-keys/{unknown}", headers=as_admin(team)),
        )
    # Nothing was written for the other workspace's key, there or here.
    assert (await client.get(f"{BUDGETS}/", headers=team.admin.in_(elsewhere))).json() == []
    assert (await client.get(f"{BUDGETS}/", headers=as_admin(team))).json() == []
