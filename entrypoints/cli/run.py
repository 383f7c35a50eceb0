"""``make run``: everything on one machine, with embedded servers when no URLs are set."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from entrypoints.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from entrypoints.cli.migrate import upgrade
from entrypoints.config import Settings


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run(settings: Settings) -> int:
    data = Path(settings.data_dir).resolve()
    env = dict(os.environ)
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    children: list[subprocess.Popen[bytes]] = []
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    code = 0
    try:
        if not settings.database_url:
            postgres = EmbeddedPostgres(data / "postgres")
            embedded.append(postgres)
            env["DATABASE_URL"] = postgres.start()
            print(f"PostgreSQL (embedded) data in {postgres.directory}", flush=True)
        if not settings.redis_url:
            redis = EmbeddedRedis(data / "redis")
            embedded.append(redis)
            env["REDIS_URL"] = redis.start()
            print(f"Redis (embedded) on {env['REDIS_URL']}", flush=True)
        upgrade(env["DATABASE_URL"])
        for command in ("api", "worker"):
            children.append(
                subprocess.Popen([sys.executable, "-m", "entrypoints.cli", command], env=env)
            )
        print(
            f"SynapScale is running on http://{settings.host}:{settings.port} (Ctrl-C stops it)",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        code = 1
        print("a process exited; stopping everything", file=sys.stderr, flush=True)
    except _Stop:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
        for server in reversed(embedded):
            server.stop()
        print("stopped", flush=True)
    return code
