"""Every route is classified, and workspace routes refuse outsiders and viewers."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from domain.tenancy.roles import LOWEST_ROLE, Permission, Role
from tests.e2e.conftest import Mailbox, bearer

CLASSES = {"public", "authenticated", "workspace"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
PASSWORD = "correct horse battery staple"

# A valid body for each mutating workspace route, so the answer is about who
# asks, not about what they sent.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): {"name": "Renamed"},
    ("PATCH", "/api/v1/workspaces/{workspace_id}/members/{user_id}"): {"role": "member"},
    ("POST", "/api/v1/workspaces/{workspace_id}/transfer-ownership"): {"user_id": "OWNER"},
    ("POST", "/api/v1/workspaces/{workspace_id}/invitations"): {
        "email": "new@example.com",
        "role": "member",
    },
    ("POST", "/api/v1/api-keys"): {"name": "ci"},
    ("PATCH", "/api/v1/files/{file_id}"): {"description": "renamed"},
    ("POST", "/api/v1/llm/credentials"): {
        "provider": "openai",
        "name": "Production",
        "api_key": "sk-route-security-0000000000",
    },
    ("POST", "/api/v1/llm/routes"): {
        "name": "fast",
        "strategy": "priority",
        "targets": [{"model": "openai/gpt-4o-mini"}],
    },
    ("PATCH", "/api/v1/llm/routes/{route_id}"): {"strategy": "weighted"},
    ("PUT", "/api/v1/llm/budgets/workspace"): {"limit_usd": 10, "period": "day"},
    ("PUT", "/api/v1/llm/budgets/api-keys/{api_key_id}"): {"limit_usd": 10, "period": "day"},
    ("PUT", "/api/v1/llm/limits/workspace"): {"requests_per_minute": 60},
    ("PUT", "/api/v1/llm/limits/api-keys/{api_key_id}"): {"requests_per_minute": 60},
    ("PUT", "/api/v1/llm/settings"): {"refuse_unpriced_models": True},
    ("POST", "/api/v1/llm/chat"): {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
    },
    ("POST", "/v1/chat/completions"): {
        "model": "openai/gpt-4o-mini",
        "messages": [{"role": "user", "content": "hi"}],
    },
    ("POST", "/v1/embeddings"): {"model": "openai/text-embedding-3-small", "input": "hi"},
    ("POST", "/v1/messages"): {
        "model": "openai/gpt-4o-mini",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    },
}


def routes(app: Litestar) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, OpenAPI path, opt) for every operation of the OpenAPI document."""
    by_path: dict[tuple[str, str], dict[str, Any]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                by_path[(method, path)] = dict(handler.opt)
    document = app.openapi_schema.to_schema()
    found = []
    for path, item in document["paths"].items():
        for method in item:
            found.append((method.upper(), path, by_path.get((method.upper(), path), {})))
    return found


def test_every_route_in_the_openapi_document_is_classified(app: Litestar) -> None:
    unclassified = [
        f"{method} {path}"
        for method, path, opt in routes(app)
        if opt.get("security") not in CLASSES
    ]
    assert unclassified == []
    assert len(routes(app)) > 30


@dataclass
class Team:
    workspace: str
    owner_id: str
    owner: str
    viewer: str
    outsider: str


async def account(
    client: AsyncTestClient[Litestar], mailbox: Mailbox, email: str
) -> tuple[str, str]:
    created = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "name": email[:3]}
    )
    assert created.status_code == 201, created.text
    token = await mailbox.token(email, "verify")
    assert (
        await client.post("/api/v1/auth/verify-email", json={"token": token})
    ).status_code == 204
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return created.json()["id"], login.json()["access_token"]


@pytest.fixture
async def team(client: AsyncTestClient[Litestar], mailbox: Mailbox) -> Team:
    owner_id, owner = await account(client, mailbox, "own@example.com")
    _, viewer = await account(client, mailbox, "see@example.com")
    _, outsider = await account(client, mailbox, "out@example.com")
    workspace = (
        await client.post("/api/v1/workspaces", json={"name": "Team"}, headers=bearer(owner))
    ).json()["id"]
    invited = await client.post(
        f"/api/v1/workspaces/{workspace}/invitations",
        json={"email": "see@example.com", "role": "viewer"},
        headers=bearer(owner),
    )
    assert invited.status_code == 201, invited.text
    token = await mailbox.token("see@example.com", "invited")
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=bearer(viewer)
    )
    assert accepted.status_code == 200, accepted.text
    return Team(workspace, owner_id, owner, viewer, outsider)


def workspace_routes(app: Litestar) -> list[tuple[str, str, Permission | None]]:
    return [
        (method, path, Permission(opt["permission"]) if opt.get("permission") else None)
        for method, path, opt in routes(app)
        if opt.get("security") == "workspace"
    ]


async def call(
    client: AsyncTestClient[Litestar], team: Team, method: str, path: str, token: str
) -> int:
    url = (
        path.replace("{workspace_id}", team.workspace)
        .replace("{user_id}", team.owner_id)
        .replace("{invitation_id}", str(uuid.uuid4()))
        .replace("{key_id}", str(uuid.uuid4()))
        .replace("{file_id}", str(uuid.uuid4()))
        .replace("{credential_id}", str(uuid.uuid4()))
        .replace("{route_id}", str(uuid.uuid4()))
        .replace("{api_key_id}", str(uuid.uuid4()))
        .replace("{number}", "1")
    )
    body = BODIES.get((method, path))
    if body and body.get("user_id") == "OWNER":
        body = {"user_id": team.owner_id}
    headers = {**bearer(token), "X-Workspace-Id": team.workspace}
    response = await client.request(method, url, json=body, headers=headers)
    return response.status_code


async def test_a_non_member_gets_404_on_every_workspace_route(
    app: Litestar, client: AsyncTestClient[Litestar], team: Team
) -> None:
    answers = {
        f"{method} {path}": await call(client, team, method, path, team.outsider)
        for method, path, _ in workspace_routes(app)
    }
    assert answers
    assert {route: status for route, status in answers.items() if status != 404} == {}


async def test_a_viewer_gets_403_on_every_mutating_workspace_route(
    app: Litestar, client: AsyncTestClient[Litestar], team: Team
) -> None:
    mutating = [
        (method, path)
        for method, path, permission in workspace_routes(app)
        if method in MUTATING
        and permission is not None
        and LOWEST_ROLE[permission] is not Role.VIEWER
    ]
    assert len(mutating) >= 8
    answers = {
        f"{method} {path}": await call(client, team, method, path, team.viewer)
        for method, path in mutating
    }
    assert {route: status for route, status in answers.items() if status != 403} == {}
