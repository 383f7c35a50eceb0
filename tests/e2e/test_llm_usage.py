"""GET /api/v1/llm/usage over HTTP: records written through the app's own sink,
grouped per model, API key, user and day, scoped to the workspace, admin-only;
the gateway's metrics on /metrics; nothing buffered is lost at shutdown."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.llm.usage_buffer import BufferedUsageSink
from adapters.postgres.tables import llm_usage, workspaces
from application.ports.llm_usage import GatewayMetrics, UsageSink
from domain.identity.api_key import ApiKeyId
from domain.identity.ids import UserId
from domain.llm.usage import UsageRecord
from domain.tenancy.ids import WorkspaceId
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, error_fields
from tests.e2e.tenancy_helpers import Team, User, assert_same_404, build_team, create_workspace
from tests.e2e.tenancy_helpers import signup as sign_up
from tests.fakes.llm_usage import usage_record

Client = AsyncTestClient[Litestar]
USAGE = "/api/v1/llm/usage"
T = TypeVar("T")

DAY1 = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
DAY2 = DAY1 + timedelta(days=1)
KEY = ApiKeyId(uuid.UUID("0190aaaa-0000-7000-8000-000000000001"))


@pytest.fixture
def usage_app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(usage_app: Litestar, clean: None) -> AsyncIterator[Client]:
    async with AsyncTestClient(usage_app, base_url="http://testserver.local") as client:
        yield client


def in_app(client: Client, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(container)`` on the app's own event loop (where its engine lives)."""
    container = client.app.state.dishka_container

    async def run() -> T:
        return await work(container)

    return client.blocking_portal.call(run)


def record_through_the_sink(client: Client, records: list[UsageRecord], *, flush: bool) -> None:
    async def work(container: Any) -> None:
        sink = await container.get(UsageSink)
        for r in records:
            sink.record(r)
        if flush:
            await (await container.get(BufferedUsageSink)).flush()

    in_app(client, work)


@pytest.fixture
async def team(client: Client, mailbox: Mailbox) -> Team:
    return await build_team(client, mailbox, "admin", "member", "viewer")


@pytest.fixture
async def other(client: Client, mailbox: Mailbox, team: Team) -> tuple[User, str]:
    user = await sign_up(client, mailbox, "other@example.com")
    return user, await create_workspace(client, user, "Other")


@pytest.fixture
def seeded(client: Client, team: Team, other: tuple[User, str]) -> list[UsageRecord]:
    a = WorkspaceId(uuid.UUID(team.workspace))
    owner, admin = UserId(uuid.UUID(team.owner.id)), UserId(uuid.UUID(team.admin.id))
    mine = [
        usage_record(a, model="openai/gpt-4o-mini", user_id=owner, cost_micros=210,
                     input_tokens=100, output_tokens=50, cached_tokens=20, latency_ms=100,
                     created_at=DAY1),
        usage_record(a, model="openai/gpt-4o-mini", user_id=owner, api_key_id=KEY,
                     cost_micros=1_000_000, input_tokens=10, output_tokens=5, latency_ms=300,
                     created_at=DAY2),
        usage_record(a, model="anthropic/claude-sonnet-4-5", user_id=admin, cost_micros=None,
                     input_tokens=7, output_tokens=3, latency_ms=200, created_at=DAY2),
        usage_record(a, model=None, requested_model="nowhere/model", user_id=admin,
                     api_key_id=KEY, cost_micros=None, status="rate_limited",
                     input_tokens=0, output_tokens=0, latency_ms=50, created_at=DAY2),
    ]  # fmt: skip
    foreign_user, foreign_workspace = other
    theirs = [
        usage_record(
            WorkspaceId(uuid.UUID(foreign_workspace)),
            model="openai/gpt-4o-mini",
            user_id=UserId(uuid.UUID(foreign_user.id)),
            cost_micros=999_999,
            input_tokens=1_000,
            created_at=DAY2,
        )
        for _ in range(3)
    ]
    record_through_the_sink(client, mine + theirs, flush=True)
    return mine


