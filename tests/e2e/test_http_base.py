"""The base endpoints and the HTTP conventions every route shares: problem+json
errors, request ids, metrics.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from entrypoints import __version__
from entrypoints.config import Settings
from tests.e2e.conftest import bearer
from tests.e2e.helpers import AUTH, assert_problem, error_fields, racing_client, signed_up

Client = AsyncTestClient[Litestar]

AUTH_ROUTES = {
    ("post", f"{AUTH}/register"),
    ("post", f"{AUTH}/verify-email"),
    ("post", f"{AUTH}/resend-verification"),
    ("post", f"{AUTH}/login"),
    ("post", f"{AUTH}/refresh"),
    ("post", f"{AUTH}/logout"),
    ("post", f"{AUTH}/logout-all"),
    ("get", f"{AUTH}/sessions"),
    ("delete", f"{AUTH}/sessions/{{session_id}}"),
    ("post", f"{AUTH}/forgot-password"),
    ("post", f"{AUTH}/reset-password"),
    ("post", f"{AUTH}/change-password"),
    ("get", f"{AUTH}/me"),
    ("patch", f"{AUTH}/me"),
    ("delete", f"{AUTH}/me"),
}


# --- base endpoints -----------------------------------------------------------


async def test_health_answers_200(client: Client) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_readiness_answers_200_with_each_check(client: Client) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_root_names_the_service_and_its_version(client: Client, settings: Settings) -> None:
    response = await client.get("/")

    assert response.status_code == 200, response.text
    assert response.json() == {"name": settings.app_name, "version": __version__}


async def test_openapi_document_is_openapi_3_1(client: Client) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r"3\.1\.\d+", response.json()["openapi"])


async def test_openapi_document_describes_every_auth_route(client: Client) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    documented = {(method, path) for path, item in paths.items() for method in item}

    assert documented >= AUTH_ROUTES, AUTH_ROUTES - documented


async def test_docs_serve_an_html_page(client: Client) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


async def test_metrics_are_prometheus_text(client: Client) -> None:
    await client.get("/health")

    response = await client.get("/metrics")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE synapscale_requests_total counter" in response.text
    assert re.search(r'^synapscale_requests_total\{[^}]*path="/health"', response.text, re.M)


async def test_metrics_label_requests_by_path_template_not_raw_ids(client: Client) -> None:
    tokens = await signed_up(client)
    session_id = str(uuid.uuid4())
    await client.delete(f"{AUTH}/sessions/{session_id}", headers=bearer(tokens["access_token"]))

    text = (await client.get("/metrics")).text

    assert re.search(
        r'^synapscale_requests_total\{[^}]*path="/api/v1/auth/sessions/\{session_id(:uuid)?\}"',
        text,
        re.M,
    ), [line for line in text.splitlines() if "sessions" in line]
    assert session_id not in text


# --- errors are problem+json --------------------------------------------------


Request = Callable[[Client], Awaitable[httpx.Response]]

ERRORS: dict[str, tuple[Request, int, str]] = {
    "404 unknown route": (lambda c: c.get("/no/such/route"), 404, "not_found"),
    "405 wrong method": (lambda c: c.get(f"{AUTH}/login"), 405, "method_not_allowed"),
    "401 no credentials": (lambda c: c.get(f"{AUTH}/me"), 401, "invalid_token"),
    "422 invalid body": (
        lambda c: c.post(f"{AUTH}/login", json={"email": "ada@example.com"}),
        422,
        "validation_error",
    ),
    "413 body over 1 MiB": (
        lambda c: c.post(
            f"{AUTH}/register",
            content=b'{"name": "' + b"x" * (1024 * 1024 + 1) + b'"}',
            headers={"Content-Type": "application/json"},
        ),
        413,
        "payload_too_large",
    ),
    "400 malformed JSON": (
        lambda c: c.post(
            f"{AUTH}/login",
            content=b'{"email": "ada@example.com", "password": ',
            headers={"Content-Type": "application/json"},
        ),
        400,
        "malformed_request",
    ),
}


@pytest.mark.parametrize(("send", "status", "code"), ERRORS.values(), ids=ERRORS.keys())
async def test_every_error_is_problem_json(
    client: Client, send: Request, status: int, code: str
) -> None:
    response = await send(client)

    body = assert_problem(response, status, code)
    assert {"type", "title", "status", "detail", "code"} <= set(body)


async def test_405_lists_the_allowed_methods(client: Client) -> None:
    response = await client.get(f"{AUTH}/login")

    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_problem_names_the_request_path_as_its_instance(client: Client) -> None:
    response = await client.get("/no/such/route")

    assert response.json()["instance"] == "/no/such/route"


async def test_validation_problem_lists_each_error_with_its_field(client: Client) -> None:
    response = await client.post(
        f"{AUTH}/register",
        json={"email": "ada@example.com", "password": 12345678901, "name": "Ada"},
    )

    body = assert_problem(response, 422, "validation_error")
    assert error_fields(body) == {"password"}
    assert all(error["message"] for error in body["errors"])


async def test_body_that_is_not_an_object_is_a_validation_problem(client: Client) -> None:
    response = await client.post(f"{AUTH}/login", json=["ada@example.com", "secret"])

    body = assert_problem(response, 422, "validation_error")
    assert error_fields(body) == {"body"}


# --- request ids --------------------------------------------------------------


async def test_request_id_is_echoed_when_sent(client: Client) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-abc.123:456"})

    assert response.headers["x-request-id"] == "trace-abc.123:456"


async def test_request_id_is_generated_when_absent(client: Client) -> None:
    first = await client.get("/health")
    second = await client.get("/health")

    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


@pytest.mark.parametrize(
    "incoming",
    ["has spaces in it", "x" * 129, 'quote"d', ""],
    ids=["spaces", "long", "quote", "empty"],
)
async def test_unusable_request_id_is_replaced(client: Client, incoming: str) -> None:
    response = await client.get("/health", headers={"X-Request-ID": incoming})

    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_problem_carries_the_request_id_of_its_response(client: Client) -> None:
    response = await client.get("/no/such/route", headers={"X-Request-ID": "trace-42"})

    assert response.headers["x-request-id"] == "trace-42"
    assert response.json()["request_id"] == "trace-42"


async def test_error_responses_carry_a_request_id_header(client: Client) -> None:
    response = await client.get(f"{AUTH}/me")

    assert response.status_code == 401
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert response.json()["request_id"] == response.headers["x-request-id"]


async def test_body_of_exactly_1_mib_is_not_refused_for_size(client: Client) -> None:
    envelope = b'{"email": "ada@example.com", "password": "x", "name": ""}'
    body = envelope[:-2] + b"x" * (1024 * 1024 - len(envelope)) + b'"}'
    assert len(body) == 1024 * 1024

    response = await client.post(
        f"{AUTH}/register", content=body, headers={"Content-Type": "application/json"}
    )

    assert_problem(response, 422, "validation_error")


@pytest.mark.usefixtures("clean")
async def test_streamed_body_over_1_mib_without_length_is_413(settings: Settings) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    async with racing_client(settings) as client:
        response = await client.post(
            f"{AUTH}/register", content=chunks(), headers={"Content-Type": "application/json"}
        )

    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
