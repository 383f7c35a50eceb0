"""Mass assignment: a body with a field the endpoint does not take (role,
workspace_id, owner, personal, is_verified, created_by, secret, …) answers
422 naming that field, and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, error_fields
from tests.e2e.tenancy_helpers import (
    ACCEPT,
    API,
    API_KEYS,
    PASSWORD,
    WORKSPACES,
    accept,
    build_team,
    invitation_token,
    members,
    my_workspaces,
    signup,
)

Client = AsyncTestClient[Litestar]
SOMEONE = str(uuid.uuid4())


def assert_refused(response: Any, extra: str) -> None:
    body = assert_problem(response, 422, "validation_error")
    assert extra in error_fields(body), body


@pytest.mark.parametrize(
    ("extra", "value"),
    [("owner", SOMEONE), ("personal", True), ("role", "viewer"), ("id", SOMEONE)],
)
async def test_creating_a_workspace_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    response = await client.post(
        f"{WORKSPACES}/", json={"name": "Sneaky", extra: value}, headers=ada.auth
    )

    assert_refused(response, extra)
    assert [w["name"] for w in await my_workspaces(client, ada)] == ["Ada's workspace"]


@pytest.mark.parametrize(
    ("extra", "value"),
    [("personal", True), ("role", "owner"), ("owner", SOMEONE), ("member_count", 99)],
)
async def test_renaming_a_workspace_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.patch(
        f"{WORKSPACES}/{team.workspace}",
        json={"name": "Renamed", extra: value},
        headers=team.admin.auth,
    )

    assert_refused(response, extra)
    shown = (await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.admin.auth)).json()
    assert (shown["name"], shown["personal"], shown["role"]) == ("Team", False, "admin")


@pytest.mark.parametrize(
    ("extra", "value"),
    [("workspace_id", SOMEONE), ("user_id", SOMEONE), ("owner", True)],
)
async def test_changing_a_role_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox, "viewer")

    response = await client.patch(
        f"{WORKSPACES}/{team.workspace}/members/{team.viewer.id}",
        json={"role": "member", extra: value},
        headers=team.owner.auth,
    )

    assert_refused(response, extra)
    assert (await members(client, team.owner, team.workspace))[team.viewer.id] == "viewer"


@pytest.mark.parametrize(("extra", "value"), [("role", "viewer"), ("workspace_id", SOMEONE)])
async def test_transferring_ownership_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.admin.id, extra: value},
        headers=team.owner.auth,
    )

    assert_refused(response, extra)
    roles = await members(client, team.owner, team.workspace)
    assert (roles[team.owner.id], roles[team.admin.id]) == ("owner", "admin")


@pytest.mark.parametrize(
    ("extra", "value"),
    [("workspace_id", SOMEONE), ("invited_by", SOMEONE), ("token", "chosen"), ("owner", True)],
)
async def test_inviting_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox)

    response = await client.post(
        f"{WORKSPACES}/{team.workspace}/invitations",
        json={"email": "new@example.com", "role": "member", extra: value},
        headers=team.owner.auth,
    )

    assert_refused(response, extra)
    listed = await client.get(f"{WORKSPACES}/{team.workspace}/invitations", headers=team.owner.auth)
    assert listed.json() == []


@pytest.mark.parametrize(
    ("extra", "value"), [("role", "owner"), ("workspace_id", SOMEONE), ("email", "x@example.com")]
)
async def test_accepting_an_invitation_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email, "viewer")

    response = await client.post(ACCEPT, json={"token": token, extra: value}, headers=bob.auth)

    assert_refused(response, extra)
    assert bob.id not in await members(client, team.owner, team.workspace)
    joined = await accept(client, bob, token)  # the token was not spent
    assert joined.status_code == 200, joined.text
    assert joined.json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("extra", "value"),
    [
        ("secret", "sk-ss-" + "a" * 43),
        ("created_by", SOMEONE),
        ("workspace_id", SOMEONE),
        ("prefix", "sk-ss-aaaaaa"),
        ("last_used_at", "2020-01-01T00:00:00Z"),
    ],
)
async def test_creating_an_api_key_refuses_extra_fields(
    client: Client, mailbox: Mailbox, engine: AsyncEngine, extra: str, value: Any
) -> None:
    team = await build_team(client, mailbox)

    response = await client.post(
        f"{API_KEYS}/", json={"name": "ci", extra: value}, headers=team.owner.in_(team.workspace)
    )

    assert_refused(response, extra)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM api_keys"))).scalar_one() == 0


@pytest.mark.parametrize(
    ("extra", "value"), [("is_verified", True), ("email_verified", True), ("role", "owner")]
)
async def test_registering_refuses_extra_fields(
    client: Client, engine: AsyncEngine, extra: str, value: Any
) -> None:
    response = await client.post(
        f"{API}/auth/register",
        json={"email": "eve@example.com", "password": PASSWORD, "name": "Eve", extra: value},
    )

    assert_refused(response, extra)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


@pytest.mark.parametrize(("extra", "value"), [("email_verified", True), ("email", "x@example.com")])
async def test_updating_my_profile_refuses_extra_fields(
    client: Client, mailbox: Mailbox, extra: str, value: Any
) -> None:
    eve = await signup(client, mailbox, "eve@example.com", verified=False)

    response = await client.patch(
        f"{API}/auth/me", json={"name": "Evil", extra: value}, headers=eve.auth
    )

    assert_refused(response, extra)
    me = (await client.get(f"{API}/auth/me", headers=eve.auth)).json()
    assert (me["name"], me["email"], me["email_verified"]) == ("Eve", eve.email, False)
