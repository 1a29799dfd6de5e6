"""B5 tenant read throughput: the units list of one municipality, authenticated, served by
gunicorn under wrk on loopback, direct to PostgreSQL and through PgBouncer, beside a raw
baseline, all in the same run.

Four servers, each gunicorn with infra/gunicorn.conf.py and the same environment:

- the platform (``kentra.platform.app.wsgi:app``) on the services' PostgreSQL, direct;
- the platform through the services' PgBouncer (transaction pooling,
  ``KENTRA_DB_PREPARE_THRESHOLD=off``);
- the raw baseline (tests/benchmarks/throughput_app.py: one WSGI function over psycopg) running
  the platform's own SQL for the list, compiled for the tenant's schema, direct;
- the same raw baseline through PgBouncer.

The database is this benchmark's own (``kentra_bench_throughput``) on the services' PostgreSQL
(infra/dev/services.sh; what was not running is started and stopped again afterwards), so direct
and pooled reach the same server. One tenant, a centre with two annexes and two mobile units
serving three municipalities; the token is a real one, from the embedded issuer's password
grant for a demo staff member (renewed before it expires). Before the load, every server's
answer must be the same bytes.

wrk (Debian's; ``make bench`` installs it) keeps CONNECTIONS connections busy. After a warm-up,
ROUNDS rounds: in each, every variant runs ROUND_S seconds in turn, each platform variant right
next to its baseline (which goes first alternating), so the two are measured seconds apart
under the same load of the machine; the ratio is
taken round by round (platform / raw on the same path) and its median reported with the
rounds' spread. Beside it: the gunicorn workers' CPU per request (/proc), and through PgBouncer
the statements and transactions per request as PgBouncer counts them (each statement is a round
trip to PostgreSQL).
"""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import URL

from kentra.auth.claims import CLI_CLIENT
from kentra.auth.issuer.demo import DEMO_USERS, seed_demo_users
from kentra.platform.core.config import Settings, sqlalchemy_url
from kentra.platform.core.database import make_engine, recreate_database
from kentra.platform.core.paging import DEFAULT_PER_PAGE
from kentra.platform.units import access
from kentra.platform.units.models import (
    PREMISES_ITEMS,
    AnnexReason,
    Unit,
    UnitKind,
    UnitServedMunicipality,
)
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.migrate import upgrade_all
from kentra.tenants.provisioning import create_tenant
from tests.benchmarks.auth import cpu_seconds, wait_for_workers
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchmarkFailure, BenchOutcome, Figure
from tests.benchmarks.web import free_port, stop, wait_until_healthy

TENANT = "4501"
PATH = f"/api/v1/municipalities/{TENANT}/units"
DATABASE = "kentra_bench_throughput"
USER = "staff-4501"  # tenant:units:read in 4501
CONNECTIONS = 8
WRK_THREADS = 2
WARMUP_S = 3
ROUND_S = 2
ROUNDS = int(os.environ.get("KENTRA_BENCH_B5_ROUNDS") or 20)
TOKEN_RENEW_S = 120  # the embedded issuer's tokens last 300 s
TARGET_RATIO = 50.0  # % of the raw baseline's requests/s
PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUNICORN_CONF = PROJECT_ROOT / "infra" / "gunicorn.conf.py"
SERVICES_SH = PROJECT_ROOT / "infra" / "dev" / "services.sh"
WORK_DIR = PROJECT_ROOT / "var" / "bench" / "throughput"
SERVICES_NEEDED = ("postgres", "pgbouncer")
TOKEN_PATH = "/auth/realms/kentra/protocol/openid-connect/token"


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    platform: bool
    pooled: bool


VARIANTS = (
    Variant("platform_direct", "platform, direct to PostgreSQL", True, False),
    Variant("raw_direct", "raw baseline, direct to PostgreSQL", False, False),
    Variant("platform_pgbouncer", "platform, through PgBouncer", True, True),
    Variant("raw_pgbouncer", "raw baseline, through PgBouncer", False, True),
)
# (platform, its baseline, the figure's name)
PAIRS = (
    ("platform_direct", "raw_direct", "direct"),
    ("platform_pgbouncer", "raw_pgbouncer", "through PgBouncer"),
)


