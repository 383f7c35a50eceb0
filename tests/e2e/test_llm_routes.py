"""Routes over HTTP: admins shape them, members read them, viewers and
outsiders are kept out, bad input is refused with the field at fault."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.llm_routes import SqlRouteLookup
from domain.llm.route import Strategy
from domain.tenancy.ids import WorkspaceId
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, error_fields
from tests.e2e.tenancy_helpers import (
    Team,
    assert_same_404,
    audit_entries,
    build_team,
    create_workspace,
    only,
    signup,
)

Client = AsyncTestClient[Litestar]
ROUTES = "/api/v1/llm/routes"
VIEW_FIELDS = {
    "id",
    "name",
    "strategy",
    "targets",
    "fallback_on",
    "created_by",
    "created_at",
    "updated_at",
}
BODY: dict[str, Any] = {
    "name": "fast-chat",
    "strategy": "priority",
    "targets": [
        {"model": "openai/gpt-4o-mini"},
        {"model": "anthropic/claude-haiku-4-5", "weight": 3, "priority": 1},
    ],
}


@pytest.fixture
async def team(client: Client, mailbox: Mailbox) -> Team:
    return await build_team(client, mailbox, "admin", "member", "viewer")


async def create(client: Client, team: Team, **changes: Any) -> httpx.Response:
    return await client.post(
        f"{ROUTES}/", json={**BODY, **changes}, headers=team.admin.in_(team.workspace)
    )


async def created(client: Client, team: Team, **changes: Any) -> dict[str, Any]:
    response = await create(client, team, **changes)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_an_admin_creates_a_route_and_gets_its_view(client: Client, team: Team) -> None:
    response = await create(client, team)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == VIEW_FIELDS
    assert body["name"] == "fast-chat"
    assert body["strategy"] == "priority"
    assert body["targets"] == [
        {"model": "openai/gpt-4o-mini", "credential_id": None, "weight": 1, "priority": 0},
        {"model": "anthropic/claude-haiku-4-5", "credential_id": None, "weight": 3, "priority": 1},
    ]
    assert body["fallback_on"] == ["rate_limited", "server_error", "timeout", "overloaded"]
    assert body["created_by"] == team.admin.id
    assert body["created_at"] == body["updated_at"]
    uuid.UUID(body["id"])


async def test_the_route_reads_back_the_same_for_a_member(client: Client, team: Team) -> None:
    route = await created(client, team, fallback_on=["timeout", "rate_limited"])
    one = await client.get(f"{ROUTES}/{route['id']}", headers=team.member.in_(team.workspace))
    assert one.status_code == 200, one.text
    assert one.json() == {**route, "fallback_on": ["rate_limited", "timeout"]}
    listed = await client.get(f"{ROUTES}/", headers=team.member.in_(team.workspace))
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == [route["id"]]


async def test_the_list_is_by_name(client: Client, team: Team) -> None:
    for name in ("zeta", "alpha", "mid"):
        await created(client, team, name=name)
    listed = await client.get(f"{ROUTES}/", headers=team.admin.in_(team.workspace))
    assert [r["name"] for r in listed.json()] == ["alpha", "mid", "zeta"]


async def test_a_patch_changes_only_what_it_names(client: Client, team: Team) -> None:
    route = await created(client, team)
    response = await client.patch(
        f"{ROUTES}/{route['id']}",
        json={"strategy": "weighted", "targets": [{"model": "openai/gpt-4o", "weight": 7}]},
        headers=team.admin.in_(team.workspace),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == route["name"]
    assert body["strategy"] == "weighted"
    assert body["targets"] == [
        {"model": "openai/gpt-4o", "credential_id": None, "weight": 7, "priority": 0}
    ]
    assert body["fallback_on"] == route["fallback_on"]
    assert body["created_at"] == route["created_at"]
    assert body["updated_at"] >= route["updated_at"]
    again = await client.get(f"{ROUTES}/{route['id']}", headers=team.admin.in_(team.workspace))
    assert again.json() == body


async def test_an_admin_deletes_a_route(client: Client, team: Team) -> None:
    route = await created(client, team)
    response = await client.delete(
        f"{ROUTES}/{route['id']}", headers=team.admin.in_(team.workspace)
    )
    assert response.status_code == 204, response.text
    gone = await client.get(f"{ROUTES}/{route['id']}", headers=team.admin.in_(team.workspace))
    assert_problem(gone, 404, "route_not_found")


async def test_every_change_is_audited(client: Client, team: Team) -> None:
    route = await created(client, team)
    headers = team.admin.in_(team.workspace)
    await client.patch(f"{ROUTES}/{route['id']}", json={"name": "renamed"}, headers=headers)
    await client.delete(f"{ROUTES}/{route['id']}", headers=headers)
    entries = await audit_entries(client, team.owner, team.workspace)
    made = only(entries, "llm.route_created")
    assert made["target_id"] == route["id"]
    assert made["metadata"]["name"] == "fast-chat"
    changed = only(entries, "llm.route_updated")
    assert changed["metadata"] == {"name": "renamed", "from": "fast-chat", "changed": "name"}
    assert only(entries, "llm.route_deleted")["metadata"] == {"name": "renamed"}


# -- who may -------------------------------------------------------------------------------


async def test_a_member_reads_but_cannot_write(client: Client, team: Team) -> None:
    route = await created(client, team)
    headers = team.member.in_(team.workspace)
    assert (await client.get(f"{ROUTES}/", headers=headers)).status_code == 200
    assert_problem(
        await client.post(f"{ROUTES}/", json={**BODY, "name": "mine"}, headers=headers),
        403,
        "insufficient_role",
    )
    assert_problem(
        await client.patch(f"{ROUTES}/{route['id']}", json={"name": "x"}, headers=headers),
        403,
        "insufficient_role",
    )
    assert_problem(
        await client.delete(f"{ROUTES}/{route['id']}", headers=headers), 403, "insufficient_role"
    )


async def test_a_viewer_cannot_even_read(client: Client, team: Team) -> None:
    route = await created(client, team)
    headers = team.viewer.in_(team.workspace)
    assert_problem(await client.get(f"{ROUTES}/", headers=headers), 403, "insufficient_role")
    assert_problem(
        await client.get(f"{ROUTES}/{route['id']}", headers=headers), 403, "insufficient_role"
    )


async def test_a_non_member_gets_404(client: Client, team: Team, mailbox: Mailbox) -> None:
    route = await created(client, team)
    stranger = await signup(client, mailbox, "stranger@example.com")
    headers = stranger.in_(team.workspace)
    assert_problem(await client.get(f"{ROUTES}/", headers=headers), 404, "workspace_not_found")
    assert_problem(
        await client.get(f"{ROUTES}/{route['id']}", headers=headers), 404, "workspace_not_found"
    )


async def test_another_workspaces_route_is_404_like_an_unknown_one(
    client: Client, team: Team
) -> None:
    route = await created(client, team)
    elsewhere = await create_workspace(client, team.admin, "Elsewhere")
    headers = team.admin.in_(elsewhere)
    for method, body in (("GET", None), ("PATCH", {"name": "mine"}), ("DELETE", None)):
        foreign = await client.request(
            method, f"{ROUTES}/{route['id']}", json=body, headers=headers
        )
        random = await client.request(
            method, f"{ROUTES}/{uuid.uuid4()}", json=body, headers=headers
        )
        assert_problem(foreign, 404, "route_not_found")
        assert_same_404(foreign, random)
    still = await client.get(f"{ROUTES}/{route['id']}", headers=team.admin.in_(team.workspace))
    assert still.json()["name"] == route["name"]


# -- bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "openai/gpt-4o"}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"strategy": "round_robin"}, "strategy"),
        ({"targets": []}, "targets"),
        ({"targets": [{"model": "openai/gpt-4o"}] * 17}, "targets"),
        ({"targets": [{"model": "openai/a"}, {"model": "gpt-4o"}]}, "targets[1].model"),
        ({"targets": [{"model": "openai/a", "weight": 0}]}, "targets[0].weight"),
        ({"targets": [{"model": "openai/a", "priority": 5000}]}, "targets[0].priority"),
        ({"targets": [{"model": "openai/a"}, {"model": "openai/a"}]}, "targets[1]"),
        ({"fallback_on": ["timeout", "everything"]}, "fallback_on"),
        (
            {"targets": [{"model": "openai/a", "credential_id": str(uuid.uuid4())}]},
            "targets[0].credential_id",
        ),
    ],
)
async def test_invalid_routes_are_refused_with_the_field_at_fault(
    client: Client, team: Team, changes: dict[str, Any], field: str
) -> None:
    response = await create(client, team, **changes)
    body = assert_problem(response, 422, "invalid_route")
    assert error_fields(body) == {field}
    listed = await client.get(f"{ROUTES}/", headers=team.admin.in_(team.workspace))
    assert listed.json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**BODY, "owner": "me"}, "owner"),
        (
            {**BODY, "targets": [{"model": "openai/a", "base_url": "http://x"}]},
            "targets[0].base_url",
        ),
        ({**BODY, "targets": [{"model": "openai/a", "weight": "heavy"}]}, "targets[0].weight"),
        ({"name": "fast", "targets": [{"model": "openai/a"}]}, "strategy"),
    ],
)
async def test_unknown_or_mistyped_fields_are_refused(
    client: Client, team: Team, body: dict[str, Any], field: str
) -> None:
    response = await client.post(f"{ROUTES}/", json=body, headers=team.admin.in_(team.workspace))
    problem = assert_problem(response, 422, "validation_error")
    assert field in error_fields(problem)


async def test_a_patch_with_unknown_fields_or_bad_values_changes_nothing(
    client: Client, team: Team
) -> None:
    route = await created(client, team)
    headers = team.admin.in_(team.workspace)
    unknown = await client.patch(
        f"{ROUTES}/{route['id']}", json={"strategy": "weighted", "id": "x"}, headers=headers
    )
    assert error_fields(assert_problem(unknown, 422, "validation_error")) == {"id"}
    bad = await client.patch(
        f"{ROUTES}/{route['id']}",
        json={"strategy": "weighted", "targets": [{"model": "nope"}]},
        headers=headers,
    )
    assert error_fields(assert_problem(bad, 422, "invalid_route")) == {"targets[0].model"}
    after = await client.get(f"{ROUTES}/{route['id']}", headers=headers)
    assert after.json() == route


async def test_a_second_route_of_the_same_name_is_409(client: Client, team: Team) -> None:
    await created(client, team)
    assert_problem(await create(client, team), 409, "route_name_taken")
    other = await created(client, team, name="other")
    renamed = await client.patch(
        f"{ROUTES}/{other['id']}",
        json={"name": "fast-chat"},
        headers=team.admin.in_(team.workspace),
    )
    assert_problem(renamed, 409, "route_name_taken")
    after = await client.get(f"{ROUTES}/{other['id']}", headers=team.admin.in_(team.workspace))
    assert after.json()["name"] == "other"


async def test_the_same_name_in_another_workspace_is_fine(client: Client, team: Team) -> None:
    await created(client, team)
    elsewhere = await create_workspace(client, team.admin, "Elsewhere")
    response = await client.post(f"{ROUTES}/", json=BODY, headers=team.admin.in_(elsewhere))
    assert response.status_code == 201, response.text


# -- credentials ---------------------------------------------------------------------------


async def make_credential(client: Client, team: Team, workspace: str, provider: str) -> str:
    response = await client.post(
        "/api/v1/llm/credentials/",
        json={"provider": provider, "name": f"{provider} key", "api_key": "sk-e2e-0123456789abcd"},
        headers=team.admin.in_(workspace),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_target_may_use_one_of_the_workspaces_credentials(
    client: Client, team: Team, engine: AsyncEngine
) -> None:
    mine = await make_credential(client, team, team.workspace, "openai")
    route = await created(client, team, targets=[{"model": "openai/gpt-4o", "credential_id": mine}])
    assert route["targets"][0]["credential_id"] == mine
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text("SELECT targets, fallback_on FROM llm_routes WHERE id = :id"),
                {"id": uuid.UUID(route["id"])},
            )
        ).one()
    assert stored.targets[0]["credential_id"] == mine
    assert stored.fallback_on == ["rate_limited", "server_error", "timeout", "overloaded"]


async def test_another_workspaces_or_providers_credential_is_refused(
    client: Client, team: Team
) -> None:
    elsewhere = await create_workspace(client, team.admin, "Elsewhere")
    theirs = await make_credential(client, team, elsewhere, "openai")
    anthropic = await make_credential(client, team, team.workspace, "anthropic")
    for credential in (theirs, anthropic):
        response = await create(
            client, team, targets=[{"model": "openai/gpt-4o", "credential_id": credential}]
        )
        body = assert_problem(response, 422, "invalid_route")
        assert error_fields(body) == {"targets[0].credential_id"}


# -- the gateway's read --------------------------------------------------------------------


async def test_the_gateway_finds_a_route_by_name_in_its_workspace_only(
    client: Client, team: Team, engine: AsyncEngine
) -> None:
    route = await created(client, team, strategy="lowest_cost", fallback_on=["timeout"])
    elsewhere = await create_workspace(client, team.admin, "Elsewhere")
    lookup = SqlRouteLookup(engine)
    workspace = WorkspaceId(uuid.UUID(team.workspace))

    found = await lookup.by_name(workspace, "fast-chat")
    assert found is not None
    assert str(found.id) == route["id"]
    assert found.strategy is Strategy.LOWEST_COST
    assert found.fallback_on == frozenset({"timeout"})
    assert [(t.model, t.weight, t.priority) for t in found.targets] == [
        ("openai/gpt-4o-mini", 1, 0),
        ("anthropic/claude-haiku-4-5", 3, 1),
    ]
    assert await lookup.by_name(WorkspaceId(uuid.UUID(elsewhere)), "fast-chat") is None
    assert await lookup.by_name(workspace, "FAST-CHAT") is None
    assert [r.name for r in await lookup.of_workspace(workspace)] == ["fast-chat"]
    assert await lookup.of_workspace(WorkspaceId(uuid.UUID(elsewhere))) == []
