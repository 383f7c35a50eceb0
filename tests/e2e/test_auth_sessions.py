"""POST /logout, /logout-all, GET /sessions and DELETE /sessions/{id} over HTTP."""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import bearer
from tests.e2e.helpers import (
    AUTH,
    PASSWORD,
    assert_problem,
    current_session_id,
    login,
    me_status,
    refresh_status,
    register,
    signed_up,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"
EVE = "eve@example.com"


async def list_sessions(client: Client, access_token: str) -> list[dict[str, object]]:
    response = await client.get(f"{AUTH}/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def revoke(client: Client, access_token: str, session_id: str) -> httpx.Response:
    return await client.delete(f"{AUTH}/sessions/{session_id}", headers=bearer(access_token))


async def expire_session(engine: AsyncEngine, session_id: str) -> None:
    """Move a session's idle expiry into the past (the clock cannot be wound on)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": session_id},
        )


# --- logout -------------------------------------------------------------------


async def test_logout_returns_204(client: Client) -> None:
    tokens = await signed_up(client)

    response = await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 204, response.text
    assert response.content == b""


async def test_logout_ends_that_sessions_access_and_refresh_tokens(client: Client) -> None:
    tokens = await signed_up(client)

    await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    assert await me_status(client, tokens["access_token"]) == 401
    assert await refresh_status(client, tokens["refresh_token"]) == 401


async def test_logout_leaves_another_session_of_the_same_user_working(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    assert await me_status(client, laptop["access_token"]) == 200

    await client.post(f"{AUTH}/logout", json={"refresh_token": phone["refresh_token"]})

    assert await me_status(client, laptop["access_token"]) == 200
    assert await refresh_status(client, laptop["refresh_token"]) == 200


async def test_logout_twice_is_still_204(client: Client) -> None:
    tokens = await signed_up(client)
    await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    response = await client.post(f"{AUTH}/logout", json={"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 204, response.text


async def test_logout_without_a_refresh_token_is_422(client: Client) -> None:
    response = await client.post(f"{AUTH}/logout", json={})

    assert_problem(response, 422, "validation_error")


async def test_logout_all_returns_204_and_ends_every_session(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    assert await me_status(client, laptop["access_token"]) == 200

    response = await client.post(f"{AUTH}/logout-all", headers=bearer(phone["access_token"]))

    assert response.status_code == 204, response.text
    for tokens in (phone, laptop):
        assert await me_status(client, tokens["access_token"]) == 401
        assert await refresh_status(client, tokens["refresh_token"]) == 401


async def test_logout_all_leaves_other_users_signed_in(client: Client) -> None:
    ada = await signed_up(client, ADA)
    eve = await signed_up(client, EVE)

    await client.post(f"{AUTH}/logout-all", headers=bearer(ada["access_token"]))

    assert await me_status(client, eve["access_token"]) == 200


async def test_logout_all_requires_authentication(client: Client) -> None:
    response = await client.post(f"{AUTH}/logout-all")

    assert_problem(response, 401, "invalid_token")


# --- listing ------------------------------------------------------------------


async def test_sessions_lists_each_live_session_with_its_details(client: Client) -> None:
    await register(client, ADA)
    phone = await login(client, ADA, user_agent="Phone/1.0")
    await login(client, ADA, user_agent="Laptop/2.0")

    items = await list_sessions(client, phone["access_token"])

    assert len(items) == 2
    for item in items:
        assert {"id", "created_at", "last_used_at", "user_agent", "client_address", "current"} <= (
            set(item)
        )
        uuid.UUID(str(item["id"]))
        datetime.fromisoformat(str(item["created_at"]))
        datetime.fromisoformat(str(item["last_used_at"]))
        assert item["client_address"]
    assert {item["user_agent"] for item in items} == {"Phone/1.0", "Laptop/2.0"}


async def test_sessions_show_the_peer_address_not_a_forged_forwarded_for(
    client: Client,
) -> None:
    await register(client, ADA)
    response = await client.post(
        f"{AUTH}/login",
        json={"email": ADA, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.77"},
    )
    tokens = response.json()

    [item] = await list_sessions(client, tokens["access_token"])

    assert item["client_address"] != "203.0.113.77"


async def test_sessions_omit_an_expired_session(client: Client, engine: AsyncEngine) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    laptop_id = await current_session_id(client, laptop["access_token"])
    await expire_session(engine, laptop_id)

    items = await list_sessions(client, phone["access_token"])

    assert laptop_id not in [item["id"] for item in items]
    assert len(items) == 1


async def test_refresh_of_an_expired_session_is_401(client: Client, engine: AsyncEngine) -> None:
    tokens = await signed_up(client)
    await expire_session(engine, await current_session_id(client, tokens["access_token"]))

    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})

    assert_problem(response, 401, "invalid_refresh_token")


async def test_sessions_marks_exactly_the_callers_session_current(client: Client) -> None:
    await register(client, ADA)
    await login(client, ADA, user_agent="Phone/1.0")
    laptop = await login(client, ADA, user_agent="Laptop/2.0")
    await login(client, ADA, user_agent="Tablet/3.0")

    items = await list_sessions(client, laptop["access_token"])

    current = [item for item in items if item["current"]]
    assert len(current) == 1
    assert current[0]["user_agent"] == "Laptop/2.0"


async def test_sessions_omits_ended_sessions(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    await client.post(f"{AUTH}/logout", json={"refresh_token": phone["refresh_token"]})

    items = await list_sessions(client, laptop["access_token"])

    assert len(items) == 1
    assert items[0]["current"] is True


async def test_sessions_never_shows_another_users_sessions(client: Client) -> None:
    ada = await signed_up(client, ADA)
    await signed_up(client, EVE)

    items = await list_sessions(client, ada["access_token"])

    assert len(items) == 1


async def test_sessions_requires_authentication(client: Client) -> None:
    response = await client.get(f"{AUTH}/sessions")

    assert_problem(response, 401, "invalid_token")


# --- revoking one -------------------------------------------------------------


async def test_revoking_another_own_session_returns_204_and_ends_it(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    laptop_id = await current_session_id(client, laptop["access_token"])

    response = await revoke(client, phone["access_token"], laptop_id)

    assert response.status_code == 204, response.text
    assert await me_status(client, laptop["access_token"]) == 401
    assert await refresh_status(client, laptop["refresh_token"]) == 401
    remaining = [item["id"] for item in await list_sessions(client, phone["access_token"])]
    assert laptop_id not in remaining
    assert len(remaining) == 1


async def test_revoking_a_session_keeps_the_callers_session(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)

    laptop_id = await current_session_id(client, laptop["access_token"])

    response = await revoke(client, phone["access_token"], laptop_id)

    assert response.status_code == 204, response.text
    assert await me_status(client, phone["access_token"]) == 200


async def test_revoking_another_users_session_is_404_and_it_keeps_working(
    client: Client,
) -> None:
    ada = await signed_up(client, ADA)
    eve = await signed_up(client, EVE)
    eve_session = await current_session_id(client, eve["access_token"])

    response = await revoke(client, ada["access_token"], eve_session)

    assert_problem(response, 404, "session_not_found")
    assert await me_status(client, eve["access_token"]) == 200
    assert await refresh_status(client, eve["refresh_token"]) == 200


async def test_foreign_session_answers_exactly_like_a_missing_one(client: Client) -> None:
    ada = await signed_up(client, ADA)
    eve = await signed_up(client, EVE)
    eve_session = await current_session_id(client, eve["access_token"])

    foreign = (await revoke(client, ada["access_token"], eve_session)).json()
    missing = (await revoke(client, ada["access_token"], str(uuid.uuid4()))).json()

    ignored = {"request_id", "instance"}
    assert {k: v for k, v in foreign.items() if k not in ignored} == {
        k: v for k, v in missing.items() if k not in ignored
    }


async def test_revoking_the_current_session_signs_the_caller_out(client: Client) -> None:
    tokens = await signed_up(client)
    own = await current_session_id(client, tokens["access_token"])

    response = await revoke(client, tokens["access_token"], own)

    assert response.status_code == 204, response.text
    assert await me_status(client, tokens["access_token"]) == 401
    assert await refresh_status(client, tokens["refresh_token"]) == 401


async def test_revoking_a_random_session_id_is_404(client: Client) -> None:
    tokens = await signed_up(client)

    response = await revoke(client, tokens["access_token"], str(uuid.uuid4()))

    assert_problem(response, 404, "session_not_found")


async def test_revoking_an_already_ended_session_is_404(client: Client) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    laptop_id = await current_session_id(client, laptop["access_token"])
    await revoke(client, phone["access_token"], laptop_id)

    response = await revoke(client, phone["access_token"], laptop_id)

    assert_problem(response, 404, "session_not_found")


async def test_revoking_with_a_non_uuid_id_is_404(client: Client) -> None:
    tokens = await signed_up(client)

    response = await revoke(client, tokens["access_token"], "not-a-uuid")

    assert_problem(response, 404, "not_found")


async def test_revoking_a_session_requires_authentication(client: Client) -> None:
    response = await client.delete(f"{AUTH}/sessions/{uuid.uuid4()}")

    assert_problem(response, 401, "invalid_token")
