"""API keys over HTTP: the secret shown once, acting in the key's workspace with
its scopes and never above its creator's current role, revocation, expiry and
the per-key rate limit."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config import Settings
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, racing_client
from tests.e2e.tenancy_helpers import (
    API_KEYS,
    WORKSPACES,
    assert_same_404,
    build_team,
    create_key,
    create_workspace,
    key_auth,
    personal_workspace,
    set_role,
    signup,
)

Client = AsyncTestClient[Litestar]
LISTED_FIELDS = {
    "id",
    "name",
    "prefix",
    "scopes",
    "created_by",
    "created_at",
    "last_used_at",
    "expires_at",
    "rate_limit_per_minute",
}


async def test_creating_a_key_answers_201_with_its_secret(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.post(
        f"{API_KEYS}/",
        json={"name": "ci", "scopes": ["workspace:read"]},
        headers=team.admin.in_(team.workspace),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["secret"].startswith("sk-ss-")
    assert len(body["secret"]) >= 40
    assert body["secret"].startswith(body["prefix"])
    assert body["name"] == "ci"
    assert body["scopes"] == ["workspace:read"]
    assert body["created_by"] == team.admin.id


async def test_the_key_list_shows_the_key_but_never_its_secret(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    created = await create_key(client, team.owner, team.workspace, name="deploy")

    response = await client.get(f"{API_KEYS}/", headers=team.owner.in_(team.workspace))

    assert response.status_code == 200, response.text
    [listed] = response.json()
    assert set(listed) == LISTED_FIELDS
    assert listed["id"] == created["id"]
    assert listed["name"] == "deploy"
    assert listed["prefix"] == created["prefix"]
    assert listed["created_by"] == team.owner.id
    assert listed["last_used_at"] is None
    assert created["secret"] not in response.text
    assert created["secret"][len(created["prefix"]) :] not in response.text


async def test_a_key_authenticates_with_the_x_api_key_header(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace))["secret"]

    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))

    assert response.status_code == 200, response.text
    assert response.json()["id"] == team.workspace


async def test_a_key_authenticates_as_a_bearer_token(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace))["secret"]

    response = await client.get(f"{API_KEYS}/", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 200, response.text
    assert len(response.json()) == 1


async def test_a_key_acts_in_its_own_workspace_without_x_workspace_id(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    created = await create_key(client, team.owner, team.workspace)

    response = await client.get(f"{API_KEYS}/", headers=key_auth(created["secret"]))

    assert response.status_code == 200, response.text
    assert [k["id"] for k in response.json()] == [created["id"]]


async def test_a_key_cannot_reach_another_workspace_of_its_creator(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    personal = await personal_workspace(client, team.owner)
    secret = (await create_key(client, team.owner, team.workspace))["secret"]
    random = str(uuid.uuid4())

    by_path = await client.get(f"{WORKSPACES}/{personal}", headers=key_auth(secret))
    by_header = await client.get(
        f"{API_KEYS}/", headers={**key_auth(secret), "X-Workspace-Id": personal}
    )

    assert_same_404(by_path, await client.get(f"{WORKSPACES}/{random}", headers=key_auth(secret)))
    assert_same_404(
        by_header,
        await client.get(f"{API_KEYS}/", headers={**key_auth(secret), "X-Workspace-Id": random}),
    )


async def test_a_revoked_key_stops_working_on_the_next_request(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    created = await create_key(client, team.owner, team.workspace)
    secret = created["secret"]
    assert (
        await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    ).status_code == 200

    revoked = await client.delete(
        f"{API_KEYS}/{created['id']}", headers=team.owner.in_(team.workspace)
    )

    assert revoked.status_code == 204, revoked.text
    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    assert_problem(response, 401, "invalid_api_key")


async def test_a_revoked_key_leaves_the_list(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    kept = await create_key(client, team.owner, team.workspace, name="kept")
    gone = await create_key(client, team.owner, team.workspace, name="gone")

    await client.delete(f"{API_KEYS}/{gone['id']}", headers=team.owner.in_(team.workspace))

    listed = (await client.get(f"{API_KEYS}/", headers=team.owner.in_(team.workspace))).json()
    assert [k["id"] for k in listed] == [kept["id"]]


async def test_revoking_another_workspace_s_key_answers_like_a_random_id(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    other = await signup(client, mailbox, "other@example.com")
    theirs = await create_workspace(client, other, "Theirs")
    their_key = await create_key(client, other, theirs)

    foreign = await client.delete(
        f"{API_KEYS}/{their_key['id']}", headers=team.owner.in_(team.workspace)
    )
    unknown = await client.delete(
        f"{API_KEYS}/{uuid.uuid4()}", headers=team.owner.in_(team.workspace)
    )

    assert_same_404(foreign, unknown)
    assert (
        await client.get(f"{WORKSPACES}/{theirs}", headers=key_auth(their_key["secret"]))
    ).status_code == 200


async def test_a_member_cannot_create_keys(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await client.post(
        f"{API_KEYS}/", json={"name": "mine"}, headers=team.member.in_(team.workspace)
    )

    assert_problem(response, 403, "insufficient_role")
    listed = await client.get(f"{API_KEYS}/", headers=team.owner.in_(team.workspace))
    assert listed.json() == []


async def test_unknown_scopes_are_refused_with_422(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)

    response = await client.post(
        f"{API_KEYS}/",
        json={"name": "ci", "scopes": ["workspace:read", "root:everything"]},
        headers=team.owner.in_(team.workspace),
    )

    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "scopes"
    listed = await client.get(f"{API_KEYS}/", headers=team.owner.in_(team.workspace))
    assert listed.json() == []


async def test_a_key_is_limited_to_its_scopes(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace, scopes=["workspace:read"]))[
        "secret"
    ]

    allowed = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    refused = await client.patch(
        f"{WORKSPACES}/{team.workspace}", json={"name": "Keyed"}, headers=key_auth(secret)
    )

    assert allowed.status_code == 200, allowed.text
    assert_problem(refused, 403, "insufficient_role")


async def test_a_key_loses_admin_powers_when_its_creator_is_demoted(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "admin")
    secret = (await create_key(client, team.admin, team.workspace))["secret"]
    assert (await client.get(f"{API_KEYS}/", headers=key_auth(secret))).status_code == 200

    demoted = await set_role(client, team.owner, team.workspace, team.admin.id, "viewer")

    assert demoted.status_code == 200, demoted.text
    assert_problem(
        await client.get(f"{API_KEYS}/", headers=key_auth(secret)), 403, "insufficient_role"
    )
    assert (
        await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    ).status_code == 200


async def test_a_key_of_a_removed_creator_gets_401(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")
    secret = (await create_key(client, team.admin, team.workspace))["secret"]

    removed = await client.delete(
        f"{WORKSPACES}/{team.workspace}/members/{team.admin.id}", headers=team.owner.auth
    )

    assert removed.status_code == 204, removed.text
    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    assert_problem(response, 401, "invalid_api_key")


async def test_a_key_of_a_creator_who_left_gets_401(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")
    secret = (await create_key(client, team.admin, team.workspace))["secret"]

    left = await client.post(f"{WORKSPACES}/{team.workspace}/leave", headers=team.admin.auth)

    assert left.status_code == 204, left.text
    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    assert_problem(response, 401, "invalid_api_key")


async def test_an_unknown_key_gets_401(client: Client) -> None:
    response = await client.get(
        f"{WORKSPACES}/{uuid.uuid4()}", headers=key_auth("sk-ss-" + "x" * 43)
    )

    assert_problem(response, 401, "invalid_api_key")


async def test_an_expiry_in_the_past_is_refused_with_422(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    response = await client.post(
        f"{API_KEYS}/", json={"name": "old", "expires_at": past}, headers=team.owner.auth
    )

    assert response.status_code == 422, response.text
    listed = await client.get(f"{API_KEYS}/", headers=team.owner.auth)
    assert listed.json() == []


async def test_an_expiry_without_a_timezone_is_not_a_server_error(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()

    response = await client.post(
        f"{API_KEYS}/", json={"name": "naive", "expires_at": naive}, headers=team.owner.auth
    )

    assert response.status_code in {201, 422}, response.text


async def test_an_expired_key_gets_401(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    secret = (await create_key(client, team.owner, team.workspace, expires_at=soon.isoformat()))[
        "secret"
    ]
    assert (
        await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    ).status_code == 200

    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.3)

    response = await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(secret))
    assert_problem(response, 401, "invalid_api_key")


async def test_using_a_key_sets_its_last_used_at(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    created = await create_key(client, team.owner, team.workspace)
    before = datetime.now(UTC)

    await client.get(f"{WORKSPACES}/{team.workspace}", headers=key_auth(created["secret"]))

    [listed] = (await client.get(f"{API_KEYS}/", headers=team.owner.in_(team.workspace))).json()
    assert listed["last_used_at"] is not None
    used = datetime.fromisoformat(listed["last_used_at"])
    assert used >= before - timedelta(seconds=1)


async def test_a_key_cannot_use_an_account_endpoint(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace))["secret"]

    response = await client.get(f"{WORKSPACES}/", headers={"Authorization": f"Bearer {secret}"})

    assert response.status_code == 401, response.text


# --- rate limit -------------------------------------------------------------


async def test_a_rate_limited_key_lets_n_requests_through_then_answers_429(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace, rate_limit_per_minute=3))[
        "secret"
    ]
    url = f"{WORKSPACES}/{team.workspace}"

    passed = [(await client.get(url, headers=key_auth(secret))).status_code for _ in range(3)]
    refused = await client.get(url, headers=key_auth(secret))

    assert passed == [200, 200, 200]
    assert_problem(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(refused.headers["RateLimit-Reset"]) <= 60


async def test_successful_keyed_responses_carry_rate_limit_headers(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace, rate_limit_per_minute=5))[
        "secret"
    ]
    url = f"{WORKSPACES}/{team.workspace}"

    first = await client.get(url, headers=key_auth(secret))
    second = await client.get(url, headers=key_auth(secret))

    assert first.status_code == second.status_code == 200
    assert first.headers["RateLimit-Limit"] == "5"
    assert first.headers["RateLimit-Remaining"] == "4"
    assert second.headers["RateLimit-Remaining"] == "3"
    assert 0 <= int(second.headers["RateLimit-Reset"]) <= 60


async def test_the_rate_limit_is_per_key(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    first = (await create_key(client, team.owner, team.workspace, rate_limit_per_minute=1))[
        "secret"
    ]
    second = (await create_key(client, team.owner, team.workspace, rate_limit_per_minute=1))[
        "secret"
    ]
    url = f"{WORKSPACES}/{team.workspace}"
    assert (await client.get(url, headers=key_auth(first))).status_code == 200
    assert (await client.get(url, headers=key_auth(first))).status_code == 429

    response = await client.get(url, headers=key_auth(second))

    assert response.status_code == 200, response.text


async def test_concurrent_requests_let_exactly_the_limit_through(
    client: Client, mailbox: Mailbox, settings: Settings
) -> None:
    team = await build_team(client, mailbox)
    secret = (await create_key(client, team.owner, team.workspace, rate_limit_per_minute=10))[
        "secret"
    ]
    url = f"{WORKSPACES}/{team.workspace}"

    async with racing_client(settings) as racing:
        responses = await asyncio.gather(
            *(racing.get(url, headers=key_auth(secret)) for _ in range(50))
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 40, statuses
