"""GET, PATCH and DELETE /api/v1/auth/me over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import bearer
from tests.e2e.helpers import (
    AUTH,
    PASSWORD,
    assert_problem,
    error_fields,
    login,
    login_response,
    me_status,
    register,
    signed_up,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"


async def get_me(client: Client, access_token: str) -> dict[str, Any]:
    response = await client.get(f"{AUTH}/me", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def patch_me(client: Client, access_token: str, body: object) -> httpx.Response:
    return await client.patch(f"{AUTH}/me", json=body, headers=bearer(access_token))


async def delete_me(client: Client, access_token: str, password: str) -> httpx.Response:
    return await client.request(
        "DELETE", f"{AUTH}/me", json={"password": password}, headers=bearer(access_token)
    )


# --- GET ----------------------------------------------------------------------


async def test_me_returns_the_callers_profile(client: Client) -> None:
    user = await register(client, ADA, name="Ada Lovelace")
    tokens = await login(client, ADA)

    me = await get_me(client, tokens["access_token"])

    assert me == user


async def test_me_shows_each_caller_their_own_profile(client: Client) -> None:
    await signed_up(client, ADA)
    eve = await signed_up(client, "eve@example.com")

    me = await get_me(client, eve["access_token"])

    assert me["email"] == "eve@example.com"


async def test_me_without_credentials_is_401(client: Client) -> None:
    response = await client.get(f"{AUTH}/me")

    assert_problem(response, 401, "invalid_token")


# --- PATCH --------------------------------------------------------------------


async def test_patch_me_renames_the_user(client: Client) -> None:
    tokens = await signed_up(client)

    response = await patch_me(client, tokens["access_token"], {"name": "Augusta Ada King"})

    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Augusta Ada King"
    assert (await get_me(client, tokens["access_token"]))["name"] == "Augusta Ada King"


async def test_patch_me_with_no_fields_changes_nothing(client: Client) -> None:
    tokens = await signed_up(client)
    before = await get_me(client, tokens["access_token"])

    response = await patch_me(client, tokens["access_token"], {})

    assert response.status_code == 200, response.text
    assert response.json() == before


@pytest.mark.parametrize(
    "body",
    [
        {"email": "eve@example.com"},
        {"name": "Eve", "email": "eve@example.com"},
        {"email_verified": True},
        {"password": "a brand new passphrase 42"},
    ],
    ids=["email", "name_and_email", "email_verified", "password"],
)
async def test_patch_me_refuses_unknown_fields_and_changes_nothing(
    client: Client, body: dict[str, object]
) -> None:
    tokens = await signed_up(client)
    before = await get_me(client, tokens["access_token"])

    response = await patch_me(client, tokens["access_token"], body)

    problem = assert_problem(response, 422, "validation_error")
    assert error_fields(problem) & (set(body) - {"name"})
    assert await get_me(client, tokens["access_token"]) == before
    await login(client, ADA, PASSWORD)


@pytest.mark.parametrize("name", ["", "   "], ids=["empty", "blank"])
async def test_patch_me_refuses_an_empty_name(client: Client, name: str) -> None:
    tokens = await signed_up(client)
    before = await get_me(client, tokens["access_token"])

    response = await patch_me(client, tokens["access_token"], {"name": name})

    problem = assert_problem(response, 422, "invalid_name")
    assert error_fields(problem) == {"name"}
    assert await get_me(client, tokens["access_token"]) == before


async def test_patch_me_refuses_a_name_over_100_characters(client: Client) -> None:
    tokens = await signed_up(client)

    response = await patch_me(client, tokens["access_token"], {"name": "x" * 101})

    assert_problem(response, 422, "invalid_name")


async def test_patch_me_without_credentials_is_401(client: Client) -> None:
    response = await client.patch(f"{AUTH}/me", json={"name": "Eve"})

    assert_problem(response, 401, "invalid_token")


# --- DELETE -------------------------------------------------------------------


async def test_delete_me_returns_204_and_the_login_fails_afterwards(client: Client) -> None:
    tokens = await signed_up(client)

    response = await delete_me(client, tokens["access_token"], PASSWORD)

    assert response.status_code == 204, response.text
    assert_problem(await login_response(client, ADA), 401, "invalid_credentials")


async def test_delete_me_ends_the_callers_sessions(client: Client) -> None:
    tokens = await signed_up(client)
    other = await login(client)
    assert await me_status(client, other["access_token"]) == 200

    await delete_me(client, tokens["access_token"], PASSWORD)

    assert await me_status(client, tokens["access_token"]) == 401
    assert await me_status(client, other["access_token"]) == 401


async def test_deleted_email_can_be_registered_again(client: Client) -> None:
    old = await signed_up(client)
    old_id = (await get_me(client, old["access_token"]))["id"]
    await delete_me(client, old["access_token"], PASSWORD)

    new = await register(client, ADA, "a different passphrase 9")

    assert new["id"] != old_id
    assert new["email_verified"] is False


async def test_delete_me_with_a_wrong_password_is_400_and_deletes_nothing(
    client: Client,
) -> None:
    tokens = await signed_up(client)

    response = await delete_me(client, tokens["access_token"], "not the right passphrase")

    problem = assert_problem(response, 400, "invalid_password")
    assert error_fields(problem) == {"password"}
    assert await me_status(client, tokens["access_token"]) == 200
    await login(client, ADA, PASSWORD)


async def test_delete_me_without_credentials_is_401(client: Client) -> None:
    await register(client, ADA)

    response = await client.request("DELETE", f"{AUTH}/me", json={"password": PASSWORD})

    assert_problem(response, 401, "invalid_token")
    await login(client, ADA, PASSWORD)
