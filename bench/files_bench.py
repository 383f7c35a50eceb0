"""``make bench-files``: upload and download throughput against a plain disk copy.

Starts its own server (as ``make bench`` does: embedded PostgreSQL and Redis, a
fresh DATA_DIR, the server pinned to CPU 1 when possible), signs a user in,
then for each size (default 1 MB, 100 MB, 1 GB):

- writes a source file of that size (a zip signature, then random bytes);
- uploads it once to warm the path up, then, several times in turn:
  times ``shutil.copyfile`` of it on the same disk, fsynced (the yardstick);
  uploads it (a streamed multipart body, never held in memory), sampling the
  API process's RSS every 20 ms and counting its CPU time; downloads it
  through a signed link into a file, fsynced;
- checks the SHA-256 the server reports and the downloaded bytes.

Before each timed step the disk is settled (``sync``, a short pause), so no
step pays for the previous one's writeback. The table shows medians, with the
spread of the ratios; it is printed and saved to
``bench/results/files-<timestamp>.txt``.

Environment: BENCH_FILE_SIZES (comma-separated bytes, default 1e6,1e8,1e9),
BENCH_FILE_RUNS (runs per size, comma-separated in the same order; default
15,5,5).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.http_bench import (
    HOST,
    RESULTS,
    ROOT,
    BenchError,
    Server,
    cpu_model,
    free_port,
    git_revision,
    register_and_login,
)

CHUNK = 1 << 20
SETTLE_S = 0.3
BOUNDARY = "synapscale-bench-boundary-7f3a"


@dataclass
class Run:
    copy_s: float
    upload_s: float
    download_s: float
    served_s: float
    upload_cpu_s: float
    rss_before: int
    rss_peak: int


@dataclass
class Row:
    size: int
    runs: list[Run]

    def median(self, field: str) -> float:
        return float(statistics.median(getattr(run, field) for run in self.runs))

    def ratios(self, field: str) -> list[float]:
        """Each run's throughput over the same run's copy."""
        return sorted(run.copy_s / getattr(run, field) for run in self.runs)


def make_source(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "wb") as out:
        head = b"PK\x03\x04" + os.urandom(min(size, CHUNK) - 4)
        out.write(head)
        digest.update(head)
        written = len(head)
        while written < size:
            block = os.urandom(min(CHUNK, size - written))
            out.write(block)
            digest.update(block)
            written += len(block)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def api_pid(server: Server) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if (
            b"entrypoints.cli" in cmdline
            and b"api" in cmdline
            and str(server.data_dir).encode() in environ
        ):
            return int(entry.name)
    raise BenchError("the API process was not found")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            time.sleep(0.02)


def upload(port: int, token: str, source: Path, name: str) -> tuple[float, dict[str, object]]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/zip\r\n\r\n"
    ).encode()
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()
    length = len(head) + source.stat().st_size + len(tail)
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    began = time.perf_counter()
    conn.putrequest("POST", "/api/v1/files/upload")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={BOUNDARY}")
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    conn.send(head)
    assert conn.sock is not None
    with open(source, "rb") as data:
        conn.sock.sendfile(data)  # zero-copy, so the client takes little of the CPUs
    conn.send(tail)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - began
    conn.close()
    if response.status != 201:
        raise BenchError(f"upload answered {response.status}: {body[:300]!r}")
    return elapsed, json.loads(body)


def download(port: int, token: str, file_id: str, target: Path | None) -> tuple[float, str]:
    """Time a download into ``target`` (fsynced) and hash it after the clock stopped;
    with no target, the bytes are only counted: what the server sends, without the
    client's disk."""
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    conn.request(
        "GET", f"/api/v1/files/{file_id}/download", headers={"Authorization": f"Bearer {token}"}
    )
    link = json.loads(conn.getresponse().read())
    url = urlsplit(link["url"])
    began = time.perf_counter()
    conn.request("GET", f"{url.path}?{url.query}")
    response = conn.getresponse()
    if response.status != 200:
        raise BenchError(f"download answered {response.status}")
    buffer = memoryview(bytearray(CHUNK))
    if target is None:
        total = 0
        while received := response.readinto(buffer):
            total += received
        elapsed = time.perf_counter() - began
        conn.close()
        return elapsed, str(total)
    with open(target, "wb") as out:
        while received := response.readinto(buffer):
            out.write(buffer[:received])
        out.flush()
        os.fsync(out.fileno())
    elapsed = time.perf_counter() - began
    conn.close()
    digest = hashlib.sha256()  # checked after the clock stopped
    with open(target, "rb") as written:
        while block := written.read(CHUNK):
            digest.update(block)
    return elapsed, digest.hexdigest()


def settle() -> None:
    """Flush what earlier steps left dirty, so the next timed step starts even."""
    os.sync()
    time.sleep(SETTLE_S)


