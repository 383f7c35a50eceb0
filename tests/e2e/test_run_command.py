"""`make run`'s command: embedded servers, API and worker up, clean stop, data kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from entrypoints.cli.embedded import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def start(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "APP_ENV"}
    }
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        DATA_DIR=str(data),
        LOG_LEVEL="WARNING",
        ARGON2_TIME_COST="2",
        ARGON2_MEMORY_KIB="19456",
        ARGON2_PARALLELISM="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_ready(base: str, process: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 60:
        assert process.poll() is None, "make run exited early"
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError("not ready within a minute")


def processes_using(data: Path) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data) in cmdline:
            found.append(cmdline)
    return found


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(60)


def test_run_starts_everything_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    account = {"email": "keep@example.com", "password": "a long enough passphrase"}

    first = start(data, port)
    try:
        wait_ready(base, first)
        created = httpx.post(
            f"{base}/api/v1/auth/register", json={**account, "name": "Keep"}, timeout=10
        )
        assert created.status_code == 201, created.text
    finally:
        assert stop(first) == 0
    assert processes_using(data) == []

    second = start(data, port)
    try:
        wait_ready(base, second)
        login = httpx.post(f"{base}/api/v1/auth/login", json=account, timeout=10)
        assert login.status_code == 200, login.text
    finally:
        assert stop(second) == 0
    assert processes_using(data) == []
