"""Small helpers the e2e auth tests share: account set-up, problem+json checks,
forged JWTs and waiting for the outbox relay.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.e2e.conftest import Mailbox, bearer

AUTH = "/api/v1/auth"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase 42"
PROBLEM_JSON = "application/problem+json"

Client = AsyncTestClient[Litestar] | httpx.AsyncClient


async def register(
    client: Client,
    email: str = "ada@example.com",
    password: str = PASSWORD,
    name: str = "Ada Lovelace",
) -> dict[str, Any]:
    response = await client.post(
        f"{AUTH}/register", json={"email": email, "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def login_response(
    client: Client, email: str, password: str = PASSWORD, *, user_agent: str | None = None
) -> httpx.Response:
    headers = {"User-Agent": user_agent} if user_agent else {}
    return await client.post(
        f"{AUTH}/login", json={"email": email, "password": password}, headers=headers
    )


async def login(
    client: Client, email: str = "ada@example.com", password: str = PASSWORD, **kw: Any
) -> dict[str, Any]:
    response = await login_response(client, email, password, **kw)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def signed_up(
    client: Client, email: str = "ada@example.com", password: str = PASSWORD
) -> dict[str, Any]:
    """Register an account and sign it in once; the token pair of that session."""
    await register(client, email, password)
    return await login(client, email, password)


async def me_status(client: Client, access_token: str) -> int:
    return (await client.get(f"{AUTH}/me", headers=bearer(access_token))).status_code


async def refresh_status(client: Client, refresh_token: str) -> int:
    response = await client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})
    return response.status_code


async def current_session_id(client: Client, access_token: str) -> str:
    response = await client.get(f"{AUTH}/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    [current] = [item for item in response.json()["items"] if item["current"]]
    return str(current["id"])


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with our stable code; returns the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = dict(response.json())
    assert body["code"] == code, body
    assert body["status"] == status, body
    assert body["type"] == f"urn:synapscale:problem:{code}", body
    assert isinstance(body["title"], str), body
    assert body["title"], body
    assert isinstance(body["detail"], str), body
    assert body["detail"], body
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors", [])}


def mails_to(mailbox: Mailbox, to: str, subject_contains: str = "") -> list[Any]:
    return [
        m
        for m in mailbox.messages()
        if m["To"] == to and subject_contains.lower() in str(m["Subject"]).lower()
    ]


async def drain_outbox(engine: AsyncEngine, *, timeout: float = 10.0) -> None:
    """Wait until the worker has relayed every committed outbox event."""
    deadline = time.monotonic() + timeout
    while True:
        async with engine.connect() as conn:
            pending = (
                await conn.execute(
                    text(
                        "SELECT count(*) FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL"
                    )
                )
            ).scalar_one()
        if pending == 0:
            return
        assert time.monotonic() < deadline, f"{pending} outbox events still pending"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def racing_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app served in this event loop, so concurrent requests really interleave.

    (Litestar's test client runs each request to completion on a portal thread,
    which would serialise an ``asyncio.gather``.)
    """
    app = create_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver.local"
        ) as client:
            yield client
    finally:
        for hook in app.on_shutdown:
            await hook()  # type: ignore[misc]


async def expire_one_time_tokens(engine: AsyncEngine) -> None:
    """Age every mailed token past its lifetime (the clock cannot be wound on)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE one_time_tokens SET expires_at = now() - interval '1 second'")
        )


# --- JWTs -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def resigned(token: str, secret: str, **changes: Any) -> str:
    """The token's claims with ``changes``, signed with ``secret`` (HS256)."""
    claims = {**claims_of(token), **changes}
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


def with_payload_tampered(token: str, **changes: Any) -> str:
    """The same header and signature over a modified payload."""
    header, _, signature = token.split(".")
    payload = _b64(json.dumps({**claims_of(token), **changes}).encode())
    return f"{header}.{payload}.{signature}"


def unsigned(token: str) -> str:
    """The token's claims re-issued with ``alg: none`` and no signature."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = _b64(json.dumps(claims_of(token)).encode())
    return f"{header}.{payload}."