@dataclass
class Server:
    variant: Variant
    port: int
    process: subprocess.Popen[bytes]
    workers: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class Tally:
    """One variant over the rounds."""

    rps: list[float] = field(default_factory=list)
    requests: int = 0
    worker_cpu_s: float = 0.0
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    bouncer: dict[str, int] = field(default_factory=lambda: {"xact": 0, "query": 0})


# --- the services --------------------------------------------------------------------------


def services_running() -> set[str]:
    status = subprocess.run(
        [str(SERVICES_SH), "status"], capture_output=True, text=True, check=False
    )
    return {
        line.split()[0]
        for line in status.stdout.splitlines()
        if line.split()[:2] and "running, answers" in line
    }


def services_env() -> dict[str, str]:
    printed = subprocess.run(
        [str(SERVICES_SH), "env"], capture_output=True, text=True, check=True
    ).stdout
    return dict(re.findall(r"^export (\w+)=(\S+)$", printed, re.MULTILINE))


@contextmanager
def services(outcome: BenchOutcome) -> Iterator[dict[str, str]]:
    """PostgreSQL and PgBouncer of infra/dev/services.sh: started when not running, and then
    stopped again at the end (only those)."""
    missing = [name for name in SERVICES_NEEDED if name not in services_running()]
    if missing:
        print(f"  starting {', '.join(missing)} (infra/dev/services.sh)", flush=True)
        started = subprocess.run(
            [str(SERVICES_SH), "start", *missing], capture_output=True, text=True, check=False
        )
        if started.returncode != 0:
            raise BenchmarkFailure(
                f"infra/dev/services.sh start {' '.join(missing)} failed: "
                f"{(started.stderr or started.stdout).strip()[-500:]}"
            )
    outcome.details["services_started_by_bench"] = missing
    try:
        yield services_env()
    finally:
        if missing:
            subprocess.run([str(SERVICES_SH), "stop", *missing], check=False)


def bouncer_stats() -> dict[str, int]:
    """PgBouncer's transactions and statements so far for the bench database."""
    conninfo = services_env()["KENTRA_SERVICES_PGBOUNCER_URL"].rsplit("/", 1)[0] + "/pgbouncer"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for row in conn.execute("SHOW STATS"):
            if row[0] == DATABASE:
                return {"xact": int(row[1]), "query": int(row[2])}
    return {"xact": 0, "query": 0}


# --- the data ------------------------------------------------------------------------------


def seed(url: URL) -> None:
    """The database afresh: the shared schema, the tenant, its unit tree, the demo users."""
    recreate_database(url)
    engine = make_engine(url)
    try:
        upgrade_all(engine)
        create_tenant(engine, TENANT, actor="bench")
        with tenant_session(engine, parse_municipality_code(TENANT)) as session:
            session.add(
                Unit(
                    kind=UnitKind.CENTRE,
                    centre="kk-athinon",
                    unit=None,
                    name="Κέντρο Κοινότητας Δήμου Αθηναίων",
                    street_address="Λιοσίων 22",
                    postal_code="10438",
                    focus_groups=["poverty", "migrants"],
                    **dict.fromkeys(PREMISES_ITEMS, True),
                )
            )
            for number in (1, 2):
                session.add(
                    Unit(
                        kind=UnitKind.ANNEX,
                        centre="kk-athinon",
                        unit=f"parartima-{number}",
                        name=f"Κέντρο Κοινότητας Δήμου Αθηναίων — Παράρτημα {number}",
                        annex_reason=AnnexReason.ROMA,
                    )
                )
            for number, served in ((1, ["4502", "4503"]), (2, ["4504"])):
                mobile = Unit(
                    kind=UnitKind.MOBILE_UNIT,
                    centre="kk-athinon",
                    unit=f"kinhth-{number}",
                    name=f"Κινητή Μονάδα {number}",
                )
                mobile.served_municipalities = [
                    UnitServedMunicipality(municipality_code=code) for code in served
                ]
                session.add(mobile)
        settings = Settings.from_env()
        seed_demo_users(engine, settings)
    finally:
        engine.dispose()