async def usage(client: Client, user: User, workspace: str, **params: str) -> dict[str, Any]:
    response = await client.get(USAGE, params=params, headers=user.in_(workspace))
    assert response.status_code == 200, response.text
    return dict(response.json())


def by_key(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {g["key"]: g for g in body["groups"]}


async def test_usage_per_model_with_exact_costs_and_unknown_costs_apart(
    client: Client, team: Team, seeded: list[UsageRecord]
) -> None:
    body = await usage(client, team.admin, team.workspace, group_by="model")
    assert body["group_by"] == "model"
    assert [g["key"] for g in body["groups"]] == [
        "anthropic/claude-sonnet-4-5",
        "nowhere/model",  # never reached a model: grouped by the name asked for
        "openai/gpt-4o-mini",
    ]
    groups = by_key(body)
    gpt = groups["openai/gpt-4o-mini"]
    assert gpt == {
        "key": "openai/gpt-4o-mini",
        "requests": 2,
        "errors": 0,
        "input_tokens": 110,
        "output_tokens": 55,
        "cached_tokens": 20,
        "cost_usd": "1.000210",
        "unknown_cost_requests": 0,
        "latency_ms": {"p50": 200.0, "p95": 290.0},
    }
    claude = groups["anthropic/claude-sonnet-4-5"]
    assert (claude["cost_usd"], claude["unknown_cost_requests"]) == ("0.000000", 1)
    failed = groups["nowhere/model"]
    assert (failed["errors"], failed["unknown_cost_requests"]) == (1, 0)
    assert body["totals"] == {
        "requests": 4,
        "errors": 1,
        "input_tokens": 117,
        "output_tokens": 58,
        "cached_tokens": 20,
        "cost_usd": "1.000210",
        "unknown_cost_requests": 1,
    }


async def test_usage_per_api_key_user_and_day(
    client: Client, team: Team, seeded: list[UsageRecord]
) -> None:
    keys = await usage(client, team.owner, team.workspace, group_by="api_key")
    assert [(g["key"], g["requests"]) for g in keys["groups"]] == [(str(KEY), 2), (None, 2)]
    users = by_key(await usage(client, team.owner, team.workspace, group_by="user"))
    assert {k: g["requests"] for k, g in users.items()} == {team.owner.id: 2, team.admin.id: 2}
    assert users[team.owner.id]["cost_usd"] == "1.000210"
    days = await usage(client, team.owner, team.workspace, group_by="day")
    assert [(g["key"], g["requests"]) for g in days["groups"]] == [
        (DAY1.date().isoformat(), 1),
        (DAY2.date().isoformat(), 3),
    ]


async def test_the_window_defaults_to_30_days_and_takes_dates_or_datetimes(
    client: Client, team: Team, seeded: list[UsageRecord]
) -> None:
    body = await usage(client, team.admin, team.workspace)
    since = datetime.fromisoformat(body["from"])
    until = datetime.fromisoformat(body["to"])
    assert until - since == timedelta(days=30)
    assert abs((until - datetime.now(UTC)).total_seconds()) < 60
    assert body["group_by"] == "model" and body["totals"]["requests"] == 4
    one_day = await usage(
        client,
        team.admin,
        team.workspace,
        **{"from": DAY1.date().isoformat(), "to": DAY1.date().isoformat()},
    )
    assert one_day["totals"]["requests"] == 1
    assert one_day["to"].startswith((DAY1.date() + timedelta(days=1)).isoformat())
    later = await usage(
        client, team.admin, team.workspace, **{"from": (DAY2 - timedelta(minutes=1)).isoformat()}
    )
    assert later["totals"]["requests"] == 3


async def test_another_workspaces_usage_never_appears(
    client: Client, team: Team, other: tuple[User, str], seeded: list[UsageRecord]
) -> None:
    body = await usage(client, team.owner, team.workspace, group_by="user")
    other_user, other_workspace = other
    assert other_user.id not in by_key(body)
    assert body["totals"]["cost_usd"] == "1.000210"
    theirs = await usage(client, other_user, other_workspace)
    assert theirs["totals"]["requests"] == 3
    assert theirs["totals"]["cost_usd"] == "2.999997"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-02-30"}, "to"),
        ({"from": "2025-06-02", "to": "2025-06-01"}, "from"),
        ({"from": "2024-01-01", "to": "2025-01-01"}, "from"),  # 367 days
        ({"group_by": "provider"}, "group_by"),
    ],
)
async def test_bad_parameters_are_422_naming_the_field(
    client: Client, team: Team, params: dict[str, str], field: str
) -> None:
    response = await client.get(USAGE, params=params, headers=team.admin.in_(team.workspace))
    body = assert_problem(response, 422, "invalid_input")
    assert error_fields(body) == {field}


