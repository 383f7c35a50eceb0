"""``make bench-gateway``: SynapScale's ``/v1/chat/completions`` against the
upstream it fronts, JSON and streamed, at 1, 16 and 64 connections.

What runs, all on loopback:

- ``bench/gateway/mock_upstream.py``: a fast OpenAI-compatible upstream
  (a copy of the team's shared harness), pinned to CPU 0 with the load generator;
- the service (``python -m entrypoints.cli run``: embedded PostgreSQL and Redis,
  one API worker, the arq worker), pinned to CPU 1, with the mock as the
  operator's ``OPENAI_BASE_URL`` and a catalogue file pricing ``openai/mock-gpt``;
- set-up through the public API: an account, an API key, a route ``mock-gpt``
  → ``openai/mock-gpt``, workspace limits (requests/min, tokens/min,
  concurrency) and a workspace budget — so API-key auth, limits, budgets and
  usage accounting are all on the measured path;
- ``bench/gateway/gateway_overhead.py`` (the shared driver: wrk closed loop,
  added latency over direct, server CPU per request and RSS of the API
  process, time to first streamed chunk).

The table is printed and saved to ``bench/results/gateway-<timestamp>.txt``
(and ``gateway-latest.txt``); the driver's raw results sit beside it.

Environment: BENCH_DURATION (default 15 s per cell), BENCH_CONCURRENCY
(default 1,16,64), BENCH_MODES (default json,stream), LLM_HTTP_TRANSPORT
(direct, aiohttp or httpx; passed to the service).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.http_bench import (
    HOST,
    RESULTS,
    BenchError,
    Server,
    cpu_model,
    free_port,
    git_revision,
    http_call,
    register_and_login,
)

HERE = Path(__file__).resolve().parent / "gateway"
SERVER_CPU, LOADGEN_CPU = "1", "0"


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http_call(port, "GET", "/v1/models", timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"nothing answered on port {port}")


def api_pid(server: Server) -> int:
    """The API worker's process (the one the targets are about), not its parent."""
    assert server.proc is not None
    for _ in range(100):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == server.proc.pid and b"api" in cmdline:
                return int(entry)
        time.sleep(0.1)
    raise BenchError("could not find the API process")


def call(port: int, method: str, path: str, token: str, body: object | None = None) -> object:
    status, data = http_call(
        port, method, path, body=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    if status >= 300:
        raise BenchError(
            f"{method} {path} answered {status}: {data[:300].decode(errors='replace')}"
        )
    return json.loads(data) if data else None


def prepare(port: int) -> str:
    """An account, its API key, the route and the limits; returns the key."""
    session = register_and_login(port)
    token = session.token
    key = call(port, "POST", "/api/v1/api-keys", token, {"name": "bench"})
    assert isinstance(key, dict)
    call(
        port,
        "POST",
        "/api/v1/llm/routes",
        token,
        {"name": "mock-gpt", "strategy": "priority", "targets": [{"model": "openai/mock-gpt"}]},
    )
    call(
        port,
        "PUT",
        "/api/v1/llm/limits/workspace",
        token,
        {
            "requests_per_minute": 1_000_000,
            "tokens_per_minute": 1_000_000_000,
            "max_concurrent": 10_000,
        },
    )
    call(
        port,
        "PUT",
        "/api/v1/llm/budgets/workspace",
        token,
        {"limit_usd": 1_000_000, "period": "month"},
    )
    return str(key["secret"])


def main() -> int:
    duration = os.environ.get("BENCH_DURATION", "15")
    concurrency = os.environ.get("BENCH_CONCURRENCY", "1,16,64")
    modes = os.environ.get("BENCH_MODES", "json,stream")
    pinned = shutil.which("taskset") is not None and {1, 0} <= os.sched_getaffinity(0)
    pin_server = ["taskset", "-c", SERVER_CPU] if pinned else []
    pin_load = ["taskset", "-c", LOADGEN_CPU] if pinned else []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = RESULTS / f"gateway-{stamp}"
    with tempfile.TemporaryDirectory(prefix="synapscale-gateway-bench-") as tmp:
        data_dir = Path(tmp)
        mock_port = free_port()
        mock = subprocess.Popen(
            [
                *pin_load,
                sys.executable,
                str(HERE / "mock_upstream.py"),
                "--host",
                HOST,
                "--port",
                str(mock_port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        catalogue = data_dir / "catalogue.json"
        catalogue.write_text(
            json.dumps(
                {"models": {"openai/mock-gpt": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}}}
            )
        )
        os.environ.update(
            OPENAI_BASE_URL=f"http://{HOST}:{mock_port}/v1",
            OPENAI_API_KEY="sk-bench-upstream",
            LLM_CATALOGUE_FILE=str(catalogue),
        )
        server = Server(data_dir / "server", free_port(), pin_server)
        (data_dir / "server").mkdir()
        try:
            wait_port(mock_port)
            server.start()
            server.wait_ready(120)
            secret = prepare(server.port)
            pid = api_pid(server)
            command = [
                sys.executable,
                str(HERE / "gateway_overhead.py"),
                "--direct",
                f"http://{HOST}:{mock_port}/v1",
                "--target",
                f"synapscale=http://{HOST}:{server.port}/v1",
                "--header",
                f"synapscale=Authorization: Bearer {secret}",
                "--pid",
                f"synapscale={pid}",
                "--pid",
                f"direct={mock.pid}",
                "--concurrency",
                concurrency,
                "--duration",
                duration,
                "--modes",
                modes,
                "--out-dir",
                str(out_dir),
            ]
            if pinned:
                command += ["--loadgen-cpu", LOADGEN_CPU]
            subprocess.run(command, check=True, cwd=HERE)
        finally:
            server.stop()
            mock.terminate()
            mock.wait(10)
    summary = subprocess.run(
        [sys.executable, str(HERE / "summarize.py"), str(out_dir / "results.json")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    header = (
        f"# make bench-gateway, {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        f"revision {git_revision()}; CPU {cpu_model()}; {os.cpu_count()} CPUs; "
        f"transport {os.environ.get('LLM_HTTP_TRANSPORT', 'direct')}; "
        f"{'server on CPU 1, load and mock on CPU 0' if pinned else 'not pinned'}\n"
        "API-key auth, workspace limits, a workspace budget and usage accounting on.\n"
    )
    text = header + summary
    print(text)
    for name in (f"gateway-{stamp}.txt", "gateway-latest.txt"):
        (RESULTS / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
