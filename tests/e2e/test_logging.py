"""Logs: JSON lines on stdout, and never a password or a token in them."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from arq.worker import Worker
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.config import Settings
from tests.conftest import Servers
from tests.e2e.api_process import api_process as running_api
from tests.e2e.conftest import Mailbox, bearer
from tests.e2e.helpers import (
    AUTH,
    NEW_PASSWORD,
    PASSWORD,
    drain_outbox,
    login,
    login_response,
    register,
    resigned,
    unsigned,
)

Client = AsyncTestClient[Litestar]
ADA = "ada@example.com"


class LogCapture(logging.Handler):
    """Every record that reaches the root logger, as each formatter could print it."""

    def __init__(self, formatters: list[logging.Formatter]) -> None:
        super().__init__(logging.DEBUG)
        self.formatters = formatters
        self.lines: list[str] = []
        self._plain = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [record.name, record.getMessage()]
        except Exception:
            parts = [record.name, repr(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(self._plain.formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        parts.extend(
            formatter.format(logging.makeLogRecord(record.__dict__))
            for formatter in self.formatters
        )
        self.lines.append(" ".join(parts))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
async def captured_logs(client: Client, worker: Worker) -> AsyncIterator[LogCapture]:
    """All log output of the app and the worker at DEBUG, rendered as configured."""
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


def assert_not_logged(logs: LogCapture, secrets: dict[str, str]) -> None:
    assert "http.request" in logs.text, "the capture saw no access log: it captures nothing"
    leaked = sorted(name for name, value in secrets.items() if value and value in logs.text)
    assert not leaked, f"secrets in the logs: {leaked}"


async def test_no_password_or_token_is_logged_during_account_flows(
    client: Client, mailbox: Mailbox, engine: AsyncEngine, captured_logs: LogCapture
) -> None:
    changed_password = "the third passphrase of ada"
    secrets: dict[str, str] = {
        "password": PASSWORD,
        "reset password": NEW_PASSWORD,
        "changed password": changed_password,
    }

    await register(client, ADA, PASSWORD)
    secrets["verification token"] = await mailbox.token(ADA, "verify")
    verified = await client.post(
        f"{AUTH}/verify-email", json={"token": secrets["verification token"]}
    )
    assert verified.status_code == 204, verified.text

    first = await login(client, ADA, PASSWORD, user_agent="LogTest/1.0")
    secrets |= {"access 1": first["access_token"], "refresh 1": first["refresh_token"]}
    assert (
        await client.get(f"{AUTH}/me", headers=bearer(first["access_token"]))
    ).status_code == 200
    refreshed = await client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    secrets |= {"access 2": second["access_token"], "refresh 2": second["refresh_token"]}
    sessions = await client.get(f"{AUTH}/sessions", headers=bearer(second["access_token"]))
    assert sessions.status_code == 200, sessions.text

    await client.post(f"{AUTH}/forgot-password", json={"email": ADA})
    secrets["reset token"] = await mailbox.token(ADA, "reset")
    reset = await client.post(
        f"{AUTH}/reset-password",
        json={"token": secrets["reset token"], "new_password": NEW_PASSWORD},
    )
    assert reset.status_code == 204, reset.text

    third = await login(client, ADA, NEW_PASSWORD)
    secrets |= {"access 3": third["access_token"], "refresh 3": third["refresh_token"]}
    changed = await client.post(
        f"{AUTH}/change-password",
        json={"current_password": NEW_PASSWORD, "new_password": changed_password},
        headers=bearer(third["access_token"]),
    )
    assert changed.status_code == 204, changed.text
    logout = await client.post(f"{AUTH}/logout", json={"refresh_token": third["refresh_token"]})
    assert logout.status_code == 204, logout.text
    await drain_outbox(engine)

    assert_not_logged(captured_logs, secrets)


async def test_no_secret_is_logged_when_requests_fail(
    client: Client, mailbox: Mailbox, settings: Settings, captured_logs: LogCapture
) -> None:
    wrong_password = "an-incorrect-guess-Zk81"
    weak_password = "Zq9#xw7!"
    bogus_token = "bogus-one-time-token-Yq3vX0aa"
    await register(client, ADA, PASSWORD)
    verify_token = await mailbox.token(ADA, "verify")
    tokens = await login(client, ADA, PASSWORD)
    secrets = {
        "password": PASSWORD,
        "wrong password": wrong_password,
        "weak password": weak_password,
        "bogus token": bogus_token,
        "verification token": verify_token,
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
    }

    for _ in range(settings.login_max_failures_per_account + 1):  # 401s, then a 429
        await login_response(client, ADA, wrong_password)
    await client.post(
        f"{AUTH}/register",
        json={"email": "eve@example.com", "password": weak_password, "name": "Eve"},
    )
    await client.post(f"{AUTH}/verify-email", json={"token": bogus_token})
    await client.post(
        f"{AUTH}/reset-password", json={"token": verify_token, "new_password": weak_password}
    )
    await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["access_token"]})
    await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
    await client.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})  # reuse
    await client.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))  # revoked by the reuse
    await client.get(f"{AUTH}/me", headers=bearer(unsigned(tokens["access_token"])))
    await client.get(
        f"{AUTH}/me", headers=bearer(resigned(tokens["access_token"], "x" * 40, exp=0))
    )
    await client.post(
        f"{AUTH}/change-password",
        json={"current_password": wrong_password, "new_password": weak_password},
        headers=bearer(tokens["access_token"]),
    )
    await client.post(
        f"{AUTH}/login",
        content=f'{{"email": "{ADA}", "password": "{wrong_password}"',
        headers={"Content-Type": "application/json"},
    )
    await client.post(
        f"{AUTH}/login", json={"email": ADA, "password": wrong_password, "otp": bogus_token}
    )

    assert_not_logged(captured_logs, secrets)


# --- the real process ---------------------------------------------------------


@pytest.fixture
def api_process(
    servers: Servers, settings: Settings, clean: None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with running_api(servers, settings) as started:
        yield started


def _stop(process: subprocess.Popen[bytes]) -> tuple[str, str]:
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return out.decode(), err.decode()


async def test_api_process_writes_json_log_lines_with_request_ids_to_stdout(
    api_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base_url, process = api_process
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.get("/health", headers={"X-Request-ID": "json-log-check"})
        assert response.status_code == 200

    stdout, _ = _stop(process)

    lines = [line for line in stdout.splitlines() if line.strip()]
    assert lines, "the API process wrote nothing to stdout"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
    [access] = [r for r in records if r.get("request_id") == "json-log-check"]
    assert access["event"] == "http.request"
    assert access["path"] == "/health"
    assert access["status"] == 200
    assert access["level"] == "info"


async def test_api_process_output_never_contains_a_password_or_token(
    api_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    base_url, process = api_process
    async with httpx.AsyncClient(base_url=base_url) as http:
        await register(http, ADA, PASSWORD)
        tokens = await login(http, ADA, PASSWORD)
        await http.get(f"{AUTH}/me", headers=bearer(tokens["access_token"]))
        fresh = (
            await http.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).json()
        await http.post(f"{AUTH}/refresh", json={"refresh_token": tokens["refresh_token"]})
        await login_response(http, ADA, "an-incorrect-guess-Zk81")
        await http.post(
            f"{AUTH}/change-password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers=bearer(fresh["access_token"]),
        )

    stdout, stderr = _stop(process)

    output = stdout + stderr
    assert "http.request" in output
    secrets = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": "an-incorrect-guess-Zk81",
        "access 1": tokens["access_token"],
        "refresh 1": tokens["refresh_token"],
        "access 2": fresh["access_token"],
        "refresh 2": fresh["refresh_token"],
    }
    leaked = sorted(name for name, value in secrets.items() if value in output)
    assert not leaked, f"secrets in the process output: {leaked}"