async def test_members_and_viewers_are_refused(client: Client, team: Team) -> None:
    for user in (team.member, team.viewer):
        response = await client.get(USAGE, headers=user.in_(team.workspace))
        assert_problem(response, 403, "insufficient_role")


async def test_a_non_member_gets_the_same_404_as_for_no_workspace(
    client: Client, team: Team, other: tuple[User, str]
) -> None:
    outsider, _ = other
    foreign = await client.get(USAGE, headers=outsider.in_(team.workspace))
    random = await client.get(USAGE, headers=outsider.in_(str(uuid.uuid4())))
    assert_same_404(foreign, random)


async def test_a_recorded_call_shows_on_the_metrics_page(client: Client) -> None:
    model = f"openai/e2e-{uuid.uuid4().hex[:8]}"

    async def work(container: Any) -> None:
        metrics = await container.get(GatewayMetrics)
        metrics.call_finished(usage_record(model=model, cost_micros=5_000, ttft_ms=120))
        metrics.breaker_changed(f"{model}|target", "open")

    in_app(client, work)
    text = (await client.get("/metrics")).text
    labels = f'model="{model}",provider="openai"'
    assert f'synapscale_llm_requests_total{{{labels},status="ok"}} 1.0' in text
    assert f"synapscale_llm_cost_usd_total{{{labels}}} 0.005" in text
    assert f'synapscale_llm_tokens_total{{kind="input",{labels}}} 10.0' in text
    assert f"synapscale_llm_request_duration_seconds_count{{{labels}}} 1.0" in text
    assert f"synapscale_llm_time_to_first_token_seconds_count{{{labels}}} 1.0" in text
    assert f'synapscale_llm_breaker_state{{target="{model}|target"}} 2.0' in text
    assert "synapscale_llm_usage_records_dropped_total" in text


async def test_records_still_buffered_at_shutdown_are_written(
    settings: Settings, engine: AsyncEngine, clean: None
) -> None:
    slow = msgspec.structs.replace(settings, llm_usage_flush_seconds=3600.0)
    app = create_app(slow)
    async with AsyncTestClient(app, base_url="http://testserver.local") as client:
        workspace = await _a_workspace(engine)
        record_through_the_sink(
            client, [usage_record(workspace) for _ in range(1_234)], flush=False
        )

        async def pending(container: Any) -> int:
            return int((await container.get(BufferedUsageSink)).pending)

        assert in_app(client, pending) > 0  # still in memory as the app stops
    async with engine.connect() as conn:
        stored = (await conn.execute(select(func.count()).select_from(llm_usage))).scalar_one()
    assert stored == 1_234


async def _a_workspace(engine: AsyncEngine) -> WorkspaceId:
    workspace = WorkspaceId(uuid.uuid4())
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            workspaces.insert().values(
                id=workspace, name="Shutdown", personal=False, created_at=now, updated_at=now
            )
        )
    return workspace
