"""POST /forgot-password, /reset-password and /change-password over HTTP."""

from __future__ import annotations

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox, bearer
from tests.e2e.helpers import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    assert_problem,
    drain_outbox,
    error_fields,
    expire_one_time_tokens,
    login,
    login_response,
    mails_to,
    me_status,
    refresh_status,
    register,
    signed_up,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"


async def reset_token(client: Client, mailbox: Mailbox, email: str = ADA) -> str:
    response = await client.post(f"{AUTH}/forgot-password", json={"email": email})
    assert response.status_code == 202, response.text
    return await mailbox.token(email, "reset")


async def reset(
    client: Client, token: str | None, new_password: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        f"{AUTH}/reset-password", json={"token": token, "new_password": new_password}
    )


# --- forgot-password ----------------------------------------------------------


async def test_forgot_password_answers_202_and_mails_a_reset_token(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)

    response = await client.post(f"{AUTH}/forgot-password", json={"email": ADA})

    assert response.status_code == 202, response.text
    token = await mailbox.token(ADA, "reset")
    assert len(token) >= 32


async def test_forgot_password_finds_the_account_in_any_case(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)

    response = await client.post(f"{AUTH}/forgot-password", json={"email": " ADA@Example.com"})

    assert response.status_code == 202, response.text
    await mailbox.wait_for(ADA, "reset")


@pytest.mark.parametrize("email", ["nobody@example.com", "not-an-address"])
async def test_forgot_password_answers_202_for_an_unknown_address_and_mails_nothing(
    client: Client, mailbox: Mailbox, engine: AsyncEngine, email: str
) -> None:
    await register(client, ADA)
    await mailbox.wait_for(ADA, "verify")  # the relay is up: silence below means something

    response = await client.post(f"{AUTH}/forgot-password", json={"email": email})

    assert response.status_code == 202, response.text
    await drain_outbox(engine)
    assert mails_to(mailbox, email) == []
    assert mails_to(mailbox, ADA, "reset") == []


