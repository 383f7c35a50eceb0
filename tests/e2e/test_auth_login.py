"""POST /api/v1/auth/login over HTTP: the token pair, uniform failures, throttling."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config import Settings
from tests.e2e.helpers import (
    AUTH,
    PASSWORD,
    assert_problem,
    claims_of,
    login,
    login_response,
    register,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"
WRONG = "not the right passphrase"


async def test_login_returns_a_bearer_token_pair(client: Client, settings: Settings) -> None:
    await register(client, ADA)

    response = await login_response(client, ADA)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    assert body["access_token"].count(".") == 2
    assert body["refresh_token"] != body["access_token"]
    assert len(body["refresh_token"]) >= 32


async def test_access_token_is_a_jwt_for_the_user(client: Client) -> None:
    user = await register(client, ADA)

    tokens = await login(client, ADA)

    claims = claims_of(tokens["access_token"])
    assert claims["sub"] == user["id"]
    assert claims["exp"] > claims["iat"]


async def test_login_accepts_the_email_in_any_case(client: Client) -> None:
    await register(client, ADA)

    response = await login_response(client, "  ADA@example.COM ")

    assert response.status_code == 200, response.text


async def test_login_with_a_wrong_password_is_401_invalid_credentials(client: Client) -> None:
    await register(client, ADA)

    response = await login_response(client, ADA, WRONG)

    assert_problem(response, 401, "invalid_credentials")


async def test_login_with_an_unknown_email_is_401_invalid_credentials(client: Client) -> None:
    response = await login_response(client, "nobody@example.com", PASSWORD)

    assert_problem(response, 401, "invalid_credentials")


async def test_unknown_email_and_wrong_password_give_identical_answers(client: Client) -> None:
    await register(client, ADA)

    wrong_password = await login_response(client, ADA, WRONG)
    unknown_email = await login_response(client, "nobody@example.com", WRONG)

    def comparable(body: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in body.items() if k not in {"request_id", "instance"}}

    assert wrong_password.status_code == unknown_email.status_code == 401
    assert comparable(wrong_password.json()) == comparable(unknown_email.json())
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get(
        "www-authenticate"
    )
    assert wrong_password.headers["content-type"] == unknown_email.headers["content-type"]


async def test_login_with_a_malformed_email_is_401_like_any_failure(client: Client) -> None:
    response = await login_response(client, "not-an-address", PASSWORD)

    assert_problem(response, 401, "invalid_credentials")


async def test_login_refuses_unknown_fields(client: Client) -> None:
    await register(client, ADA)

    response = await client.post(
        f"{AUTH}/login", json={"email": ADA, "password": PASSWORD, "remember_me": True}
    )

    assert_problem(response, 422, "validation_error")


async def test_sixth_failed_login_for_an_account_is_429_with_retry_after(
    client: Client, settings: Settings
) -> None:
    await register(client, ADA)
    for _ in range(settings.login_max_failures_per_account):
        assert_problem(await login_response(client, ADA, WRONG), 401, "invalid_credentials")

    response = await login_response(client, ADA, WRONG)

    assert_problem(response, 429, "too_many_login_attempts")
    retry_after = int(response.headers["retry-after"])
    assert 0 < retry_after <= settings.login_window_seconds


async def test_locked_account_refuses_even_the_right_password(
    client: Client, settings: Settings
) -> None:
    await register(client, ADA)
    for _ in range(settings.login_max_failures_per_account):
        await login_response(client, ADA, WRONG)

    response = await login_response(client, ADA, PASSWORD)

    assert_problem(response, 429, "too_many_login_attempts")
    assert "retry-after" in response.headers


async def test_unknown_account_is_throttled_like_a_real_one(
    client: Client, settings: Settings
) -> None:
    for _ in range(settings.login_max_failures_per_account):
        await login_response(client, "nobody@example.com", WRONG)

    response = await login_response(client, "nobody@example.com", WRONG)

    assert_problem(response, 429, "too_many_login_attempts")


async def test_account_lockout_does_not_lock_other_accounts(
    client: Client, settings: Settings
) -> None:
    await register(client, ADA)
    await register(client, "grace@example.com", name="Grace")
    for _ in range(settings.login_max_failures_per_account + 1):
        await login_response(client, ADA, WRONG)

    response = await login_response(client, "grace@example.com")

    assert response.status_code == 200, response.text


async def test_successful_login_resets_the_account_failure_count(
    client: Client, settings: Settings
) -> None:
    await register(client, ADA)
    for _ in range(settings.login_max_failures_per_account - 1):
        await login_response(client, ADA, WRONG)
    await login(client, ADA)

    for _ in range(settings.login_max_failures_per_account - 1):
        assert_problem(await login_response(client, ADA, WRONG), 401, "invalid_credentials")

    assert (await login_response(client, ADA)).status_code == 200


async def test_failures_across_many_accounts_from_one_address_are_429(
    client: Client, settings: Settings
) -> None:
    await register(client, ADA)
    limit = settings.login_max_failures_per_address
    for i in range(limit):
        response = await login_response(client, f"user{i}@example.com", WRONG)
        assert response.status_code == 401, (i, response.text)

    response = await login_response(client, ADA, PASSWORD)

    assert_problem(response, 429, "too_many_login_attempts")
    assert int(response.headers["retry-after"]) > 0


async def test_account_lockout_holds_for_another_spelling_of_the_same_address(
    client: Client, settings: Settings
) -> None:
    """``ada@example.com.`` signs in to the same account, so it must share its lockout."""
    await register(client, ADA)
    assert (await login_response(client, "ada@example.com.")).status_code == 200
    for _ in range(settings.login_max_failures_per_account):
        await login_response(client, ADA, WRONG)

    response = await login_response(client, "ada@example.com.", WRONG)

    assert_problem(response, 429, "too_many_login_attempts")


async def test_forged_x_forwarded_for_does_not_escape_the_address_limit(
    client: Client, settings: Settings
) -> None:
    """No proxy is trusted by default, so the header must not pick the throttled address."""
    await register(client, ADA)
    for i in range(settings.login_max_failures_per_address):
        await client.post(
            f"{AUTH}/login",
            json={"email": f"user{i}@example.com", "password": WRONG},
            headers={"X-Forwarded-For": f"198.51.100.{i}"},
        )

    response = await client.post(
        f"{AUTH}/login",
        json={"email": ADA, "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.77"},
    )

    assert_problem(response, 429, "too_many_login_attempts")
