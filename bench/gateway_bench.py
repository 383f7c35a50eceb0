"""``make bench-gateway``: SynapScale's ``/v1/chat/completions`` against the
upstream it fronts, JSON and streamed, at 1, 16 and 64 connections.

What runs, all on loopback:

- ``bench/gateway/mock_upstream.py``: a fast OpenAI-compatible upstream
  (a copy of the team's shared harness), pinned to CPU 0 with the load generator;
- the service (``python -m entrypoints.cli run``: embedded PostgreSQL and Redis,
  one API worker, the arq worker), with the mock as the operator's
  ``OPENAI_BASE_URL`` and a catalogue file pricing ``openai/mock-gpt``. It starts
  pinned to CPU 0 as a whole; once it is ready, the API process (all its threads)
  is moved alone to CPU 1 (``taskset -a -p -c 1``). So the API process is alone on
  CPU 1, and PostgreSQL (the postmaster and the backends it forks later), Redis,
  the worker, the ``cli run`` parent, the load generator and the mock share CPU 0.
  Without taskset or without CPUs 0 and 1, nothing is pinned;
- set-up through the public API: an account, an API key, a route ``mock-gpt``
  → ``openai/mock-gpt``, workspace limits (requests/min, tokens/min,
  concurrency) and a workspace budget — so API-key auth, limits, budgets and
  usage accounting are all on the measured path;
- ``bench/gateway/gateway_overhead.py`` (the shared driver: wrk closed loop,
  added latency over direct, server CPU per request and RSS of the API
  process, time to first streamed chunk).

The table is printed and saved to ``bench/results/gateway-<timestamp>.txt``
(and ``gateway-latest.txt``); the driver's raw results sit beside it, in
``bench/results/gateway-<timestamp>/``.

Optional profile (``BENCH_PROFILE=1``): ``py-spy record --format raw --rate 200
--nonblocking`` samples the API process for the whole driver run (after set-up;
stopped with SIGINT); the collapsed stacks go to ``<out dir>/profile.txt`` and a
summary (top functions by inclusive share, share of samples touching each of
a few libraries and packages) to ``<out dir>/profile-summary.txt``, also printed
and appended to the saved table. Skipped with a warning when py-spy is not on PATH
(it needs root or ptrace rights). Samples are of busy threads only (no --idle).

Environment: BENCH_DURATION (default 15 s per cell), BENCH_CONCURRENCY
(default 1,16,64), BENCH_MODES (default json,stream), LLM_HTTP_TRANSPORT
(direct, aiohttp or httpx; passed to the service), BENCH_PROFILE (0 or 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
API_CPU, OTHERS_CPU = "1", "0"
PINNING = "API process alone on CPU 1; PostgreSQL, Redis, worker, load and mock on CPU 0"
PROFILE_RATE = "200"
PROFILE_TOP = 30
PROFILE_SUBSTRINGS = (
    "sqlalchemy",
    "asyncpg",
    "redis",
    "aiohttp",
    "litestar",
    "dishka",
    "msgspec",
    "prometheus_client",
    "structlog",
    "uvicorn",
    "httptools",
    "application/llm",
    "adapters/llm",
    "adapters/redis",
    "adapters/postgres",
    "entrypoints/http",
)
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>.*?)(?::\d+)?\)$")


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


def pin_api(pid: int) -> None:
    """Move the API process, every thread of it, alone to ``API_CPU``."""
    subprocess.run(
        ["taskset", "-a", "-p", "-c", API_CPU, str(pid)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start_profiler(pid: int, out_dir: Path, pin: list[str]) -> subprocess.Popen[bytes] | None:
    """``py-spy record`` on the API process until stopped; None when py-spy is missing."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        print("warning: BENCH_PROFILE=1 but py-spy is not on PATH; not profiling", flush=True)
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    command = [
        *pin,
        py_spy,
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "-o",
        str(out_dir / "profile.txt"),
        "--rate",
        PROFILE_RATE,
        "--nonblocking",
    ]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    time.sleep(1)  # attached before the load starts
    if proc.poll() is not None:
        print(f"warning: py-spy exited with code {proc.returncode}; not profiling", flush=True)
        return None
    return proc