def raw_spec(url: URL, pooled: bool) -> dict[str, Any]:
    """What the raw baseline needs: the platform's two statements of the list, compiled for the
    tenant's schema (the platform's engine translates the placeholder schema the same way)."""
    engine = make_engine(url)
    try:
        translate = {"tenant": parse_municipality_code(TENANT).schema_name}
        statements = {}
        statements_of_list = (("units", access.FIRST_UNITS), ("served", access.SERVED_OF_UNITS))
        for name, statement in statements_of_list:
            compiled = statement.compile(
                dialect=engine.dialect,
                schema_translate_map=translate,
                render_schema_translate=True,
            )
            statements[f"{name}_sql"] = compiled.string
            statements[f"{name}_params"] = compiled.params
    finally:
        engine.dispose()
    return {
        "conninfo": url.set(drivername="postgresql").render_as_string(hide_password=False),
        "prepare_threshold": None if pooled else 5,
        "path": PATH,
        "code": TENANT,
        "premises_items": list(PREMISES_ITEMS),
        # The list's first page, as the platform reads it (ADR 0040): one row more than a
        # page, to know whether another follows.
        "per_page": DEFAULT_PER_PAGE,
        **statements,
    }


# --- the servers ---------------------------------------------------------------------------


def server_env(variant: Variant, direct: URL, pooled: URL, base_url: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        # The embedded issuer signs the bench's tokens; the platform's own defaults otherwise.
        if key not in {"KENTRA_OIDC_ISSUER", "KENTRA_DATABASE_URL", "KENTRA_DB_PREPARE_THRESHOLD"}
    }
    env.update(
        {
            "KENTRA_LOG_LEVEL": "WARNING",  # no request lines: the same for all, but noise
            # Both platform servers: one issuer URL and signing key, so one token serves both.
            "KENTRA_BASE_URL": base_url,
            "KENTRA_VAR_DIR": str(WORK_DIR / "var"),
        }
    )
    url = pooled if variant.pooled else direct
    if variant.pooled:
        env["KENTRA_DB_PREPARE_THRESHOLD"] = "off"
    if variant.platform:
        env["KENTRA_DATABASE_URL"] = url.render_as_string(hide_password=False)
    else:
        spec = WORK_DIR / f"{variant.key}.json"
        spec.write_text(json.dumps(raw_spec(url, variant.pooled)))
        env["KENTRA_BENCH_RAW_SPEC"] = str(spec)
    return env


@contextmanager
def servers(direct: URL, pooled: URL) -> Iterator[dict[str, Server]]:
    ports = {variant.key: free_port() for variant in VARIANTS}
    base_url = f"http://127.0.0.1:{ports['platform_direct']}"
    started: dict[str, Server] = {}
    logs = []
    try:
        for variant in VARIANTS:
            env = server_env(variant, direct, pooled, base_url)
            env["KENTRA_BIND"] = f"127.0.0.1:{ports[variant.key]}"
            app = (
                "kentra.platform.app.wsgi:app"
                if variant.platform
                else "tests.benchmarks.throughput_app:app"
            )
            log = (WORK_DIR / f"{variant.key}-gunicorn.log").open("wb")
            logs.append(log)
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            started[variant.key] = Server(variant, ports[variant.key], process)
        expected_workers = int(_gunicorn_setting("workers"))
        for server in started.values():
            if server.variant.platform:
                wait_until_healthy(f"http://127.0.0.1:{server.port}", server.process)
            else:
                _wait_for_raw(server)
            server.workers = wait_for_workers(server.process.pid, expected_workers)
        yield started
    finally:
        for server in started.values():
            stop(server.process)
        for log in logs:
            log.close()


def _gunicorn_setting(name: str) -> Any:
    return runpy.run_path(str(GUNICORN_CONF))[name]


