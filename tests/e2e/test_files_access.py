"""Who may do what with files: roles inside a workspace, and nothing at all
across workspaces (another workspace's file answers exactly like a random id)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox
from tests.e2e.files_helpers import (  # noqa: F401
    FILES,
    Account,
    account,
    blobs,
    content_url,
    count_rows,
    download,
    download_link,
    files_app,
    files_client,
    files_settings,
    files_storage_root,
    link_query,
    upload,
    uploaded,
)
from tests.e2e.helpers import assert_problem
from tests.e2e.tenancy_helpers import Team, User, assert_same_404, build_team, join, signup

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def team(client: Client, mailbox: Mailbox) -> Team:
    """Owner, admin, member, viewer, and a second member ("colleague")."""
    team = await build_team(client, mailbox, "admin", "member", "viewer")
    colleague = await signup(client, mailbox, "colleague@example.com")
    await join(client, mailbox, team.owner, team.workspace, colleague, "member")
    team.by_role["colleague"] = colleague
    return team


async def file_of(client: Client, team: Team, user: User, **fields: Any) -> dict[str, Any]:
    return await uploaded(client, user.in_(team.workspace), **fields)


async def change(client: Client, how: str, file_id: str, headers: dict[str, str]) -> httpx.Response:
    if how == "patch":
        return await client.patch(f"{FILES}/{file_id}", json={"description": "x"}, headers=headers)
    if how == "delete":
        return await client.delete(f"{FILES}/{file_id}", headers=headers)
    if how == "add_version":
        return await client.post(
            f"{FILES}/{file_id}/versions",
            files={"file": ("notes.txt", b"changed", "text/plain")},
            headers=headers,
        )
    assert how == "restore"
    return await client.post(f"{FILES}/{file_id}/versions/1/restore", headers=headers)


CHANGES = ["patch", "delete", "add_version", "restore"]
SUCCESS = {"patch": 200, "delete": 204, "add_version": 201, "restore": 200}


# -- viewers --------------------------------------------------------------------------


async def test_a_viewer_lists_the_workspaces_files(client: Client, team: Team) -> None:
    made = await file_of(client, team, team.member)
    response = await client.get(f"{FILES}/", headers=team.viewer.in_(team.workspace))
    assert response.status_code == 200, response.text
    assert [item["id"] for item in response.json()["items"]] == [made["id"]]


async def test_a_viewer_reads_a_file(client: Client, team: Team) -> None:
    made = await file_of(client, team, team.member)
    response = await client.get(f"{FILES}/{made['id']}", headers=team.viewer.in_(team.workspace))
    assert response.status_code == 200, response.text
    assert response.json()["sha256"] == made["sha256"]


async def test_a_viewer_downloads_a_file(client: Client, team: Team) -> None:
    made = await file_of(client, team, team.member, content=b"for everyone")
    response = await download(client, team.viewer.in_(team.workspace), made["id"])
    assert response.content == b"for everyone"


async def test_a_viewer_cannot_upload(client: Client, team: Team, engine: AsyncEngine) -> None:
    response = await upload(client, team.viewer.in_(team.workspace))
    assert response.status_code == 403, response.text
    assert await count_rows(engine, "files") == 0


@pytest.mark.parametrize("how", CHANGES)
async def test_a_viewer_cannot_change_a_file(client: Client, team: Team, how: str) -> None:
    made = await file_of(client, team, team.member)
    response = await change(client, how, made["id"], team.viewer.in_(team.workspace))
    assert response.status_code == 403, response.text
    after = await client.get(f"{FILES}/{made['id']}", headers=team.member.in_(team.workspace))
    assert after.json() == made


# -- members --------------------------------------------------------------------------


@pytest.mark.parametrize("how", CHANGES)
async def test_a_member_changes_their_own_file(client: Client, team: Team, how: str) -> None:
    made = await file_of(client, team, team.member)
    response = await change(client, how, made["id"], team.member.in_(team.workspace))
    assert response.status_code == SUCCESS[how], response.text


@pytest.mark.parametrize("how", CHANGES)
async def test_a_member_cannot_change_another_members_file(
    client: Client, team: Team, how: str
) -> None:
    theirs = await file_of(client, team, team.by_role["colleague"])
    response = await change(client, how, theirs["id"], team.member.in_(team.workspace))
    assert_problem(response, 403, "insufficient_role")
    after = await client.get(f"{FILES}/{theirs['id']}", headers=team.member.in_(team.workspace))
    assert after.json() == theirs


async def test_a_refused_version_leaves_no_blob(
    client: Client, team: Team, engine: AsyncEngine, storage_root: Path
) -> None:
    theirs = await file_of(client, team, team.by_role["colleague"])
    await change(client, "add_version", theirs["id"], team.member.in_(team.workspace))
    assert await count_rows(engine, "file_versions") == 1
    assert len(blobs(storage_root)) == 1


# -- admins and the owner -------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "owner"])
@pytest.mark.parametrize("how", CHANGES)
async def test_admins_and_the_owner_change_anyones_file(
    client: Client, team: Team, role: str, how: str
) -> None:
    theirs = await file_of(client, team, team.member)
    user = team.owner if role == "owner" else team.admin
    response = await change(client, how, theirs["id"], user.in_(team.workspace))
    assert response.status_code == SUCCESS[how], response.text


# -- across workspaces ----------------------------------------------------------------

ROUTES = [
    ("GET", "{id}"),
    ("GET", "{id}?version=1"),
    ("PATCH", "{id}"),
    ("DELETE", "{id}"),
    ("GET", "{id}/versions"),
    ("POST", "{id}/versions"),
    ("POST", "{id}/versions/1/restore"),
    ("GET", "{id}/download"),
    ("GET", "{id}/download?version=1"),
]


async def call(client: Client, method: str, route: str, file_id: str, user: Account) -> Any:
    url = f"{FILES}/" + route.replace("{id}", file_id)
    if method == "PATCH":
        return await client.patch(url, json={"description": "mine now"}, headers=user.auth)
    if method == "POST" and route.endswith("/versions"):
        return await client.post(
            url, files={"file": ("x.txt", b"overwritten", "text/plain")}, headers=user.auth
        )
    return await client.request(method, url, headers=user.auth)


@pytest.mark.parametrize(("method", "route"), ROUTES)
async def test_another_workspaces_file_is_404_exactly_like_a_random_id(
    client: Client, method: str, route: str
) -> None:
    ada = await account(client, "ada@example.com")
    eve = await account(client, "eve@example.com")
    adas = await uploaded(client, ada.auth, content=b"ada's secret")

    foreign = await call(client, method, route, adas["id"], eve)
    random = await call(client, method, route, str(uuid.uuid4()), eve)

    assert_same_404(foreign, random)
    after = await client.get(f"{FILES}/{adas['id']}", headers=ada.auth)
    assert after.json() == adas


async def test_a_signed_link_does_not_open_another_workspaces_file(client: Client) -> None:
    ada = await account(client, "ada@example.com")
    eve = await account(client, "eve@example.com")
    adas = await uploaded(client, ada.auth, content=b"ada's secret")
    eves = await uploaded(client, eve.auth, content=b"eve's own")
    query = link_query(await download_link(client, eve.auth, eves["id"]))

    response = await client.get(content_url(adas["id"], query))

    assert_problem(response, 403, "invalid_signature")


async def test_a_signed_link_retargeted_at_another_workspace_is_refused(client: Client) -> None:
    ada = await account(client, "ada@example.com")
    eve = await account(client, "eve@example.com")
    adas = await uploaded(client, ada.auth, content=b"ada's secret")
    eves = await uploaded(client, eve.auth, content=b"eve's own")
    adas_ws = link_query(await download_link(client, ada.auth, adas["id"]))["ws"]
    query = link_query(await download_link(client, eve.auth, eves["id"]))

    response = await client.get(content_url(adas["id"], {**query, "ws": adas_ws}))

    assert_problem(response, 403, "invalid_signature")


async def test_naming_the_files_workspace_in_the_header_does_not_help_an_outsider(
    client: Client,
) -> None:
    ada = await account(client, "ada@example.com")
    eve = await account(client, "eve@example.com")
    adas = await uploaded(client, ada.auth)
    ada_ws = link_query(await download_link(client, ada.auth, adas["id"]))["ws"]
    response = await client.get(f"{FILES}/{adas['id']}", headers=eve.in_(ada_ws))
    assert response.status_code == 404, response.text
