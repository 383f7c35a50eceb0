"""Access tokens as bearer credentials, and POST /refresh with rotation and reuse detection."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config import Settings
from tests.e2e.conftest import bearer
from tests.e2e.helpers import (
    AUTH,
    assert_problem,
    login,
    me_status,
    racing_client,
    refresh_status,
    register,
    resigned,
    signed_up,
    unsigned,
    with_payload_tampered,
)

Client = AsyncTestClient[Litestar]


# --- bearer access tokens ---------------------------------------------------


async def test_access_token_authenticates_the_caller(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))

    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ada@example.com"


async def test_a_token_resigned_with_the_server_key_is_accepted(
    client: Client, settings: Settings
) -> None:
    """The control for the forged-token tests below: re-signing alone breaks nothing."""
    tokens = await signed_up(client)

    forged = resigned(tokens["access_token"], settings.jwt_secret)

    assert await me_status(client, forged) == 200


async def test_tampered_access_token_is_401(client: Client) -> None:
    tokens = await signed_up(client)
    other = await register(client, "eve@example.com", name="Eve")

    tampered = with_payload_tampered(tokens["access_token"], sub=other["id"])

    response = await client.get(f"{AUTH}/me", headers=bearer(tampered))
    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_access_token_with_alg_none_is_401(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.get(f"{AUTH}/me", headers=bearer(unsigned(tokens["access_token"])))

    assert_problem(response, 401, "invalid_token")


async def test_access_token_signed_with_another_key_is_401(client: Client) -> None:
    tokens = await signed_up(client)

    forged = resigned(tokens["access_token"], "an-attacker-key-of-sufficient-length-000")

    response = await client.get(f"{AUTH}/me", headers=bearer(forged))
    assert_problem(response, 401, "invalid_token")


async def test_expired_access_token_is_401(client: Client, settings: Settings) -> None:
    tokens = await signed_up(client)
    now = int(time.time())

    expired = resigned(
        tokens["access_token"], settings.jwt_secret, iat=now - 3600, nbf=now - 3600, exp=now - 60
    )

    response = await client.get(f"{AUTH}/me", headers=bearer(expired))
    assert_problem(response, 401, "invalid_token")


async def test_access_token_for_another_audience_is_401(client: Client, settings: Settings) -> None:
    tokens = await signed_up(client)

    forged = resigned(tokens["access_token"], settings.jwt_secret, aud="another-service")

    assert await me_status(client, forged) == 401


async def test_refresh_token_used_as_bearer_is_401(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.get(f"{AUTH}/me", headers=bearer(tokens["refresh_token"]))

    assert_problem(response, 401, "invalid_token")


async def test_non_bearer_authorization_scheme_is_401(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.get(
        f"{AUTH}/me", headers={"Authorization": f"Basic {tokens['access_token']}"}
    )

    assert_problem(response, 401, "invalid_token")


async def test_missing_authorization_is_401_with_a_bearer_challenge(client: Client) -> None:
    response = await client.get(f"{AUTH}/me")

    assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_access_token_stops_working_right_after_logout(client: Client) -> None:
    tokens = await signed_up(client)
    assert await me_status(client, tokens["access_token"]) == 200  # cached as live

    await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    assert await me_status(client, tokens["access_token"]) == 401


# --- refresh ------------------------------------------------------------------


async def test_refresh_returns_a_new_token_pair(client: Client, settings: Settings) -> None:
    tokens = await signed_up(client)

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200, response.text
    fresh = response.json()
    assert fresh["token_type"] == "Bearer"
    assert fresh["expires_in"] == settings.access_token_ttl_seconds
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    assert await me_status(client, fresh["access_token"]) == 200


async def test_rotated_refresh_token_can_be_refreshed_again(client: Client) -> None:
    tokens = await signed_up(client)
    fresh = (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()

    assert await refresh_status(client, fresh["refresh_token"]) == 200


async def test_refresh_keeps_the_same_session(client: Client) -> None:
    tokens = await signed_up(client)
    fresh = (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()

    sessions = await client.get(f"{AUTH}/sessions", headers=bearer(fresh["access_token"]))

    assert len(sessions.json()["items"]) == 1


async def test_spent_refresh_token_is_401(client: Client) -> None:
    tokens = await signed_up(client)
    assert await refresh_status(client, tokens["refresh_token"]) == 200

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert_problem(response, 401, "invalid_refresh_token")


async def test_refresh_token_reuse_revokes_the_whole_session(client: Client) -> None:
    tokens = await signed_up(client)
    fresh = (
        await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    assert await me_status(client, fresh["access_token"]) == 200  # cached as live

    assert await refresh_status(client, tokens["refresh_token"]) == 401

    assert await refresh_status(client, fresh["refresh_token"]) == 401
    assert await me_status(client, fresh["access_token"]) == 401
    assert await me_status(client, tokens["access_token"]) == 401


async def test_refresh_token_reuse_leaves_other_sessions_of_the_user_alone(
    client: Client,
) -> None:
    tokens = await signed_up(client)
    laptop = await login(client)
    await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert await refresh_status(client, tokens["refresh_token"]) == 401

    assert await me_status(client, laptop["access_token"]) == 200
    assert await refresh_status(client, laptop["refresh_token"]) == 200


async def test_access_token_given_to_refresh_is_401(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["access_token"]})

    assert_problem(response, 401, "invalid_refresh_token")
    assert await refresh_status(client, tokens["refresh_token"]) == 200


async def test_unknown_refresh_token_is_401(client: Client) -> None:
    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": "never-issued"})

    assert_problem(response, 401, "invalid_refresh_token")


async def test_refresh_without_a_token_is_422(client: Client) -> None:
    response = await client.post(f"{AUTH}/refresh", json={})

    body = assert_problem(response, 422, "validation_error")
    assert {e["field"] for e in body["errors"]} == {"refresh_token"}


@pytest.mark.usefixtures("clean")
async def test_concurrent_refreshes_with_one_token_succeed_at_most_once(
    settings: Settings,
) -> None:
    async with racing_client(settings) as client:
        tokens = await signed_up(client)

        responses = await asyncio.gather(
            *(
                client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
                for _ in range(5)
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) <= 1, statuses
    assert set(statuses) <= {200, 401}, [r.text for r in responses]


async def test_refresh_after_logout_is_401(client: Client) -> None:
    tokens = await signed_up(client)
    await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    assert await refresh_status(client, tokens["refresh_token"]) == 401


async def test_access_token_of_a_deleted_session_owner_is_401(client: Client) -> None:
    tokens = await signed_up(client)
    response = await client.request(
        "DELETE",
        f"{AUTH}/me",
        json={"password": "correct horse battery staple"},
        headers=bearer(tokens["access_token"]),
    )
    assert response.status_code == 204, response.text

    assert await me_status(client, tokens["access_token"]) == 401


async def test_token_for_a_session_that_never_existed_is_401(
    client: Client, settings: Settings
) -> None:
    tokens = await signed_up(client)

    forged = resigned(tokens["access_token"], settings.jwt_secret, sid=str(uuid.uuid4()))

    assert await me_status(client, forged) == 401
