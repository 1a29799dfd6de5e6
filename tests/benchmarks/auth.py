"""B3 authentication cost: what validating the bearer token and deciding the tenant and the
permission take from the throughput of one tenant endpoint served by gunicorn over loopback.

One gunicorn (infra/gunicorn.conf.py, the bench database) serves the platform's app three
times (tests/benchmarks/auth_app.py): with the cache of validated tokens as production runs
it, without the cache, and with the endpoint public (no authentication at all). A closed-loop
load generator (tests/benchmarks/httpload.py) keeps 8 keep-alive connections busy.

Judged: every connection sends the three variants in turn, request after request, so each
variant meets the same moments of the machine's load; each answer carries the CPU time its
serving thread spent on it (until the answer started). A gunicorn worker serves its requests
one at a time under the GIL, so its throughput is the inverse of that CPU time per request:
the cost is 1 - mean public / mean authenticated CPU per request. CPU time does not count what
other processes take from the machine. Beside it, the same comparison from one variant at a
time in short phases that take turns (order rotating every cycle): requests per second on the
wall clock, and CPU per request of the whole server side (workers and PostgreSQL backends).

Before this method (Flask's test client in-process, one long round per variant, requests per
second), the figure moved between 5 % and 24 % from run to run: the noise was larger than the
cost.
"""

from __future__ import annotations

import asyncio
import json
import runpy
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from kentra.auth.roles import Role
from kentra.auth.tokens import DEFAULT_CACHE_SIZE, JwksCache, TokenValidator
from kentra.platform.core.config import Settings
from tests.benchmarks.auth_app import CLAIMS_ENV, CPU_HEADER, JWKS_ENV, VARIANTS
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.httpload import Client, get_request
from tests.benchmarks.results import BenchmarkFailure, BenchOutcome, Figure, p50, p95, rounded
from tests.benchmarks.web import children_of, free_port, stop, wait_until_healthy
from tests.tokens import TokenFactory

TENANT = "4501"
PATH = f"/api/v1/municipalities/{TENANT}"
VALIDATIONS = 2000
CONNECTIONS = 8
WARMUP_S = 2.0
MIXED_S = 60.0
PHASE_S = 0.25
CYCLES = 90  # a multiple of 3: every variant goes first, second and third equally often
TARGET_COST = 0.15
PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = PROJECT_ROOT / "infra" / "gunicorn.conf.py"
WORK_DIR = PROJECT_ROOT / "var" / "bench"
LABELS = {
    "cached": "authenticated, with the token cache (as deployed)",
    "uncached": "authenticated, without the token cache",
    "public": "the same endpoint public (no authentication)",
}


@dataclass
class Tally:
    """One variant's phases summed: requests answered, wall time, and the CPU the server side
    spent (the gunicorn workers and their PostgreSQL backends; not the load generator)."""

    requests: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes' threads have run so far, in seconds, to the nanosecond
    (/proc/<pid>/task/<tid>/schedstat); a process that has gone counts nothing."""
    total = 0
    for pid in pids:
        for schedstat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                total += int(schedstat.read_text().split()[0])
            except (OSError, IndexError, ValueError):
                continue
    return total / 1e9


def wait_for_workers(master: int, expected: int) -> list[int]:
    deadline = time.monotonic() + 30
    while len(workers := children_of(master)) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    if len(workers) != expected:
        raise BenchmarkFailure(f"expected {expected} gunicorn workers, found {workers}")
    return workers


def cpu_pressure_total_us() -> int | None:
    """Time some runnable task waited for a CPU, in µs since boot (PSI), if the kernel says."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    return int(first.rpartition("total=")[2])


