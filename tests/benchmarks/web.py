"""Web process RSS: gunicorn started as in production, one worker, after its first requests.

The worker (the child of the gunicorn master) is what is multiplied by ``--workers``, so its
resident memory is the judged figure; the master's is reported alongside.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchmarkFailure, BenchOutcome, Figure, elapsed_s

TARGET_WORKER_RSS_MIB = 150.0
STARTUP_TIMEOUT_S = 60.0
REQUESTS = (
    "/api/v1/reference/municipalities",
    "/api/v1/reference/municipalities/0101",
    # Public pages: templates, translations and the reference list (tenant URLs need a token).
    "/",
    "/onboarding",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_until_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchmarkFailure(f"gunicorn exited with {server.returncode} before answering")
        with contextlib.suppress(OSError):
            if http_status(base + "/healthz") == 200:
                return
        time.sleep(0.1)
    raise BenchmarkFailure(f"GET /healthz did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s")


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name is in parentheses and may hold spaces: split after the last ')'.
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB (KiB)
    raise BenchmarkFailure(f"no VmRSS for process {pid}")


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run(db: BenchDatabase, outcome: BenchOutcome, log_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        *(sys.executable, "-m", "gunicorn", "kentra.platform.app.wsgi:app"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        server = subprocess.Popen(
            command, env=db.subprocess_env(), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_healthy(base, server)
            startup = elapsed_s(started)
            statuses = {path: http_status(base + path) for path in REQUESTS}
            workers = children_of(server.pid)
            if len(workers) != 1:
                raise BenchmarkFailure(f"expected one gunicorn worker, found {workers}")
            worker_rss, master_rss = rss_mib(workers[0]), rss_mib(server.pid)
        finally:
            stop(server)

    outcome.details["requests"] = statuses
    outcome.details["gunicorn_log"] = str(log_path)
    outcome.notes.append(
        f"requests before reading RSS: GET /healthz, "
        f"{', '.join(f'GET {p} ({s})' for p, s in statuses.items())}"
    )
    outcome.add(
        Figure(
            "web.worker_rss_mib",
            "gunicorn worker VmRSS after start",
            worker_rss,
            "MiB",
            target=TARGET_WORKER_RSS_MIB,
        )
    )
    outcome.add(Figure("web.master_rss_mib", "gunicorn master VmRSS", master_rss, "MiB"))
    outcome.add(Figure("web.startup_s", "start until /healthz answers 200", startup, "s"))
    failing = {p: s for p, s in statuses.items() if s != 200}
    if failing:
        raise BenchmarkFailure(f"requests did not answer 200: {failing} (see {log_path})")