def stop_profiler(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT makes py-spy write its output; wait for it to finish."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _short_file(path: str) -> str:
    for marker in ("/site-packages/", "/lib/python3."):
        if marker in path:
            path = path.split(marker, 1)[1]
            if marker == "/lib/python3.":
                path = "stdlib/" + path.split("/", 1)[-1]
            return path
    root = str(Path(__file__).resolve().parent.parent) + "/"
    return path.removeprefix(root)


def _owner(frame: str) -> str:
    """Who a leaf frame belongs to: a library, the standard library, or our package."""
    match = FRAME.match(frame)
    path = _short_file(match["file"]) if match else frame
    if path.startswith("stdlib/asyncio/"):
        return "asyncio"
    if path.startswith("stdlib/"):
        return "stdlib (other)"
    return path.split("/", 1)[0].split(".", 1)[0] or "?"


def profile_summary(collapsed: Path) -> str:
    """Top functions by inclusive share, self time by library, and share of
    samples per library/package."""
    total = 0
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    touching = dict.fromkeys(PROFILE_SUBSTRINGS, 0)
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        names = set()
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            if match is None:
                names.add(frame)
            else:
                names.add(f"{match['func']} ({_short_file(match['file'])})")
        for name in names:
            inclusive[name] = inclusive.get(name, 0) + count
        owner = _owner(stack.split(";")[-1])
        own[owner] = own.get(owner, 0) + count
        for text in PROFILE_SUBSTRINGS:
            if text in stack:
                touching[text] += count
    out = [
        f"# py-spy profile of the API process ({collapsed}), rate {PROFILE_RATE}/s,"
        " busy threads only",
        "(a coroutine resumed by asyncio's C task shows no outer frames: the event loop,"
        " uvicorn and the middlewares above it count less than they cost)",
        f"total samples: {total}",
    ]
    if total == 0:
        return "\n".join(out) + "\n"
    out += ["", f"top {PROFILE_TOP} functions by inclusive share (once per sample):"]
    ranked = sorted(inclusive.items(), key=lambda item: (-item[1], item[0]))[:PROFILE_TOP]
    out += [f"{100 * n / total:6.1f}%  {name}" for name, n in ranked]
    out += ["", "self time (the sample's innermost frame) by library or package:"]
    owners = sorted(own.items(), key=lambda item: (-item[1], item[0]))[:PROFILE_TOP]
    out += [f"{100 * n / total:6.1f}%  {name}" for name, n in owners]
    out += ["", "share of samples whose stack contains:"]
    out += [f"{100 * touching[text] / total:6.1f}%  {text}" for text in PROFILE_SUBSTRINGS]
    return "\n".join(out) + "\n"


def call(
    port: int, method: str, path: str, token: str, body: dict[str, Any] | None = None
) -> object:
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
    profile = os.environ.get("BENCH_PROFILE", "0").strip() not in {"", "0"}
    pinned = shutil.which("taskset") is not None and {1, 0} <= os.sched_getaffinity(0)
    # Everything starts on CPU 0 (this process and its children too); only the API
    # process is moved to CPU 1 once it is up.
    pin_others = ["taskset", "-c", OTHERS_CPU] if pinned else []
    if pinned:
        os.sched_setaffinity(0, {int(OTHERS_CPU)})
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = RESULTS / f"gateway-{stamp}"
    with tempfile.TemporaryDirectory(prefix="synapscale-gateway-bench-") as tmp:
        data_dir = Path(tmp)
        mock_port = free_port()
        mock = subprocess.Popen(
            [
                *pin_others,
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
        server = Server(data_dir / "server", free_port(), pin_others)
        (data_dir / "server").mkdir()
        profiler: subprocess.Popen[bytes] | None = None
        try:
            wait_port(mock_port)
            server.start()
            server.wait_ready(120)
            pid = api_pid(server)
            if pinned:
                pin_api(pid)
            secret = prepare(server.port)
            if profile:
                profiler = start_profiler(pid, out_dir, pin_others)
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
                command += ["--loadgen-cpu", OTHERS_CPU]
            subprocess.run(command, check=True, cwd=HERE)
        finally:
            if profiler is not None:
                stop_profiler(profiler)
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
        f"{PINNING if pinned else 'not pinned'}\n"
        "API-key auth, workspace limits, a workspace budget and usage accounting on.\n"
    )
    text = header + summary
    collapsed = out_dir / "profile.txt"
    if profiler is not None and collapsed.is_file():
        profile_text = profile_summary(collapsed)
        (out_dir / "profile-summary.txt").write_text(profile_text)
        text += f"\nprofile: {out_dir / 'profile-summary.txt'}\n\n{profile_text}"
    elif profiler is not None:
        text += f"\nprofile: py-spy wrote no {collapsed}\n"
    print(text)
    for name in (f"gateway-{stamp}.txt", "gateway-latest.txt"):
        (RESULTS / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
