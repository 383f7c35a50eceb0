"""POST /verify-email and /resend-verification over HTTP, with the real worker mailing."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox, bearer
from tests.e2e.helpers import (
    AUTH,
    assert_problem,
    drain_outbox,
    expire_one_time_tokens,
    login,
    mails_to,
    register,
    signed_up,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"


async def email_verified(client: Client, access_token: str) -> bool:
    response = await client.get(f"{AUTH}/me", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    return bool(response.json()["email_verified"])


async def test_registration_mails_a_verification_token(client: Client, mailbox: Mailbox) -> None:
    await register(client, ADA)

    token = await mailbox.token(ADA, "verify")

    assert len(token) >= 32


async def test_verify_email_returns_204_and_me_shows_the_address_verified(
    client: Client, mailbox: Mailbox
) -> None:
    tokens = await signed_up(client, ADA)
    token = await mailbox.token(ADA, "verify")

    response = await client.post(f"{AUTH}/verify-email", json={"token": token})

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await email_verified(client, tokens["access_token"]) is True


async def test_verification_token_is_single_use(client: Client, mailbox: Mailbox) -> None:
    await register(client, ADA)
    token = await mailbox.token(ADA, "verify")
    first = await client.post(f"{AUTH}/verify-email", json={"token": token})
    assert first.status_code == 204, first.text

    second = await client.post(f"{AUTH}/verify-email", json={"token": token})

    assert_problem(second, 400, "invalid_token")


@pytest.mark.parametrize(
    "body",
    [{}, {"token": ""}, {"token": None}, {"token": "not-a-token-we-ever-issued"}],
    ids=["missing", "empty", "null", "unknown"],
)
async def test_verify_email_refuses_an_unusable_token(
    client: Client, mailbox: Mailbox, body: dict[str, object]
) -> None:
    tokens = await signed_up(client, ADA)
    await mailbox.wait_for(ADA, "verify")

    response = await client.post(f"{AUTH}/verify-email", json=body)

    assert_problem(response, 400, "invalid_token")
    assert await email_verified(client, tokens["access_token"]) is False


async def test_expired_verification_token_is_400(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    tokens = await signed_up(client, ADA)
    token = await mailbox.token(ADA, "verify")
    await expire_one_time_tokens(engine)

    response = await client.post(f"{AUTH}/verify-email", json={"token": token})

    assert_problem(response, 400, "invalid_token")
    assert await email_verified(client, tokens["access_token"]) is False


async def test_verify_email_refuses_a_password_reset_token(
    client: Client, mailbox: Mailbox
) -> None:
    tokens = await signed_up(client, ADA)
    await client.post(f"{AUTH}/forgot-password", json={"email": ADA})
    reset_token = await mailbox.token(ADA, "reset")

    response = await client.post(f"{AUTH}/verify-email", json={"token": reset_token})

    assert_problem(response, 400, "invalid_token")
    assert await email_verified(client, tokens["access_token"]) is False


async def test_resend_verification_for_the_signed_in_caller_mails_a_new_token(
    client: Client, mailbox: Mailbox
) -> None:
    tokens = await signed_up(client, ADA)
    await mailbox.wait_for(ADA, "verify")

    response = await client.post(
        f"{AUTH}/resend-verification", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 202, response.text
    second = await mailbox.token(ADA, "verify", count=2)
    verified = await client.post(f"{AUTH}/verify-email", json={"token": second})
    assert verified.status_code == 204, verified.text
    assert await email_verified(client, tokens["access_token"]) is True


async def test_resend_verification_by_address_mails_that_address(
    client: Client, mailbox: Mailbox
) -> None:
    await register(client, ADA)
    await mailbox.wait_for(ADA, "verify")

    response = await client.post(f"{AUTH}/resend-verification", json={"email": "Ada@Example.com"})

    assert response.status_code == 202, response.text
    await mailbox.wait_for(ADA, "verify", count=2)


async def test_resend_verification_answers_202_for_an_unknown_address_and_mails_nothing(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    await register(client, ADA)
    await mailbox.wait_for(ADA, "verify")  # the relay is up: silence below means something

    response = await client.post(
        f"{AUTH}/resend-verification", json={"email": "nobody@example.com"}
    )

    assert response.status_code == 202, response.text
    await drain_outbox(engine)
    assert mails_to(mailbox, "nobody@example.com") == []


async def test_resend_verification_mails_nothing_once_the_address_is_verified(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    await register(client, ADA)
    token = await mailbox.token(ADA, "verify")
    await client.post(f"{AUTH}/verify-email", json={"token": token})
    tokens = await login(client, ADA)

    response = await client.post(
        f"{AUTH}/resend-verification", headers=bearer(tokens["access_token"])
    )

    assert response.status_code == 202, response.text
    await drain_outbox(engine)
    assert len(mails_to(mailbox, ADA, "verify")) == 1