def status(url: str, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def validation_timings(validator: TokenValidator, token: str) -> list[float]:
    validator.validate(token)  # warm the JWKS cache (and the token cache, when there is one)
    timings = []
    for _ in range(VALIDATIONS):
        started = time.perf_counter()
        validator.validate(token)
        timings.append((time.perf_counter() - started) * 1_000_000)
    return timings


def backend_pids(db: BenchDatabase) -> list[int]:
    """The PostgreSQL backends serving the bench database (the gunicorn workers' pools)."""
    with db.engine.connect() as conn:
        query = text(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return list(conn.scalars(query))


@dataclass
class Measured:
    thread_cpu_ns: dict[str, list[int]]  # the mixed load: per request, by variant
    cycles: list[dict[str, float]]  # the phases: requests/s by variant, cycle by cycle
    tallies: dict[str, Tally]  # the phases summed by variant


async def drive(port: int, token: str, db: BenchDatabase, workers: list[int]) -> Measured:
    """Warm up every variant, the mixed load for MIXED_S, then CYCLES cycles of phases."""
    client = Client("127.0.0.1", port, CONNECTIONS)
    bearer = {"Authorization": f"Bearer {token}"}
    requests = {
        variant: get_request(
            "127.0.0.1", port, f"/{variant}{PATH}", None if variant == "public" else bearer
        )
        for variant in VARIANTS
    }
    try:
        for variant in VARIANTS:
            await client.phase(requests[variant], WARMUP_S)
        thread_cpu_ns = await client.mixed(requests, MIXED_S, CPU_HEADER)
        pids = [*workers, *backend_pids(db)]
        cycles: list[dict[str, float]] = []
        tallies = {variant: Tally() for variant in VARIANTS}
        for number in range(CYCLES):
            rates = {}
            for variant in VARIANTS[number % 3 :] + VARIANTS[: number % 3]:
                cpu_before = cpu_seconds(pids)
                phase = await client.phase(requests[variant], PHASE_S)
                tally = tallies[variant]
                tally.cpu_s += cpu_seconds(pids) - cpu_before
                tally.requests += phase.requests
                tally.seconds += phase.seconds
                rates[variant] = phase.rps
            cycles.append(rates)
        return Measured(thread_cpu_ns, cycles, tallies)
    finally:
        await client.close()


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    settings = Settings.from_env()
    tokens = TokenFactory(issuer=settings.issuer)
    # Valid for the whole benchmark; the cache re-checks exp on every hit all the same.
    token = tokens.sign({**tokens.claims(Role.STAFF, municipality=TENANT), "exp": 2**31 - 1})

    uncached = validation_timings(
        TokenValidator(settings.issuer, JwksCache(tokens.jwks), cache_size=0), token
    )
    cached = validation_timings(TokenValidator(settings.issuer, JwksCache(tokens.jwks)), token)

    WORK_DIR.mkdir(parents=True, exist_ok=True)
    jwks_path = WORK_DIR / "b3-jwks.json"
    jwks_path.write_text(json.dumps(tokens.jwks()))
    claims_path = WORK_DIR / "b3-claims.json"
    claims_path.write_text(json.dumps(tokens.claims(Role.STAFF, municipality=TENANT)))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **db.subprocess_env(),
        "KENTRA_BIND": f"127.0.0.1:{port}",
        JWKS_ENV: str(jwks_path),
        CLAIMS_ENV: str(claims_path),
        "KENTRA_LOG_LEVEL": "WARNING",  # no request log lines: the same for all, but noise
    }
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)),
        "tests.benchmarks.auth_app:build()",
    ]
    with (WORK_DIR / "b3-gunicorn.log").open("wb") as log:
        server = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            for variant in VARIANTS:
                wait_until_healthy(f"{base}/{variant}", server)
            workers = wait_for_workers(
                server.pid, int(runpy.run_path(str(GUNICORN_CONF))["workers"])
            )
            checks = {
                "cached, token": status(f"{base}/cached{PATH}", token),
                "uncached, token": status(f"{base}/uncached{PATH}", token),
                "public, no token": status(f"{base}/public{PATH}", None),
                "cached, no token": status(f"{base}/cached{PATH}", None),
            }
            expected = [200, 200, 200, 401]
            if list(checks.values()) != expected:
                raise BenchmarkFailure(f"unexpected answers before the load: {checks}")
            pressure_before, started = cpu_pressure_total_us(), time.perf_counter()
            measured = asyncio.run(drive(port, token, db, workers))
            pressure_after, elapsed = cpu_pressure_total_us(), time.perf_counter() - started
        finally:
            stop(server)

    cycles, tallies, per_request = measured.cycles, measured.tallies, measured.thread_cpu_ns

    def thread_cpu_us(variant: str) -> float:
        return statistics.fmean(per_request[variant]) / 1000

    def cycle_costs(variant: str) -> list[float]:
        return [100 * (1 - c[variant] / c["public"]) for c in cycles]

    def rps(variant: str) -> float:
        return tallies[variant].requests / tallies[variant].seconds

    def server_cpu_us(variant: str) -> float:
        return 1_000_000 * tallies[variant].cpu_s / tallies[variant].requests

    pressure = (
        None
        if pressure_before is None or pressure_after is None
        else (pressure_after - pressure_before) / (elapsed * 1_000_000) * 100
    )
    outcome.details.update(
        {
            "workers": len(workers),
            "checks": checks,
            "mixed_requests": {v: len(per_request[v]) for v in VARIANTS},
            "thread_cpu_us": {
                v: {
                    "mean": round(thread_cpu_us(v), 1),
                    "p50": round(p50(per_request[v]) / 1000, 1),
                    "p95": round(p95(per_request[v]) / 1000, 1),
                }
                for v in VARIANTS
            },
            "phase_requests": {v: tallies[v].requests for v in VARIANTS},
            "server_cpu_us_per_request": {v: round(server_cpu_us(v), 1) for v in VARIANTS},
            "rps_by_cycle": {v: rounded([c[v] for c in cycles], 1) for v in VARIANTS},
            "cpu_pressure_some_pct": None if pressure is None else round(pressure, 1),
        }
    )
    outcome.notes.append(
        f"validation: {VALIDATIONS} checks of one RS256 token with a warm JWKS, without the "
        f"cache and as cache hits. Server: gunicorn with infra/gunicorn.conf.py "
        f"({len(workers)} workers) on loopback, GET {PATH} over {CONNECTIONS} keep-alive "
        f"connections, {WARMUP_S:.0f} s of warm-up per variant. Judged: {MIXED_S:.0f} s of "
        f"the three variants interleaved request by request "
        f"({sum(len(v) for v in per_request.values())} requests), each answer carrying its "
        "serving thread's CPU time; cost = 1 - mean public / mean authenticated CPU per "
        f"request. Beside it: {len(cycles)} cycles of one {PHASE_S * 1000:.0f} ms phase per "
        "variant, order rotating, for requests/s on the wall clock and the whole server side's "
        "CPU per request (workers and PostgreSQL backends, /proc)"
        + (
            f". Other processes' load during B3: some task waited for a CPU {pressure:.0f} % "
            "of the time (PSI); the wall-clock figure moves with it, CPU time much less"
            if pressure is not None
            else ""
        )
        + "."
    )
    outcome.add(
        Figure("b3.validate_p50_us", "token validation p50 (warm JWKS)", p50(uncached), "µs")
    )
    outcome.add(
        Figure("b3.validate_p95_us", "token validation p95 (warm JWKS)", p95(uncached), "µs")
    )
    outcome.add(
        Figure(
            "b3.validate_cached_p50_us",
            f"token validation p50, a hit of the token cache ({DEFAULT_CACHE_SIZE} entries)",
            p50(cached),
            "µs",
        )
    )
    outcome.add(
        Figure(
            "b3.validate_cached_p95_us",
            "token validation p95, a hit of the token cache",
            p95(cached),
            "µs",
        )
    )
    for variant, key, target in (
        ("cached", "b3.auth_cost", TARGET_COST * 100),
        ("uncached", "b3.auth_cost_uncached", None),
    ):
        outcome.add(
            Figure(
                key,
                f"throughput lost to authentication, {LABELS[variant].partition(', ')[2]}",
                100 * (1 - thread_cpu_us("public") / thread_cpu_us(variant)),
                "%",
                target=target,
                note=(
                    f"worker CPU per request {thread_cpu_us(variant):.0f} µs against "
                    f"{thread_cpu_us('public'):.0f} µs public, interleaved"
                ),
            )
        )
    for variant in VARIANTS:
        outcome.add(
            Figure(
                f"b3.{variant}_rps",
                f"{LABELS[variant]}, requests/s (phases)",
                rps(variant),
                "req/s",
            )
        )
    for variant in ("cached", "uncached"):
        quartiles = statistics.quantiles(cycle_costs(variant), n=4)
        outcome.add(
            Figure(
                f"b3.wall_cost_{variant}",
                f"requests/s lost on the wall clock, {variant} (phases)",
                100 * (1 - rps(variant) / rps("public")),
                "%",
                note=f"cycles' quartiles {quartiles[0]:.0f} … {quartiles[2]:.0f} %",
            )
        )
    for variant in ("cached", "uncached"):
        outcome.add(
            Figure(
                f"b3.server_cpu_cost_{variant}",
                f"server CPU per request added by authentication, {variant} (phases)",
                100 * (1 - server_cpu_us("public") / server_cpu_us(variant)),
                "%",
                note=(
                    f"{server_cpu_us(variant):.0f} µs against {server_cpu_us('public'):.0f} µs "
                    "public, workers and PostgreSQL backends"
                ),
            )
        )
