"""``make bench``: HTTP throughput and latency of SynapScale on this machine.

What it does, start to finish (about 2 minutes with the defaults):

1. starts its own server, ``python -m entrypoints.cli run`` (API + worker, embedded
   PostgreSQL and Redis), on a free port of 127.0.0.1 with a fresh temporary DATA_DIR,
   pinned to CPU 1 with ``taskset -c 1`` (when there are two CPUs and taskset exists),
   and waits for ``GET /health/ready`` to answer 200;
2. registers a throwaway user and logs in;
3. drives a closed-loop load (keep-alive connections, each sends its next request when the
   previous answer arrived) from CPU 0 against ``GET /health`` and the authenticated
   ``GET /api/v1/auth/me`` at each concurrency: a warm-up, then the measured run;
4. stops the server (SIGTERM, then waits) and removes the temporary directory, also on
   failure or Ctrl-C, and writes the table to ``bench/results/http-<timestamp>.txt`` and
   ``bench/results/latest.txt``.

Load generator: ``wrk`` when it is on PATH (installed with apt-get when missing and running
as root), otherwise a built-in asyncio HTTP/1.1 client; the report says which was used.
Numbers on a shared machine vary by tens of percent between runs: compare rows within one
run, not across runs.

Environment (all optional):
  BENCH_DURATION       seconds measured per cell (default 5)
  BENCH_WARMUP         seconds of warm-up before each cell, not measured (default 2)
  BENCH_CONCURRENCY    comma-separated connection counts (default 1,16,64)
  BENCH_GENERATOR      auto (default: wrk if available, else built-in) | wrk | python
  BENCH_READY_TIMEOUT  seconds to wait for /health/ready (default 90)
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WRK_SCRIPT = HERE / "wrk_report.lua"
HOST = "127.0.0.1"  # the only address this harness ever talks to
SERVER_CPU = 1
LOADGEN_CPU = 0
REQUEST_TIMEOUT = 10.0  # per request, both generators
CLK_TCK = os.sysconf("SC_CLK_TCK")
SLOW_STOP_SECONDS = 10.0


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class Config:
    duration: float
    warmup: float
    concurrency: tuple[int, ...]
    generator: str
    ready_timeout: float


def _env_float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise BenchError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise BenchError(f"{name}={raw!r} must be between {low:g} and {high:g}")
    return value


def load_config() -> Config:
    raw = os.environ.get("BENCH_CONCURRENCY", "").strip() or "1,16,64"
    try:
        conc = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise BenchError(f"BENCH_CONCURRENCY={raw!r}: expected e.g. 1,16,64") from None
    if not conc or any(not 1 <= c <= 1024 for c in conc):
        raise BenchError(f"BENCH_CONCURRENCY={raw!r}: each value must be between 1 and 1024")
    generator = os.environ.get("BENCH_GENERATOR", "").strip().lower() or "auto"
    if generator not in {"auto", "wrk", "python"}:
        raise BenchError(f"BENCH_GENERATOR={generator!r}: expected auto, wrk or python")
    return Config(
        duration=_env_float("BENCH_DURATION", 5.0, 1.0, 600.0),
        warmup=_env_float("BENCH_WARMUP", 2.0, 0.0, 120.0),
        concurrency=conc,
        generator=generator,
        ready_timeout=_env_float("BENCH_READY_TIMEOUT", 90.0, 5.0, 600.0),
    )


# --------------------------------------------------------------------------- small helpers
def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_call(
    port: int,
    method: str,
    path: str,
    *,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        sent = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=sent)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _read_first_line(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def git_revision() -> str:
    rev = _read_first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    return rev if rev and " " not in rev else "?"


# --------------------------------------------------------------------------- /proc sampling
def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return children


def pids_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (our unique temporary directory)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def process_tree(roots: list[int]) -> set[int]:
    children = _children_map()
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        todo.extend(children.get(pid, []))
    return seen


def cpu_seconds(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / CLK_TCK


def machine_cpu_seconds() -> float:
    """Busy time of all CPUs together (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLK_TCK  # minus idle and iowait


def own_cpu_seconds() -> float:
    """This process and its finished children (wrk)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def pid_alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


# --------------------------------------------------------------------------- the server
@dataclass
class ServerReport:
    ready_after: float | None = None
    died_during_run: int | None = None
    stop_seconds: float | None = None
    exit_code: int | None = None
    exited_by_itself: bool = False
    forced: list[str] = field(default_factory=list)
    log_lines: list[str] = field(default_factory=list)


class Server:
    """``python -m entrypoints.cli run`` in its own session, everything under ``data_dir``."""

    def __init__(self, data_dir: Path, port: int, pin: list[str]) -> None:
        self.data_dir = data_dir
        self.port = port
        self.pin = pin
        self.log_path = data_dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.report = ServerReport()

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            HOST=HOST,
            PORT=str(self.port),
            DATA_DIR=str(self.data_dir),
            LOG_LEVEL="WARNING",
            LOG_FORMAT="json",
            # Empty means unset: embedded servers even when .env names real ones.
            DATABASE_URL="",
            REDIS_URL="",
            APP_ENV="development",
            PUBLIC_URL="",
            MAIL_BACKEND="file",
            MAIL_DIR="",
            WORKER_METRICS_PORT="0",
            PYTHONUNBUFFERED="1",
        )
        command = [*self.pin, sys.executable, "-m", "entrypoints.cli", "run"]
        with open(self.log_path, "wb") as log_file:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only us; we stop it with SIGTERM
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, timeout: float) -> None:
        started = time.monotonic()
        deadline = started + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if not self.alive():
                assert self.proc is not None
                raise BenchError(
                    f"the server exited with code {self.proc.returncode} before it was ready"
                )
            try:
                status, body = http_call(self.port, "GET", "/health/ready", timeout=3)
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200:
                    self.report.ready_after = time.monotonic() - started
                    return
                last = f"{status} {body[:200].decode(errors='replace')}"
            time.sleep(0.5)
        raise BenchError(f"/health/ready did not answer 200 within {timeout:g} s (last: {last})")

    def cpu_pids(self) -> set[int]:
        """The server's process tree plus what left it (pg_ctl detaches the postmaster)."""
        roots = [self.proc.pid] if self.proc is not None else []
        return process_tree(roots + pids_mentioning(str(self.data_dir)))

    def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        started = time.monotonic()
        self.report.exited_by_itself = proc.poll() is not None
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                self.report.forced.append("run process ignored SIGTERM for 60 s; killed its group")
                self._signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    self._signal_group(proc.pid, signal.SIGKILL)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(10)
        self.report.stop_seconds = time.monotonic() - started
        self.report.exit_code = proc.returncode
        # Anything still running from our process group or data directory is a leak: stop it.
        self._signal_group(proc.pid, signal.SIGTERM, note="process group")
        leftovers = pids_mentioning(str(self.data_dir))
        if leftovers:
            self.report.forced.append(f"left running after stop: pids {leftovers}; terminated")
            for pid in leftovers:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(pid_alive(p) for p in leftovers):
                time.sleep(0.2)
            for pid in leftovers:
                if pid_alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
        self.report.log_lines = self._read_log()

    def _signal_group(self, pgid: int, sig: signal.Signals, note: str | None = None) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        if note:
            self.report.forced.append(f"{note} {pgid} still had members; sent {sig.name}")

    def _read_log(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []


# --------------------------------------------------------------------------- load generators
@dataclass
class Measurement:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


Generator = Callable[[int, str, dict[str, str], int, float], Measurement]


def run_wrk(
    port: int, path: str, headers: dict[str, str], conc: int, seconds: float
) -> Measurement:
    env = dict(os.environ)
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in headers.items())
    whole_seconds = max(1, round(seconds))
    command = [
        "wrk",
        "-t1",
        f"-c{conc}",
        f"-d{whole_seconds}s",
        "--timeout",
        f"{int(REQUEST_TIMEOUT)}s",
        "-s",
        str(WRK_SCRIPT),
        f"http://{HOST}:{port}{path}",
    ]
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=whole_seconds + 30
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {whole_seconds + 30} s") from None
    summary = None
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            summary = json.loads(line[len("BENCH_JSON ") :])
    if summary is None:
        raise BenchError(
            f"wrk failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[:400]}"
        )
    kinds = ("connect", "read", "write", "status", "timeout")
    counts = {k: int(summary[f"err_{k}"]) for k in kinds}
    return Measurement(
        requests=int(summary["requests"]),
        seconds=float(summary["duration_s"]),
        p50_ms=float(summary["p50_ms"]),
        p99_ms=float(summary["p99_ms"]),
        errors=sum(counts.values()),
        error_detail=", ".join(f"{k} {n}" for k, n in counts.items() if n),
    )


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """One HTTP/1.1 response: (status, connection reusable)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    length: int | None = None
    chunked = False
    keep = parts[0] == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection":
            keep = "close" not in value and (keep or "keep-alive" in value)
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            await reader.readexactly(size + 2)
    elif length is not None:
        await reader.readexactly(length)
    elif status >= 200 and status not in (204, 304):
        await reader.read()  # body until EOF
        keep = False
    return status, keep


async def _python_load(
    port: int, path: str, headers: dict[str, str], conc: int, seconds: float
) -> Measurement:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: synapscale-bench\r\n"
        f"Accept: */*\r\n{extra}\r\n"
    ).encode("latin-1")
    latencies: list[float] = []
    errors = {"connect": 0, "io": 0, "status": 0, "timeout": 0}
    stop_at = time.perf_counter() + seconds

    async def client() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None

        async def close() -> None:
            nonlocal reader, writer
            if writer is not None:
                writer.close()
                with contextlib.suppress(OSError, TimeoutError):
                    await asyncio.wait_for(writer.wait_closed(), 1)
            reader = writer = None

        while time.perf_counter() < stop_at:
            if writer is None:
                try:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(HOST, port), REQUEST_TIMEOUT
                    )
                except (TimeoutError, OSError):
                    errors["connect"] += 1
                    await asyncio.sleep(0.05)
                    continue
            assert reader is not None
            assert writer is not None
            started = time.perf_counter()
            try:
                writer.write(request)
                status, keep = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT)
            except TimeoutError:
                errors["timeout"] += 1
                await close()
                continue
            except (OSError, EOFError, ValueError, asyncio.IncompleteReadError):
                errors["io"] += 1
                await close()
                await asyncio.sleep(0.01)
                continue
            latencies.append(time.perf_counter() - started)
            if status > 399:  # what wrk counts as a status error
                errors["status"] += 1
            if not keep:
                await close()
        await close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(conc)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return Measurement(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        errors=sum(errors.values()),
        error_detail=", ".join(f"{k} {n}" for k, n in errors.items() if n),
    )


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(ordered)))  # nearest rank
    return ordered[min(rank, len(ordered)) - 1]


def run_python(
    port: int, path: str, headers: dict[str, str], conc: int, seconds: float
) -> Measurement:
    limit = seconds + REQUEST_TIMEOUT + 20
    try:
        return asyncio.run(
            asyncio.wait_for(_python_load(port, path, headers, conc, seconds), limit)
        )
    except TimeoutError:
        raise BenchError(f"built-in load generator did not finish within {limit:g} s") from None


def install_wrk() -> None:
    """apt-get install wrk (root only); apt-get update only when the first try fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*args: str) -> bool:
        try:
            done = subprocess.run(
                ["apt-get", *args], env=env, capture_output=True, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    log("wrk is not installed: apt-get install -y wrk")
    if apt("install", "-y", "-qq", "wrk"):
        return
    log("install failed: apt-get update, then again")
    if apt("update", "-qq"):
        apt("install", "-y", "-qq", "wrk")


def choose_generator(preference: str) -> tuple[str, Generator]:
    if preference != "python":
        if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
            install_wrk()
        if shutil.which("wrk"):
            version = " ".join(_read_first_line(["wrk", "-v"]).split()[:2]) or "wrk"
            return f"{version} (1 thread, keep-alive, closed loop; Lua percentiles)", run_wrk
        if preference == "wrk":
            raise BenchError("BENCH_GENERATOR=wrk but wrk is not available")
        log("wrk is not available: using the built-in asyncio load generator")
    description = (
        f"built-in asyncio HTTP/1.1 client, Python {platform.python_version()} "
        "(one event loop, keep-alive, closed loop; wrk was not available or not chosen)"
    )
    return description, run_python


# --------------------------------------------------------------------------- the benchmark
@dataclass
class Cell:
    endpoint: str
    concurrency: int
    result: Measurement | None
    server_cpu_pct: float | None
    cpu_ms_per_request: float | None
    other_cpu_pct: float | None = None
    failure: str = ""


@dataclass
class Session:
    email: str
    password: str
    token: str = ""
    expires_at: float = 0.0


def register_and_login(port: int) -> Session:
    tag = secrets.token_hex(6)
    session = Session(email=f"bench-{tag}@example.com", password=f"Bench-{secrets.token_hex(12)}")
    body = {"email": session.email, "password": session.password, "name": f"Bench {tag}"}
    status, data = http_call(port, "POST", "/api/v1/auth/register", body=body, timeout=60)
    if status != 201:
        raise BenchError(f"register answered {status}: {data[:300].decode(errors='replace')}")
    login(port, session)
    return session


def login(port: int, session: Session) -> None:
    body = {"email": session.email, "password": session.password}
    began = time.monotonic()
    status, data = http_call(port, "POST", "/api/v1/auth/login", body=body, timeout=60)
    if status != 200:
        raise BenchError(f"login answered {status}: {data[:300].decode(errors='replace')}")
    payload = json.loads(data)
    session.token = payload["access_token"]
    session.expires_at = began + float(payload.get("expires_in", 900))


@dataclass(frozen=True)
class Endpoint:
    label: str
    path: str
    authenticated: bool


ENDPOINTS = (
    Endpoint("GET /health", "/health", authenticated=False),
    Endpoint("GET /api/v1/auth/me", "/api/v1/auth/me", authenticated=True),
)


def run_cells(cfg: Config, server: Server, generator: Generator) -> list[Cell]:
    port = server.port
    session = register_and_login(port)
    status, data = http_call(
        port, "GET", "/api/v1/auth/me", headers={"Authorization": f"Bearer {session.token}"}
    )
    if status != 200:
        raise BenchError(f"/api/v1/auth/me answered {status}: {data[:300]!r}")
    log(f"registered and logged in {session.email}; /api/v1/auth/me answers 200")

    cells: list[Cell] = []
    for endpoint in ENDPOINTS:
        for conc in cfg.concurrency:
            headers: dict[str, str] = {}
            if endpoint.authenticated:
                # A token must outlive the warm-up and the measured run.
                if session.expires_at - time.monotonic() < cfg.warmup + cfg.duration + 30:
                    login(port, session)
                headers["Authorization"] = f"Bearer {session.token}"
            if not server.alive():
                raise BenchError("the server exited during the benchmark")
            try:
                if cfg.warmup > 0:
                    generator(port, endpoint.path, headers, conc, cfg.warmup)
                pids = server.cpu_pids()
                cpu_before = cpu_seconds(pids)
                own_before, machine_before = own_cpu_seconds(), machine_cpu_seconds()
                result = generator(port, endpoint.path, headers, conc, cfg.duration)
                machine_used = machine_cpu_seconds() - machine_before
                own_used = own_cpu_seconds() - own_before
                cpu_used = cpu_seconds(pids | server.cpu_pids()) - cpu_before
                other_used = max(0.0, machine_used - own_used - cpu_used)
            except BenchError as exc:
                log(f"{endpoint.label} c={conc}: FAILED: {exc}")
                cells.append(Cell(endpoint.label, conc, None, None, None, failure=str(exc)))
                continue
            ok = result.requests - result.errors
            cell = Cell(
                endpoint=endpoint.label,
                concurrency=conc,
                result=result,
                server_cpu_pct=100 * cpu_used / result.seconds if result.seconds else None,
                cpu_ms_per_request=1000 * cpu_used / ok if ok > 0 else None,
                other_cpu_pct=100 * other_used / result.seconds if result.seconds else None,
            )
            cells.append(cell)
            log(
                f"{endpoint.label:<20} c={conc:<4} {result.rps:9.1f} req/s  "
                f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                f"errors {result.errors}"
            )
    return cells


# --------------------------------------------------------------------------- the report
def _num(value: float | None, digits: int) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}"


