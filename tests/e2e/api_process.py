"""The API as an operator starts it (``python -m entrypoints.cli api``), against
the test servers: for what only a real process shows (its output, being killed)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from entrypoints.config import Settings
from tests.conftest import Servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_process(
    servers: Servers, settings: Settings, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Started and answering ``/health``; stopped with SIGTERM (then SIGKILL) unless
    the test stopped it. ``env`` adds or overrides variables."""
    port = free_port()
    environment = {
        **os.environ,
        "APP_ENV": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": servers.database_url,
        "REDIS_URL": servers.redis_url,
        "JWT_SECRET": settings.jwt_secret,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "ARGON2_TIME_COST": str(settings.argon2_time_cost),
        "ARGON2_MEMORY_KIB": str(settings.argon2_memory_kib),
        "ARGON2_PARALLELISM": str(settings.argon2_parallelism),
        "MAIL_DIR": str(settings.mail_path),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "api"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                httpx.get(f"{base_url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the API process did not start"
                time.sleep(0.1)
        yield base_url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
