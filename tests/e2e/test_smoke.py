from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.e2e.conftest import Mailbox, bearer


async def test_register_verify_login_me(
    client: AsyncTestClient[Litestar], mailbox: Mailbox
) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "Ada@Example.com", "password": "correct horse battery", "name": "Ada"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "ada@example.com"
    token = await mailbox.token("ada@example.com", "verify")
    response = await client.post("/api/v1/auth/verify-email", json={"token": token})
    assert response.status_code == 204, response.text
    response = await client.post(
        "/api/v1/auth/login", json={"email": "ada@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 200, response.text
    tokens = response.json()
    me = await client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email_verified"] is True
