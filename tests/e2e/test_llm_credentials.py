"""Provider credentials over HTTP: stored once, shown by their last 4 characters,
admin-only, scoped to the workspace, refused when they would point inward, and
never written to a response or a log line."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from arq.worker import Worker
from dishka import Provider, Scope, provide
from dishka.integrations.litestar import LitestarProvider
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from application.commands.llm.test_credential import TestCredentialHandler
from application.llm.settings import DEFAULT_BASE_URLS
from application.ports.llm import ChatModel
from domain.llm.errors import ProviderAuthenticationFailed
from domain.llm.models import Provider as LlmProvider
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from entrypoints.http.security import HttpProvider
from entrypoints.ioc.container import build_container
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem
from tests.e2e.tenancy_helpers import (
    Team,
    assert_same_404,
    audit_entries,
    build_team,
    create_workspace,
    signup,
)
from tests.e2e.test_logging import LogCapture
from tests.fakes.llm_credentials import PingingChatModel

Client = AsyncTestClient[Litestar]
CREDENTIALS = "/api/v1/llm/credentials"
KEY = "sk-proj-E2eSecretThatMustNeverLeak0123456789WXYZ"
VIEW_FIELDS = {"id", "provider", "name", "last4", "base_url", "created_by", "created_at"}


class FakeUpstream(Provider):
    """The one piece not real here: the provider a test call reaches."""

    def __init__(self, chat: PingingChatModel) -> None:
        super().__init__()
        self._chat = chat

    @provide(scope=Scope.APP)
    def chat_model(self) -> ChatModel:
        return self._chat

    test_handler = provide(TestCredentialHandler, scope=Scope.REQUEST)


@pytest.fixture
def upstream() -> PingingChatModel:
    return PingingChatModel()


@pytest.fixture
def llm_app(settings: Settings, upstream: PingingChatModel) -> Litestar:
    container = build_container(
        settings, HttpProvider(), LitestarProvider(), FakeUpstream(upstream)
    )
    return create_app(settings, container)


class Recorder:
    """Every response body the tests received, to look for the key in."""

    def __init__(self) -> None:
        self.bodies: list[str] = []

    async def __call__(self, response: httpx.Response) -> None:
        await response.aread()
        self.bodies.append(response.text)
        self.bodies.append(str(response.headers))


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(
    llm_app: Litestar, clean: None, recorder: Recorder
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(llm_app, base_url="http://testserver.local") as client:
        client.event_hooks["response"].append(recorder)
        yield client


@pytest.fixture
async def logs(client: Client, worker: Worker) -> AsyncIterator[LogCapture]:
    for _ in range(200):  # the worker configures logging as it starts: let it finish
        if "relay_task" in worker.ctx:
            break
        await asyncio.sleep(0.05)
    root = logging.getLogger()
    capture = LogCapture([h.formatter for h in root.handlers if h.formatter is not None])
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


@pytest.fixture
async def team(client: Client, mailbox: Mailbox) -> Team:
    return await build_team(client, mailbox, "admin", "member", "viewer")


async def create(client: Client, team: Team, **body: Any) -> httpx.Response:
    payload = {"provider": "openai", "name": "Production", "api_key": KEY, **body}
    return await client.post(
        f"{CREDENTIALS}/",
        json={k: v for k, v in payload.items() if v is not None},
        headers=team.admin.in_(team.workspace),
    )


async def created(client: Client, team: Team, **body: Any) -> dict[str, Any]:
    response = await create(client, team, **body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def listed(client: Client, team: Team) -> list[dict[str, Any]]:
    response = await client.get(f"{CREDENTIALS}/", headers=team.admin.in_(team.workspace))
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_an_admin_stores_a_key_and_sees_only_its_last_four_characters(
    client: Client,
    team: Team,
    engine: AsyncEngine,
    logs: LogCapture,
    recorder: Recorder,
    upstream: PingingChatModel,
) -> None:
    view = await created(client, team, name="  Production  ")
    assert set(view) == VIEW_FIELDS
    assert view["provider"] == "openai"
    assert view["name"] == "Production"
    assert view["last4"] == "WXYZ"
    assert view["base_url"] is None
    assert view["created_by"] == team.admin.id

    assert await listed(client, team) == [view]
    tested = await client.post(
        f"{CREDENTIALS}/{view['id']}/test", headers=team.admin.in_(team.workspace)
    )
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True
    assert isinstance(tested.json()["latency_ms"], int)
    [endpoint] = upstream.pinged
    assert (endpoint.api_key, endpoint.base_url) == (KEY, DEFAULT_BASE_URLS[LlmProvider.OPENAI])

    [entry] = [
        e
        for e in await audit_entries(client, team.owner, team.workspace)
        if e["action"] == "llm.credential_created"
    ]
    assert entry["metadata"] == {"provider": "openai", "name": "Production"}
    assert entry["target_id"] == view["id"]
    deleted = await client.delete(
        f"{CREDENTIALS}/{view['id']}", headers=team.admin.in_(team.workspace)
    )
    assert deleted.status_code == 204, deleted.text
    assert await listed(client, team) == []
    [gone] = [
        e
        for e in await audit_entries(client, team.owner, team.workspace)
        if e["action"] == "llm.credential_deleted"
    ]
    assert gone["metadata"] == {"provider": "openai", "name": "Production"}

    assert "http.request" in logs.text, "the capture saw no access log"
    assert KEY not in logs.text
    assert not [body for body in recorder.bodies if KEY in body]
    async with engine.connect() as conn:
        rows = (await conn.execute(text("SELECT * FROM audit_log"))).mappings().all()
    assert KEY not in repr(rows)


async def test_the_stored_row_holds_only_ciphertext(
    client: Client, team: Team, engine: AsyncEngine
) -> None:
    view = await created(client, team)
    async with engine.connect() as conn:
        row = (
            (
                await conn.execute(
                    text("SELECT * FROM llm_credentials WHERE id = :id"),
                    {"id": uuid.UUID(view["id"])},
                )
            )
            .mappings()
            .one()
        )
    assert KEY.encode() not in bytes(row["ciphertext"])
    assert KEY not in repr(dict(row))
    assert row["key_id"] == "dev"
    assert len(bytes(row["nonce"])) == 12


async def test_a_failed_test_is_a_502_problem_without_the_key(
    client: Client, team: Team, upstream: PingingChatModel, recorder: Recorder
) -> None:
    view = await created(client, team)
    upstream.failure = ProviderAuthenticationFailed(
        f"Incorrect API key provided: {KEY}", status=401
    )
    response = await client.post(
        f"{CREDENTIALS}/{view['id']}/test", headers=team.admin.in_(team.workspace)
    )
    assert_problem(response, 502, "provider_authentication_failed")
    assert KEY not in response.text
    assert KEY[-4:] not in response.json()["detail"]


@pytest.mark.parametrize("role", ["member", "viewer"])
async def test_members_and_viewers_may_not_touch_credentials(
    client: Client, team: Team, role: str
) -> None:
    view = await created(client, team)
    headers = team.by_role[role].in_(team.workspace)
    answers = [
        await client.post(
            f"{CREDENTIALS}/",
            json={"provider": "openai", "name": "x", "api_key": KEY},
            headers=headers,
        ),
        await client.get(f"{CREDENTIALS}/", headers=headers),
        await client.delete(f"{CREDENTIALS}/{view['id']}", headers=headers),
        await client.post(f"{CREDENTIALS}/{view['id']}/test", headers=headers),
    ]
    for response in answers:
        assert_problem(response, 403, "insufficient_role")
    assert [v["id"] for v in await listed(client, team)] == [view["id"]]


async def test_a_non_member_gets_404(client: Client, team: Team, mailbox: Mailbox) -> None:
    view = await created(client, team)
    outsider = await signup(client, mailbox, "outsider@example.com")
    headers = outsider.in_(team.workspace)
    for response in (
        await client.get(f"{CREDENTIALS}/", headers=headers),
        await client.post(
            f"{CREDENTIALS}/",
            json={"provider": "openai", "name": "x", "api_key": KEY},
            headers=headers,
        ),
        await client.delete(f"{CREDENTIALS}/{view['id']}", headers=headers),
        await client.post(f"{CREDENTIALS}/{view['id']}/test", headers=headers),
    ):
        assert response.status_code == 404, response.text
    assert len(await listed(client, team)) == 1


async def test_another_workspaces_credential_is_not_found(
    client: Client, team: Team, upstream: PingingChatModel
) -> None:
    other = await create_workspace(client, team.admin, "Elsewhere")
    foreign = await client.post(
        f"{CREDENTIALS}/",
        json={"provider": "anthropic", "name": "Theirs", "api_key": KEY},
        headers=team.admin.in_(other),
    )
    assert foreign.status_code == 201, foreign.text
    foreign_id = foreign.json()["id"]
    headers = team.admin.in_(team.workspace)
    random_id = uuid.uuid4()
    for method, suffix in (("DELETE", ""), ("POST", "/test")):
        via_foreign = await client.request(
            method, f"{CREDENTIALS}/{foreign_id}{suffix}", headers=headers
        )
        via_random = await client.request(
            method, f"{CREDENTIALS}/{random_id}{suffix}", headers=headers
        )
        assert_problem(via_foreign, 404, "credential_not_found")
        assert_same_404(via_foreign, via_random)
    assert upstream.pinged == []
    assert await listed(client, team) == []
    still = await client.get(f"{CREDENTIALS}/", headers=team.admin.in_(other))
    assert [v["id"] for v in still.json()] == [foreign_id]


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1",
        "https://169.254.169.254",
        "https://[::ffff:7f00:1]",
        "https://2130706433",
        "https://localhost",
        "https://0x7f000001/v1",
        "https://[fd00:ec2::254]",
        "https://metadata.google.internal",
        "https://user:pw@llm.example.com",
    ],
)
async def test_a_base_url_pointing_inward_is_refused(
    client: Client, team: Team, base_url: str
) -> None:
    response = await create(client, team, provider="custom", base_url=base_url)
    body = assert_problem(response, 422, "unsafe_base_url")
    assert body["errors"][0]["field"] == "base_url"
    assert await listed(client, team) == []


async def test_a_public_base_url_is_stored_normalised(client: Client, team: Team) -> None:
    view = await created(
        client, team, provider="custom", api_key=None, base_url="https://134744072:443/v1/"
    )
    assert view["base_url"] == "https://8.8.8.8/v1"
    assert view["last4"] == ""


async def test_a_name_is_unique_in_its_workspace(client: Client, team: Team) -> None:
    await created(client, team, name="Main")
    duplicate = await create(client, team, name="Main", provider="anthropic")
    assert_problem(duplicate, 409, "credential_name_taken")
    assert len(await listed(client, team)) == 1


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"owner": "me"}, 422, "validation_error", "owner"),
        ({"provider": "azure"}, 422, "invalid_credential", "provider"),
        ({"name": ""}, 422, "invalid_credential", "name"),
        ({"name": "n" * 65}, 422, "invalid_credential", "name"),
        ({"api_key": None}, 422, "invalid_credential", "api_key"),
        ({"api_key": "sk key with spaces 0000"}, 422, "invalid_credential", "api_key"),
        ({"api_key": "k" * 501}, 422, "invalid_credential", "api_key"),
        ({"provider": "vllm", "api_key": None}, 422, "invalid_credential", "base_url"),
        ({"api_key": 42}, 422, "validation_error", "api_key"),
    ],
)
async def test_bad_input_is_refused_and_stores_nothing(
    client: Client,
    team: Team,
    body: dict[str, Any],
    status: int,
    code: str,
    field: str,
) -> None:
    payload = {"provider": "openai", "name": "Production", "api_key": KEY, **body}
    response = await client.post(
        f"{CREDENTIALS}/",
        json={k: v for k, v in payload.items() if v is not None},
        headers=team.admin.in_(team.workspace),
    )
    problem = assert_problem(response, status, code)
    assert field in {e["field"] for e in problem.get("errors", [])}
    assert KEY not in response.text
    assert await listed(client, team) == []