def render_table(cells: list[Cell]) -> list[str]:
    header = (
        "endpoint",
        "conc",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "requests",
        "server CPU %",
        "CPU ms/req",
        "other CPU %",
    )
    rows: list[tuple[str, ...]] = []
    for cell in cells:
        r = cell.result
        if r is None:
            rows.append((cell.endpoint, str(cell.concurrency), "FAILED", *[""] * 7))
            continue
        rows.append(
            (
                cell.endpoint,
                str(cell.concurrency),
                _num(r.rps, 1),
                _num(r.p50_ms, 2),
                _num(r.p99_ms, 2),
                str(r.errors),
                str(r.requests),
                _num(cell.server_cpu_pct, 0),
                _num(cell.cpu_ms_per_request, 3),
                _num(cell.other_cpu_pct, 0),
            )
        )
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        first = row[0].ljust(widths[0])
        rest = [value.rjust(width) for value, width in zip(row[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


LEGEND = (
    "req/s       completed responses per second (closed loop, keep-alive connections)",
    "p50/p99     latency of one request, from sending it to the end of its answer",
    "errors      connect/read/write errors, timeouts (10 s) and answers with status >= 400",
    "server CPU  CPU time of API + worker + PostgreSQL + Redis during the measured run"
    " (100 % = one core)",
    "CPU ms/req  that CPU time per successful request",
    "other CPU   CPU time of everything else on the machine (neither server nor load generator);",
    "            when it is high, other work skewed the figures",
)

LOG_LEVELS_OF_NOTE = ("warning", "error", "critical", "exception")


def server_anomalies(lines: list[str]) -> list[str]:
    """Log lines worth a look: anything at WARNING or above, tracebacks, unparsed output
    other than the run command's own status lines."""
    expected = (
        "PostgreSQL (embedded) data in",
        "Redis (embedded) on",
        "SynapScale is running on",
        "stopped",
    )
    noted = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith(expected):
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if isinstance(record, dict):
            level = str(record.get("level", "")).lower()
            if level in LOG_LEVELS_OF_NOTE or level not in {"info", "debug"}:
                noted.append(text)
        else:
            noted.append(text)
    return noted


def render_report(
    cfg: Config,
    generator_name: str,
    pinning: str,
    cells: list[Cell],
    server: ServerReport,
    started: str,
    load_avg: str,
    failure: str | None,
) -> str:
    out = [
        f"SynapScale HTTP benchmark, {started}",
        "",
        f"machine     nproc {os.cpu_count()}, {cpu_model()}, "
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"python      {platform.python_implementation()} {platform.python_version()}",
        f"load avg    {load_avg} (1, 5, 15 min, before the server started)",
        f"revision    {git_revision()} (working tree at the time of the run)",
        "server      python -m entrypoints.cli run on 127.0.0.1: uvicorn API (1 process) + worker"
        " + embedded PostgreSQL + embedded Redis, fresh DATA_DIR, LOG_LEVEL=WARNING",
        f"pinning     {pinning}",
        f"generator   {generator_name}",
        f"per cell    {cfg.warmup:g} s warm-up (not measured), then {cfg.duration:g} s measured;"
        f" concurrency {','.join(map(str, cfg.concurrency))}",
        "",
        *render_table(cells),
        "",
        *LEGEND,
    ]
    details = [
        f"  {c.endpoint} c={c.concurrency}: {c.result.error_detail}"
        for c in cells
        if c.result is not None and c.result.errors
    ]
    details += [f"  {c.endpoint} c={c.concurrency}: {c.failure}" for c in cells if c.failure]
    if details:
        out += ["", "error detail:", *details]
    out += ["", "server:"]
    if server.ready_after is not None:
        out.append(f"  ready (GET /health/ready 200) {server.ready_after:.1f} s after start")
    if server.died_during_run is not None:
        out.append(f"  EXITED during the run with code {server.died_during_run}")
    if server.exited_by_itself:
        out.append(f"  had exited by itself (exit code {server.exit_code})")
    elif server.stop_seconds is not None:
        how = "cleanly" if server.exit_code == 0 and not server.forced else "NOT cleanly"
        out.append(
            f"  stopped {how} by SIGTERM in {server.stop_seconds:.1f} s (exit code"
            f" {server.exit_code})"
        )
        if server.stop_seconds > SLOW_STOP_SECONDS:
            out.append(
                f"  SLOW STOP (> {SLOW_STOP_SECONDS:g} s): `cli run` gives each child 30 s after"
                " SIGTERM, then kills it; a child probably did not exit on SIGTERM"
            )
    out += [f"  {note}" for note in server.forced]
    anomalies = server_anomalies(server.log_lines)
    out.append(f"  log lines at WARNING or above, or unexpected output: {len(anomalies)}")
    out += [f"    {line[:300]}" for line in anomalies[:20]]
    if len(anomalies) > 20:
        out.append(f"    ... and {len(anomalies) - 20} more")
    if failure:
        out += ["", f"RUN FAILED: {failure}"]
    return "\n".join(out) + "\n"


def save_report(text: str, stamp: str) -> list[Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    paths = [RESULTS / f"http-{stamp}.txt", RESULTS / "latest.txt"]
    for path in paths:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return paths


# --------------------------------------------------------------------------- main
def cpu_plan() -> tuple[list[str], set[int] | None, str]:
    taskset = shutil.which("taskset")
    allowed = os.sched_getaffinity(0)
    if taskset and {SERVER_CPU, LOADGEN_CPU} <= allowed:
        return (
            [taskset, "-c", str(SERVER_CPU)],
            {LOADGEN_CPU},
            f"server (all its processes) on CPU {SERVER_CPU} via taskset -c {SERVER_CPU};"
            f" load generator on CPU {LOADGEN_CPU}",
        )
    why = "taskset not found" if not taskset else f"CPUs available: {sorted(allowed)}"
    return [], None, f"none ({why}); server and load generator share the CPUs"


class _Interrupted(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> int:
    try:
        cfg = load_config()
        generator_name, generator = choose_generator(cfg.generator)
    except BenchError as exc:
        log(f"error: {exc}")
        return 2
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    load_avg = load_average()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    pin_server, pin_loadgen, pinning = cpu_plan()
    log(f"generator: {generator_name}")
    log(f"pinning: {pinning}")

    cells: list[Cell] = []
    failure: str | None = None
    data_dir = Path(tempfile.mkdtemp(prefix="synapscale-bench-"))
    server = Server(data_dir, free_port(), pin_server)
    # Ctrl-C and SIGTERM alike (explicit: a background job may start with SIGINT ignored).
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            log(f"starting the server on http://{HOST}:{server.port} (DATA_DIR {data_dir})")
            server.start()
            server.wait_ready(cfg.ready_timeout)
            assert server.report.ready_after is not None
            log(f"ready after {server.report.ready_after:.1f} s")
            if pin_loadgen:
                os.sched_setaffinity(0, pin_loadgen)  # wrk, a child, inherits it
            cells = run_cells(cfg, server, generator)
            if not server.alive() and server.proc is not None:
                server.report.died_during_run = server.proc.returncode
                failure = f"the server exited during the run (code {server.proc.returncode})"
        except BenchError as exc:
            failure = str(exc)
        except (OSError, ValueError, KeyError) as exc:  # e.g. a refused or malformed answer
            failure = f"{type(exc).__name__}: {exc}"
        except (KeyboardInterrupt, _Interrupted):
            failure = "interrupted"
            log("interrupted: stopping the server")
        finally:
            with _signals_ignored():
                log("stopping the server (SIGTERM)")
                server.stop()
                shutil.rmtree(data_dir, ignore_errors=True)
                if data_dir.exists():
                    server.report.forced.append(f"could not remove {data_dir} completely")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    report = render_report(
        cfg, generator_name, pinning, cells, server.report, started, load_avg, failure
    )
    print()
    print(report, end="")
    if failure and failure != "interrupted" and server.report.log_lines:
        print("\nlast lines of the server's output:")
        print("\n".join(f"  {line[:300]}" for line in server.report.log_lines[-30:]))
    if failure == "interrupted" or not any(c.result for c in cells):
        print("\nno results saved")
        return 1
    for path in save_report(report, stamp):
        print(f"saved {path.relative_to(ROOT)}")
    return 1 if failure or any(c.failure for c in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