def process_cpu(pid: int) -> float:
    """User + system seconds of the process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_copy(source: Path, target: Path) -> float:
    began = time.perf_counter()
    shutil.copyfile(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())
    return time.perf_counter() - began


def mb_s(size: int, seconds: float) -> float:
    return size / seconds / 1e6


def spread(ratios: list[float]) -> str:
    return f"{statistics.median(ratios):>4.0%} ({ratios[0]:>3.0%}-{ratios[-1]:>4.0%})"


def render(rows: list[Row], pinning: str, started: str) -> str:
    lines = [
        f"SynapScale file benchmark, {started}",
        "",
        f"machine     nproc {os.cpu_count()}, {cpu_model()}",
        f"revision    {git_revision()}",
        f"pinning     {pinning}",
        "yardstick   shutil.copyfile of the same bytes on the same disk, fsynced",
        "",
        "size        runs  copy MB/s  upload MB/s  ratio (range)     download MB/s  ratio (range)"
        "     served MB/s  API CPU ms/MB  RSS before  peak   growth",
        "----------  ----  ---------  -----------  ----------------  -------------"
        "  ----------------  -----------  -------------  ----------  -----  ------",
    ]
    for r in rows:
        copy = mb_s(r.size, r.median("copy_s"))
        up = mb_s(r.size, r.median("upload_s"))
        down = mb_s(r.size, r.median("download_s"))
        up_ratios, down_ratios = r.ratios("upload_s"), r.ratios("download_s")
        # summed over the runs: the kernel counts CPU time in 10 ms ticks
        cpu = sum(run.upload_cpu_s for run in r.runs) * 1000 / (len(r.runs) * r.size / 1e6)
        before = min(run.rss_before for run in r.runs)
        peak = max(run.rss_peak for run in r.runs)
        growth = max(run.rss_peak - run.rss_before for run in r.runs)
        lines.append(
            f"{r.size / 1e6:>7,.0f} MB  {len(r.runs):>4}  {copy:>9,.0f}  {up:>11,.0f}  "
            f"{spread(up_ratios)}  {down:>13,.0f}  {spread(down_ratios)}  "
            f"{mb_s(r.size, r.median('served_s')):>11,.0f}  {cpu:>13,.2f}  "
            f"{before / 2**20:>7,.0f} MB  {peak / 2**20:>3,.0f} MB  {growth / 2**20:>3,.0f} MB"
        )
    lines += [
        "",
        "figures    medians over the runs; a ratio is a run's throughput over the copy's in the",
        "           same run (median, and lowest-highest)",
        "upload     the client sends the file as one multipart body (sendfile); the server sniffs,",
        "           hashes and writes it (partial file, fsync, rename); timed until the 201",
        "download   signed link, streamed into a file on the same disk, fsynced",
        "served     the same download counted and dropped by the client: the server's side alone",
        "API CPU    user + system time of the API process (all threads) per MB uploaded, over",
        "           all the runs",
        "RSS        the API process, sampled every 20 ms during each upload; growth is the",
        "           largest of one upload",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    sizes = [int(float(s)) for s in os.environ.get("BENCH_FILE_SIZES", "1e6,1e8,1e9").split(",")]
    default_runs = ",".join(["15", "5", "5", *["3"] * len(sizes)][: len(sizes)])
    counts = [int(n) for n in os.environ.get("BENCH_FILE_RUNS", default_runs).split(",")]
    if len(counts) != len(sizes) or min(counts) < 1:
        print("BENCH_FILE_RUNS needs one count (>= 1) per size", file=sys.stderr)
        return 2
    # Unpinned: an upload hashes in a thread beside the event loop, as it would on
    # any multi-core host; the yardstick copy is not pinned either.
    pin_server: list[str] = []
    pinning = "none: server and client share both CPUs, as the yardstick copy does"
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    data_dir = Path(tempfile.mkdtemp(prefix="synapscale-bench-files-"))
    work = data_dir / "work"
    work.mkdir()
    server = Server(data_dir, free_port(), pin_server)
    rows: list[Row] = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.start()
        server.wait_ready(90)
        session = register_and_login(server.port)
        assert session.token
        pid = api_pid(server)
        for size, runs in zip(sizes, counts, strict=True):
            source = work / "source.zip"
            expected = make_source(source, size)
            upload(server.port, session.token, source, "warm-up.zip")
            row = Row(size, [])
            for run in range(runs):
                settle()
                copy_s = timed_copy(source, work / "copy.zip")
                (work / "copy.zip").unlink()
                settle()
                sampler = RssSampler(pid)
                before, cpu_before = rss(pid), process_cpu(pid)
                sampler.start()
                upload_s, body = upload(server.port, session.token, source, f"bench-{run}.zip")
                upload_cpu_s = process_cpu(pid) - cpu_before
                sampler.stop.set()
                sampler.join()
                if body["sha256"] != expected or body["size"] != size:
                    raise BenchError("the server's size or SHA-256 disagrees with the source")
                settle()
                download_s, got = download(
                    server.port, session.token, str(body["id"]), work / "down.zip"
                )
                if got != expected:
                    raise BenchError("the downloaded bytes differ from the source")
                (work / "down.zip").unlink()
                settle()
                served_s, count = download(server.port, session.token, str(body["id"]), None)
                if int(count) != size:
                    raise BenchError("the download served the wrong number of bytes")
                row.runs.append(
                    Run(copy_s, upload_s, download_s, served_s, upload_cpu_s, before, sampler.peak)
                )
            source.unlink()
            rows.append(row)
            print(f"{size:,} bytes done ({runs} runs)", flush=True)
    except (BenchError, OSError, KeyboardInterrupt) as exc:
        print(f"error: {exc!r}", file=sys.stderr)
        return 1
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    report = render(rows, pinning, started)
    print(report, end="")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (RESULTS / f"files-{stamp}.txt", RESULTS / "files-latest.txt"):
        path.write_text(report)
        print(f"saved {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
