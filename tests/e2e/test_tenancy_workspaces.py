"""Workspaces over HTTP: the personal one, creating, listing, renaming,
deleting, and the 404 that does not tell a foreign workspace from none."""

from __future__ import annotations

import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem
from tests.e2e.tenancy_helpers import (
    WORKSPACES,
    assert_same_404,
    build_team,
    create_key,
    create_workspace,
    invite,
    key_auth,
    my_workspaces,
    personal_workspace,
    rows_in_workspace,
    signup,
)

Client = AsyncTestClient[Litestar]


async def test_a_new_user_owns_a_personal_workspace(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com", name="Ada")

    [workspace] = await my_workspaces(client, ada)

    assert workspace["personal"] is True
    assert workspace["role"] == "owner"
    assert workspace["member_count"] == 1
    assert workspace["name"] == "Ada's workspace"


async def test_creating_a_workspace_answers_201_and_makes_the_creator_owner(
    client: Client, mailbox: Mailbox
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    response = await client.post(f"{WORKSPACES}/", json={"name": "Research"}, headers=ada.auth)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Research"
    assert body["personal"] is False
    assert body["role"] == "owner"
    assert body["member_count"] == 1
    uuid.UUID(body["id"])


async def test_the_workspace_list_shows_each_workspace_with_my_role(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "viewer")
    own = await create_workspace(client, team.viewer, "Mine")

    roles = {w["id"]: w["role"] for w in await my_workspaces(client, team.viewer)}

    assert roles[team.workspace] == "viewer"
    assert roles[own] == "owner"
    assert len(roles) == 3  # personal, Team, Mine


async def test_the_workspace_list_omits_workspaces_i_do_not_belong_to(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    outsider = await signup(client, mailbox, "out@example.com")

    ids = {w["id"] for w in await my_workspaces(client, outsider)}

    assert team.workspace not in ids
    assert len(ids) == 1


async def test_a_viewer_can_read_the_workspace(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "viewer")

    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.viewer.auth)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == team.workspace
    assert response.json()["role"] == "viewer"
    assert response.json()["member_count"] == 2


async def test_an_admin_can_rename_the_workspace(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.patch(
        f"{WORKSPACES}/{team.workspace}", json={"name": "Renamed"}, headers=team.admin.auth
    )

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed"
    shown = await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)
    assert shown.json()["name"] == "Renamed"


async def test_a_member_cannot_rename_the_workspace(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await client.patch(
        f"{WORKSPACES}/{team.workspace}", json={"name": "Mine now"}, headers=team.member.auth
    )

    assert_problem(response, 403, "insufficient_role")
    shown = await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)
    assert shown.json()["name"] == "Team"


async def test_a_blank_workspace_name_is_refused_with_422(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    response = await client.post(f"{WORKSPACES}/", json={"name": "   "}, headers=ada.auth)

    assert response.status_code == 422, response.text
    assert len(await my_workspaces(client, ada)) == 1


async def test_a_workspace_name_over_120_characters_is_refused_with_422(
    client: Client, mailbox: Mailbox
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    response = await client.post(f"{WORKSPACES}/", json={"name": "x" * 121}, headers=ada.auth)

    assert_problem(response, 422, "invalid_workspace_name")
    assert len(await my_workspaces(client, ada)) == 1


async def test_the_owner_deletes_a_workspace_and_it_is_gone(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)

    response = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)

    assert response.status_code == 204, response.text
    after = await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)
    assert_problem(after, 404, "workspace_not_found")
    assert team.workspace not in {w["id"] for w in await my_workspaces(client, team.owner)}


async def test_an_admin_cannot_delete_the_workspace(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.admin.auth)

    assert_problem(response, 403, "insufficient_role")
    assert await rows_in_workspace(engine, "workspaces", team.workspace) == 1


async def test_a_personal_workspace_cannot_be_deleted(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    personal = await personal_workspace(client, ada)

    response = await client.delete(f"{WORKSPACES}/{personal}", headers=ada.auth)

    assert_problem(response, 409, "personal_workspace")
    assert await personal_workspace(client, ada) == personal


async def test_deleting_a_workspace_removes_its_memberships_invitations_and_api_keys(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox, "admin")
    assert (
        await invite(client, mailbox, team.owner, team.workspace, "new@example.com")
    ).status_code == 201
    await create_key(client, team.owner, team.workspace)
    for table in ("memberships", "invitations", "api_keys"):
        assert await rows_in_workspace(engine, table, team.workspace) > 0, table

    response = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)

    assert response.status_code == 204, response.text
    left = {
        table: await rows_in_workspace(engine, table, team.workspace)
        for table in ("workspaces", "memberships", "invitations", "api_keys")
    }
    assert left == {"workspaces": 0, "memberships": 0, "invitations": 0, "api_keys": 0}


async def test_deleting_a_workspace_keeps_its_audit_entries(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox)
    before = await rows_in_workspace(engine, "audit_log", team.workspace)
    assert before > 0

    response = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)

    assert response.status_code == 204, response.text
    assert await rows_in_workspace(engine, "audit_log", team.workspace) == before + 1


async def test_the_api_key_of_a_deleted_workspace_stops_working(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace))["secret"]
    assert (
        await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    ).status_code == 200

    await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)

    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    assert_problem(response, 401, "invalid_api_key")