async def test_forgot_password_answers_known_and_unknown_addresses_alike(
    client: Client,
) -> None:
    await register(client, ADA)

    known = await client.post(f"{AUTH}/forgot-password", json={"email": ADA})
    unknown = await client.post(f"{AUTH}/forgot-password", json={"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known.headers.get("content-type") == unknown.headers.get("content-type")


# --- reset-password -----------------------------------------------------------


async def test_reset_password_returns_204_and_the_new_password_logs_in(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    token = await reset_token(client, mailbox)

    response = await reset(client, token)

    assert response.status_code == 204, response.text
    await login(client, ADA, NEW_PASSWORD)


async def test_reset_password_retires_the_old_password(client: Client, mailbox: Mailbox) -> None:
    await register(client, ADA)
    token = await reset_token(client, mailbox)

    await reset(client, token)

    assert_problem(await login_response(client, ADA, PASSWORD), 401, "invalid_credentials")


async def test_reset_password_revokes_every_session(client: Client, mailbox: Mailbox) -> None:
    phone = await signed_up(client)
    laptop = await login(client)
    for tokens in (phone, laptop):
        assert await me_status(client, tokens["access_token"]) == 200
    token = await reset_token(client, mailbox)

    response = await reset(client, token)

    assert response.status_code == 204, response.text
    for tokens in (phone, laptop):
        assert await me_status(client, tokens["access_token"]) == 401
        assert await refresh_status(client, tokens["refresh_token"]) == 401


async def test_reset_token_is_single_use(client: Client, mailbox: Mailbox) -> None:
    await register(client, ADA)
    token = await reset_token(client, mailbox)
    assert (await reset(client, token)).status_code == 204

    response = await reset(client, token, "yet another passphrase 7")

    assert_problem(response, 400, "invalid_token")
    await login(client, ADA, NEW_PASSWORD)


@pytest.mark.parametrize(
    "body",
    [
        {"new_password": NEW_PASSWORD},
        {"token": "", "new_password": NEW_PASSWORD},
        {"token": None, "new_password": NEW_PASSWORD},
        {"token": "not-a-token-we-ever-issued", "new_password": NEW_PASSWORD},
    ],
    ids=["missing", "empty", "null", "unknown"],
)
async def test_reset_password_with_an_unusable_token_is_400_and_changes_nothing(
    client: Client, body: dict[str, object]
) -> None:
    await register(client, ADA)

    response = await client.post(f"{AUTH}/reset-password", json=body)

    assert_problem(response, 400, "invalid_token")
    await login(client, ADA, PASSWORD)


async def test_expired_reset_token_is_400_and_changes_nothing(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    await register(client, ADA)
    token = await reset_token(client, mailbox)
    await expire_one_time_tokens(engine)

    response = await reset(client, token)

    assert_problem(response, 400, "invalid_token")
    await login(client, ADA, PASSWORD)


async def test_reset_password_refuses_a_verification_token(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    verify_token = await mailbox.token(ADA, "verify")

    response = await reset(client, verify_token)

    assert_problem(response, 400, "invalid_token")
    await login(client, ADA, PASSWORD)


async def test_reset_password_refuses_a_weak_password_and_the_token_survives(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    token = await reset_token(client, mailbox)

    weak = await reset(client, token, "password123")

    body = assert_problem(weak, 422, "weak_password")
    assert error_fields(body) == {"new_password"}
    await login(client, ADA, PASSWORD)
    assert (await reset(client, token)).status_code == 204
    await login(client, ADA, NEW_PASSWORD)


async def test_an_earlier_reset_token_still_works_after_a_second_request(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    first = await reset_token(client, mailbox)
    await client.post(f"{AUTH}/forgot-password", json={"email": ADA})
    await mailbox.wait_for(ADA, "reset", count=2)

    response = await reset(client, first)

    assert response.status_code == 204, response.text


async def test_a_successful_reset_retires_the_other_outstanding_reset_tokens(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    first = await reset_token(client, mailbox)
    await client.post(f"{AUTH}/forgot-password", json={"email": ADA})
    second = await mailbox.token(ADA, "reset", count=2)
    assert (await reset(client, first)).status_code == 204

    response = await reset(client, second, "yet another passphrase 7")

    assert_problem(response, 400, "invalid_token")


# --- change-password ----------------------------------------------------------


async def change(
    client: Client, access_token: str, current: str, new: str = NEW_PASSWORD
) -> httpx.Response:
    return await client.post(
        f"{AUTH}/change-password",
        json={"current_password": current, "new_password": new},
        headers=bearer(access_token),
    )


async def test_change_password_returns_204_and_the_new_password_logs_in(
    client: Client,
) -> None:
    tokens = await signed_up(client)

    response = await change(client, tokens["access_token"], PASSWORD)

    assert response.status_code == 204, response.text
    await login(client, ADA, NEW_PASSWORD)
    assert_problem(await login_response(client, ADA, PASSWORD), 401, "invalid_credentials")


async def test_change_password_keeps_the_current_session(client: Client) -> None:
    tokens = await signed_up(client)

    await change(client, tokens["access_token"], PASSWORD)

    assert await me_status(client, tokens["access_token"]) == 200
    assert await refresh_status(client, tokens["refresh_token"]) == 200


async def test_change_password_revokes_the_other_sessions(client: Client) -> None:
    current = await signed_up(client)
    other = await login(client)
    assert await me_status(client, other["access_token"]) == 200

    response = await change(client, current["access_token"], PASSWORD)

    assert response.status_code == 204, response.text
    assert await me_status(client, other["access_token"]) == 401
    assert await refresh_status(client, other["refresh_token"]) == 401


async def test_change_password_with_a_wrong_current_password_is_400_and_changes_nothing(
    client: Client,
) -> None:
    current = await signed_up(client)
    other = await login(client)

    response = await change(client, current["access_token"], "not the right passphrase")

    body = assert_problem(response, 400, "invalid_password")
    assert error_fields(body) == {"current_password"}
    assert await me_status(client, other["access_token"]) == 200
    await login(client, ADA, PASSWORD)
    assert_problem(await login_response(client, ADA, NEW_PASSWORD), 401, "invalid_credentials")


async def test_change_password_refuses_a_weak_new_password_and_changes_nothing(
    client: Client,
) -> None:
    current = await signed_up(client)
    other = await login(client)

    response = await change(client, current["access_token"], PASSWORD, "short")

    body = assert_problem(response, 422, "weak_password")
    assert error_fields(body) == {"new_password"}
    assert await me_status(client, other["access_token"]) == 200
    await login(client, ADA, PASSWORD)


async def test_change_password_requires_authentication(client: Client) -> None:
    await register(client, ADA)

    response = await client.post(
        f"{AUTH}/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )

    assert_problem(response, 401, "invalid_token")
    await login(client, ADA, PASSWORD)
