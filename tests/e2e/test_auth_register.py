"""POST /api/v1/auth/register over HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints.config import Settings
from tests.e2e.helpers import (
    AUTH,
    PASSWORD,
    assert_problem,
    error_fields,
    login,
    login_response,
    racing_client,
    register,
)

Client = AsyncTestClient[Litestar]


async def test_register_returns_201_with_the_public_profile(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register",
        json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada Lovelace"},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "email", "name", "email_verified", "created_at"}
    UUID(body["id"])
    assert body["email"] == "ada@example.com"
    assert body["name"] == "Ada Lovelace"
    assert body["email_verified"] is False
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


async def test_register_normalises_the_email_address(client: Client) -> None:
    body = await register(client, email="  Ada.Lovelace@EXAMPLE.Com ")

    assert body["email"] == "ada.lovelace@example.com"


async def test_registered_account_can_log_in_with_the_normalised_address(
    client: Client,
) -> None:
    await register(client, email="Ada@Example.COM")

    tokens = await login(client, "ada@example.com")

    assert tokens["token_type"] == "Bearer"


async def test_register_refuses_an_email_taken_in_another_case(client: Client) -> None:
    await register(client, email="ada@example.com")

    response = await client.post(
        f"{AUTH}/register",
        json={"email": "ADA@Example.com", "password": "another good passphrase", "name": "Eve"},
    )

    assert_problem(response, 409, "email_taken")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("jos\u00e9@example.com", "jose\u0301@example.com"),
        ("ada@b\u00fccher.example", "ada@xn--bcher-kva.example"),
        ("ada@example.com", "ada@example.com."),
    ],
    ids=["nfc_vs_nfd", "idn_vs_punycode", "trailing_dot"],
)
async def test_register_refuses_another_spelling_of_a_taken_address(
    client: Client, first: str, second: str
) -> None:
    await register(client, email=first)

    response = await client.post(
        f"{AUTH}/register",
        json={"email": second, "password": "another good passphrase", "name": "Eve"},
    )

    assert_problem(response, 409, "email_taken")


@pytest.mark.usefixtures("clean")
async def test_concurrent_registrations_of_one_address_create_one_account(
    settings: Settings,
) -> None:
    async with racing_client(settings) as client:
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{AUTH}/register",
                    json={"email": email, "password": PASSWORD, "name": "Ada"},
                )
                for email in ["ada@example.com", "ADA@example.com", "Ada@Example.com"]
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    assert all(r.json()["code"] == "email_taken" for r in responses if r.status_code == 409)


async def test_register_refuses_an_invalid_email(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "not-an-address", "password": PASSWORD, "name": "Ada"}
    )

    body = assert_problem(response, 422, "invalid_email")
    assert error_fields(body) == {"email"}


@pytest.mark.parametrize("length", [10, 128])
async def test_register_accepts_passwords_at_the_length_bounds(client: Client, length: int) -> None:
    password = ("Zq8#kT2!mW" * 13)[:length]

    await register(client, password=password)

    await login(client, "ada@example.com", password)


@pytest.mark.parametrize(("length", "reason"), [(9, "at least 10"), (129, "at most 128")])
async def test_register_refuses_a_password_outside_the_length_bounds(
    client: Client, length: int, reason: str
) -> None:
    password = ("Zq8#kT2!mW" * 13)[:length]

    response = await client.post(
        f"{AUTH}/register", json={"email": "ada@example.com", "password": password, "name": "Ada"}
    )

    body = assert_problem(response, 422, "weak_password")
    assert reason in body["detail"]
    assert error_fields(body) == {"password"}


async def test_register_accepts_any_unicode_password_and_it_logs_in(client: Client) -> None:
    password = "пароль 日本語 🔐 ñandú"

    await register(client, password=password)

    await login(client, "ada@example.com", password)


@pytest.mark.parametrize("password", ["password123", "qwertyuiop", "Password1234"])
async def test_register_refuses_a_common_password_with_a_clear_reason(
    client: Client, password: str
) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "ada@example.com", "password": password, "name": "Ada"}
    )

    body = assert_problem(response, 422, "weak_password")
    assert "common" in body["detail"].lower()
    assert error_fields(body) == {"password"}


async def test_refused_weak_password_creates_no_account(client: Client) -> None:
    await client.post(
        f"{AUTH}/register",
        json={"email": "ada@example.com", "password": "password123", "name": "Ada"},
    )

    await register(client, email="ada@example.com")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email_verified", True),
        ("role", "admin"),
        ("is_verified", True),
        ("id", "00000000-0000-0000-0000-000000000001"),
    ],
)
async def test_register_refuses_mass_assignment_and_creates_nothing(
    client: Client, field: str, value: object
) -> None:
    response = await client.post(
        f"{AUTH}/register",
        json={"email": "ada@example.com", "password": PASSWORD, "name": "Ada", field: value},
    )

    body = assert_problem(response, 422, "validation_error")
    assert field in error_fields(body)
    assert (await login_response(client, "ada@example.com")).status_code == 401
    created = await register(client, email="ada@example.com")
    assert created["email_verified"] is False
    assert created["id"] != "00000000-0000-0000-0000-000000000001"


async def test_register_names_the_missing_field(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "ada@example.com", "name": "Ada"}
    )

    body = assert_problem(response, 422, "validation_error")
    assert error_fields(body) == {"password"}
    assert all(error["message"] for error in body["errors"])


async def test_register_refuses_an_empty_name(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register", json={"email": "ada@example.com", "password": PASSWORD, "name": "  "}
    )

    body = assert_problem(response, 422, "invalid_name")
    assert error_fields(body) == {"name"}