async def test_a_workspace_i_do_not_belong_to_answers_like_a_random_id(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    outsider = await signup(client, mailbox, "out@example.com")
    random = str(uuid.uuid4())

    for method, suffix, body in (
        ("GET", "", None),
        ("PATCH", "", {"name": "Taken over"}),
        ("DELETE", "", None),
        ("GET", "/members", None),
        ("POST", "/leave", None),
        ("GET", "/invitations", None),
        ("POST", "/invitations", {"email": "x@example.com", "role": "member"}),
        ("POST", "/transfer-ownership", {"user_id": outsider.id}),
        ("PATCH", f"/members/{team.owner.id}", {"role": "viewer"}),
        ("DELETE", f"/members/{team.owner.id}", None),
    ):
        foreign = await client.request(
            method, f"{WORKSPACES}/{team.workspace}{suffix}", json=body, headers=outsider.auth
        )
        unknown = await client.request(
            method, f"{WORKSPACES}/{random}{suffix}", json=body, headers=outsider.auth
        )
        assert_same_404(foreign, unknown)
        assert_problem(foreign, 404, "workspace_not_found")


async def test_a_foreign_x_workspace_id_answers_like_a_random_one(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    outsider = await signup(client, mailbox, "out@example.com")
    key = await create_key(client, team.owner, team.workspace)

    for method, path, body in (
        ("GET", "/api/v1/api-keys/", None),
        ("DELETE", f"/api/v1/api-keys/{key['id']}", None),
        ("POST", "/api/v1/api-keys/", {"name": "ci"}),
        ("GET", "/api/v1/audit-log", None),
    ):
        foreign = await client.request(
            method, path, json=body, headers=outsider.in_(team.workspace)
        )
        unknown = await client.request(
            method, path, json=body, headers=outsider.in_(str(uuid.uuid4()))
        )
        assert_same_404(foreign, unknown)


async def test_a_malformed_x_workspace_id_answers_like_an_unknown_one(
    client: Client, mailbox: Mailbox
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    malformed = await client.get("/api/v1/api-keys/", headers=ada.in_("not-a-uuid"))
    unknown = await client.get("/api/v1/api-keys/", headers=ada.in_(str(uuid.uuid4())))

    assert_same_404(malformed, unknown)


async def test_without_x_workspace_id_a_user_acts_in_the_personal_workspace(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    personal = await personal_workspace(client, team.owner)
    created = await client.post("/api/v1/api-keys/", json={"name": "p"}, headers=team.owner.auth)
    assert created.status_code == 201, created.text

    in_personal = await client.get("/api/v1/api-keys/", headers=team.owner.in_(personal))
    in_team = await client.get("/api/v1/api-keys/", headers=team.owner.in_(team.workspace))

    assert [k["id"] for k in in_personal.json()] == [created.json()["id"]]
    assert in_team.json() == []


async def test_a_workspace_request_without_credentials_is_401(client: Client) -> None:
    response = await client.get(f"{WORKSPACES}/{uuid.uuid4()}")

    assert_problem(response, 401, "invalid_token")
