"""Helpers the multi-tenancy e2e tests share: verified accounts, teams built
through real invitations, API keys, the audit log and the 404 comparison.

The test client runs each request to completion while blocking the event
loop, and the worker relaying the outbox runs in that same loop. A request
that needs a row the worker has locked mid-delivery would wait for the
statement timeout, so every helper that causes a mail waits for it first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox, bearer
from tests.e2e.helpers import mails_to

Client = AsyncTestClient[Litestar] | httpx.AsyncClient

API = "/api/v1"
WORKSPACES = f"{API}/workspaces"
API_KEYS = f"{API}/api-keys"
AUDIT_LOG = f"{API}/audit-log"
MY_AUDIT_LOG = f"{API}/auth/audit-log"
ACCEPT = f"{API}/invitations/accept"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class User:
    id: str
    email: str
    token: str
    refresh_token: str

    @property
    def auth(self) -> dict[str, str]:
        return dict(bearer(self.token))

    def in_(self, workspace: str) -> dict[str, str]:
        """Bearer auth acting in ``workspace`` (the X-Workspace-Id header)."""
        return {**self.auth, "X-Workspace-Id": workspace}


@dataclass
class Team:
    """A shared workspace: its owner and one member per requested role."""

    workspace: str
    owner: User
    by_role: dict[str, User] = field(default_factory=dict)

    @property
    def admin(self) -> User:
        return self.by_role["admin"]

    @property
    def member(self) -> User:
        return self.by_role["member"]

    @property
    def viewer(self) -> User:
        return self.by_role["viewer"]


async def signup(
    client: Client, mailbox: Mailbox, email: str, *, verified: bool = True, name: str = ""
) -> User:
    """Register ``email``, verify it (unless told not to) and sign in."""
    created = await client.post(
        f"{API}/auth/register",
        json={"email": email, "password": PASSWORD, "name": name or email.split("@")[0].title()},
    )
    assert created.status_code == 201, created.text
    token = await mailbox.token(email, "verify")  # the worker is done with the account
    if verified:
        verified_response = await client.post(f"{API}/auth/verify-email", json={"token": token})
        assert verified_response.status_code == 204, verified_response.text
    login = await client.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    tokens = login.json()
    return User(created.json()["id"], email, tokens["access_token"], tokens["refresh_token"])


async def my_workspaces(client: Client, user: User) -> list[dict[str, Any]]:
    response = await client.get(f"{WORKSPACES}/", headers=user.auth)
    assert response.status_code == 200, response.text
    return list(response.json())


async def personal_workspace(client: Client, user: User) -> str:
    [personal] = [w for w in await my_workspaces(client, user) if w["personal"]]
    return str(personal["id"])


async def create_workspace(client: Client, user: User, name: str = "Team") -> str:
    response = await client.post(f"{WORKSPACES}/", json={"name": name}, headers=user.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def invite(
    client: Client,
    mailbox: Mailbox,
    by: User | dict[str, str],
    workspace: str,
    email: str,
    role: str = "member",
) -> httpx.Response:
    """POST an invitation; when it is created, wait until its mail is out."""
    already = len(mails_to(mailbox, email, "invited"))
    response = await client.post(
        f"{WORKSPACES}/{workspace}/invitations",
        json={"email": email, "role": role},
        headers=by.auth if isinstance(by, User) else by,
    )
    if response.status_code == 201:
        await mailbox.wait_for(email, "invited", count=already + 1)
    return response


async def invitation_token(
    client: Client, mailbox: Mailbox, by: User, workspace: str, email: str, role: str = "member"
) -> str:
    """Invite ``email`` and return the token from the mail it receives."""
    already = len(mails_to(mailbox, email, "invited"))
    response = await invite(client, mailbox, by, workspace, email, role)
    assert response.status_code == 201, response.text
    return await mailbox.token(email, "invited", count=already + 1)


async def accept(client: Client, user: User, token: str) -> httpx.Response:
    return await client.post(ACCEPT, json={"token": token}, headers=user.auth)


async def join(
    client: Client, mailbox: Mailbox, by: User, workspace: str, user: User, role: str
) -> dict[str, Any]:
    """Bring ``user`` into ``workspace`` with ``role`` through a real invitation."""
    token = await invitation_token(client, mailbox, by, workspace, user.email, role)
    response = await accept(client, user, token)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def build_team(client: Client, mailbox: Mailbox, *roles: str, name: str = "Team") -> Team:
    owner = await signup(client, mailbox, "owner@example.com")
    team = Team(await create_workspace(client, owner, name), owner)
    for role in roles:
        user = await signup(client, mailbox, f"{role}@example.com")
        await join(client, mailbox, owner, team.workspace, user, role)
        team.by_role[role] = user
    return team


async def members(client: Client, user: User, workspace: str) -> dict[str, str]:
    """user id -> role, as the members list shows it."""
    response = await client.get(f"{WORKSPACES}/{workspace}/members", headers=user.auth)
    assert response.status_code == 200, response.text
    return {m["user_id"]: m["role"] for m in response.json()}


async def set_role(client: Client, by: User, workspace: str, user_id: str, role: str) -> Any:
    return await client.patch(
        f"{WORKSPACES}/{workspace}/members/{user_id}", json={"role": role}, headers=by.auth
    )


# --- API keys --------------------------------------------------------------


def key_auth(secret: str) -> dict[str, str]:
    return {"X-API-Key": secret}


async def create_key(client: Client, user: User, workspace: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"{API_KEYS}/", json={"name": "ci", **body}, headers=user.in_(workspace)
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


# --- audit log -------------------------------------------------------------


async def audit_page(client: Client, user: User, workspace: str, **params: Any) -> dict[str, Any]:
    response = await client.get(AUDIT_LOG, params=params, headers=user.in_(workspace))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def audit_entries(
    client: Client, user: User, workspace: str, **params: Any
) -> list[dict[str, Any]]:
    """Every entry of the workspace's log, following the cursor to the end."""
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await audit_page(
            client, user, workspace, **params, **({"cursor": cursor} if cursor else {})
        )
        entries.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return entries


async def my_audit_entries(client: Client, user: User, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(MY_AUDIT_LOG, params={"limit": 200, **params}, headers=user.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def actions(entries: list[dict[str, Any]]) -> list[str]:
    return [e["action"] for e in entries]


def only(entries: list[dict[str, Any]], action: str) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action]
    assert len(found) == 1, (action, actions(entries))
    return found[0]


async def audit_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT * FROM audit_log ORDER BY id"))
        return [dict(row) for row in rows.mappings()]


async def rows_in_workspace(engine: AsyncEngine, table: str, workspace: str) -> int:
    assert table in {"memberships", "invitations", "api_keys", "audit_log", "workspaces"}
    column = "id" if table == "workspaces" else "workspace_id"
    async with engine.connect() as conn:
        return int(
            (
                await conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = :id"),  # noqa: S608
                    {"id": uuid.UUID(workspace)},
                )
            ).scalar_one()
        )


# --- "not found" must not leak existence -------------------------------------


def comparable(response: httpx.Response) -> tuple[int, str, dict[str, Any]]:
    """Status, content type and body without the per-request fields."""
    body = {k: v for k, v in response.json().items() if k not in {"instance", "request_id"}}
    return response.status_code, response.headers["content-type"], body


def assert_same_404(foreign: httpx.Response, random: httpx.Response) -> None:
    assert foreign.status_code == 404, foreign.text
    assert comparable(foreign) == comparable(random)