def _wait_for_raw(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchmarkFailure(f"{server.variant.key} exited with {server.process.returncode}")
        try:
            if fetch(server.url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchmarkFailure(f"{server.variant.key} did not answer within 60 s")


def fetch(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def password_token(port: int) -> str:
    """A real access token: the embedded issuer's password grant for USER."""
    password = next(spec.password for spec, login in DEMO_USERS if login.username == USER)
    form = urllib.parse.urlencode(
        {"grant_type": "password", "client_id": CLI_CLIENT, "username": USER, "password": password}
    ).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}{TOKEN_PATH}", data=form)
    with urllib.request.urlopen(request, timeout=30) as response:
        token: str = json.load(response)["access_token"]
    return token


def check_answers(running: dict[str, Server], token: str) -> int:
    """Every server answers the same bytes (the platform with the token); no token is a 401.
    Returns the number of units listed."""
    bodies = {}
    for key, server in running.items():
        status, body = fetch(server.url, token if server.variant.platform else None)
        if status != 200:
            raise BenchmarkFailure(f"{key} answered {status} before the load")
        bodies[key] = body
    if len(set(bodies.values())) != 1:
        raise BenchmarkFailure(
            "the servers' answers differ: "
            + json.dumps({key: body[:200].decode(errors="replace") for key, body in bodies.items()})
        )
    for key, server in running.items():
        if server.variant.platform and fetch(server.url)[0] != 401:
            raise BenchmarkFailure(f"{key} answered without a token")
    return len(json.loads(bodies["platform_direct"]))


# --- the load ------------------------------------------------------------------------------

_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b")
_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _latency_ms(output: str, percentile: str) -> float:
    found = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    return float(found.group(1)) * _UNITS[found.group(2)] * 1000 if found else float("nan")


def wrk(wrk_path: str, url: str, seconds: int, token: str | None) -> WrkRun:
    command = [wrk_path, f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*command, url], capture_output=True, text=True, check=False)
    output = done.stdout
    if done.returncode != 0 or not (found := _REQUESTS.search(output)):
        raise BenchmarkFailure(f"wrk failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if bad or errors:
        raise BenchmarkFailure(
            f"wrk on {url}: {bad.group(0) if bad else ''} {errors.group(0) if errors else ''}"
        )
    requests = int(found.group(1))
    elapsed = float(found.group(2)) * _UNITS[found.group(3)]
    return WrkRun(
        requests, elapsed, requests / elapsed, _latency_ms(output, "50"), _latency_ms(output, "99")
    )


def round_order(number: int) -> list[Variant]:
    """The variants of round ``number``: each platform variant next to its baseline, so the two
    meet the same moments of the machine's load; which pair goes first, and which of a pair,
    alternate over every four rounds."""
    by_key = {variant.key: variant for variant in VARIANTS}
    pairs = [(by_key[platform], by_key[raw]) for platform, raw, _name in PAIRS]
    if number % 2:
        pairs.reverse()
    return [v for pair in pairs for v in (pair if (number // 2) % 2 == 0 else pair[::-1])]


@dataclass
class Measured:
    tallies: dict[str, Tally]
    ratios: dict[str, list[float]]  # by platform variant: platform / raw, round by round
    units: int
    workers: int
    elapsed_s: float


def measure(wrk_path: str, running: dict[str, Server]) -> Measured:
    port = running["platform_direct"].port
    token, token_at = password_token(port), time.monotonic()
    units = check_answers(running, token)
    for server in running.values():  # warm-up: connections, caches, prepared statements
        wrk(wrk_path, server.url, WARMUP_S, token if server.variant.platform else None)
    tallies = {variant.key: Tally() for variant in VARIANTS}
    started = time.perf_counter()
    for number in range(ROUNDS):
        if time.monotonic() - token_at > TOKEN_RENEW_S:
            token, token_at = password_token(port), time.monotonic()
        for variant in round_order(number):
            server, tally = running[variant.key], tallies[variant.key]
            bouncer_before = bouncer_stats() if variant.pooled else None
            cpu_before = cpu_seconds(server.workers)
            run = wrk(wrk_path, server.url, ROUND_S, token if variant.platform else None)
            tally.worker_cpu_s += cpu_seconds(server.workers) - cpu_before
            if bouncer_before is not None:
                after = bouncer_stats()
                for counter in tally.bouncer:
                    tally.bouncer[counter] += after[counter] - bouncer_before[counter]
            tally.rps.append(run.rps)
            tally.requests += run.requests
            tally.p50_ms.append(run.p50_ms)
            tally.p99_ms.append(run.p99_ms)
    ratios = {
        platform: [
            100 * p / r for p, r in zip(tallies[platform].rps, tallies[raw].rps, strict=True)
        ]
        for platform, raw, _name in PAIRS
    }
    workers = len(running["platform_direct"].workers)
    return Measured(tallies, ratios, units, workers, time.perf_counter() - started)


# --- the benchmark -------------------------------------------------------------------------


def run(_db: BenchDatabase, outcome: BenchOutcome) -> None:
    wrk_path = shutil.which("wrk")
    if wrk_path is None:
        raise BenchmarkFailure("wrk is missing: `make bench` installs it (Debian's package wrk)")
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    with services(outcome) as urls:
        direct = sqlalchemy_url(urls["KENTRA_SERVICES_DATABASE_URL"]).set(database=DATABASE)
        pooled = sqlalchemy_url(urls["KENTRA_SERVICES_PGBOUNCER_URL"]).set(database=DATABASE)
        seed(direct)
        try:
            with servers(direct, pooled) as running:
                measured = measure(wrk_path, running)
        finally:
            _drop(direct)
    report(outcome, measured)


def _drop(url: URL) -> None:
    maintenance = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(maintenance.render_as_string(hide_password=False), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def _spread(values: list[float]) -> str:
    quartiles = statistics.quantiles(values, n=4)
    return (
        f"rounds' quartiles {quartiles[0]:.1f} … {quartiles[2]:.1f} %, "
        f"min … max {min(values):.1f} … {max(values):.1f} %"
    )


def report(outcome: BenchOutcome, measured: Measured) -> None:
    tallies = measured.tallies

    def median_rps(key: str) -> float:
        return statistics.median(tallies[key].rps)

    def cpu_us(key: str) -> float:
        return 1_000_000 * tallies[key].worker_cpu_s / tallies[key].requests

    outcome.details.update(
        {
            "units_listed": measured.units,
            "rps_by_round": {key: [round(v, 1) for v in t.rps] for key, t in tallies.items()},
            "ratio_by_round_pct": {k: [round(v, 1) for v in r] for k, r in measured.ratios.items()},
            "worker_cpu_us_per_request": {key: round(cpu_us(key), 1) for key in tallies},
            "latency_ms_p50_median": {
                key: round(statistics.median(t.p50_ms), 2) for key, t in tallies.items()
            },
            "latency_ms_p99_median": {
                key: round(statistics.median(t.p99_ms), 2) for key, t in tallies.items()
            },
            "pgbouncer_per_request": {
                key: {c: round(n / t.requests, 2) for c, n in t.bouncer.items()}
                for key, t in tallies.items()
                if t.bouncer["query"]
            },
        }
    )
    outcome.notes.append(
        f"GET {PATH} ({measured.units} units) with a bearer token from the embedded issuer's "
        f"password grant; gunicorn with infra/gunicorn.conf.py ({measured.workers} workers of "
        f"{_gunicorn_setting('threads')} thread(s)) per "
        f"server, wrk -t{WRK_THREADS} -c{CONNECTIONS} on loopback, {WARMUP_S} s of warm-up per "
        f"server, then {ROUNDS} rounds of {ROUND_S} s per variant, each platform variant next "
        "to its baseline, the order alternating "
        f"({measured.elapsed_s:.0f} s). Ratio: the platform's requests/s over the raw "
        "baseline's on the same path, round by round (median reported)."
    )
    for platform, _raw, name in PAIRS:
        ratios = measured.ratios[platform]
        outcome.add(
            Figure(
                f"b5.ratio_{platform.partition('_')[2]}",
                f"authenticated platform / raw baseline, requests/s, {name}",
                statistics.median(ratios),
                "%",
                target=TARGET_RATIO,
                comparison=">=",
                note=_spread(ratios),
            )
        )
    for variant in VARIANTS:
        outcome.add(
            Figure(
                f"b5.{variant.key}_rps",
                f"{variant.label}, requests/s (median of rounds)",
                median_rps(variant.key),
                "req/s",
                note=f"workers' CPU {cpu_us(variant.key):.0f} µs per request",
            )
        )
    outcome.add(
        Figure(
            "b5.pgbouncer_vs_direct",
            "platform through PgBouncer / platform direct, requests/s",
            100 * median_rps("platform_pgbouncer") / median_rps("platform_direct"),
            "%",
        )
    )
    for key in ("platform_pgbouncer", "raw_pgbouncer"):
        counts = tallies[key].bouncer
        if counts["query"]:
            outcome.add(
                Figure(
                    f"b5.{key}_statements",
                    f"statements per request as PgBouncer counts them, {key.split('_')[0]}",
                    counts["query"] / tallies[key].requests,
                    "statements",
                    note=f"{counts['xact'] / tallies[key].requests:.2f} transactions",
                )
            )
