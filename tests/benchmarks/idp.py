"""Keycloak beside the embedded issuer: validating their access tokens, Keycloak's start to
ready, and the import of the realm export.

The bench runs a Keycloak of its own: ``infra/dev/keycloak.sh`` with its state under
var/bench/keycloak (``KENTRA_SERVICES_DIR``) on two free loopback ports, so a developer's
Keycloak (``make keycloak``, 8180) is never stopped, restarted or written to. The release comes
as for ``make keycloak`` (Maven Central through ~/.m2, checksum verified); the first bench run
on a machine unpacks it and runs the Quarkus build once, which no figure counts (the note says
when it happened). A Keycloak that cannot start is this benchmark's error.

1. First start on an empty database: Keycloak's H2 files are removed and ``keycloak.sh start``
   runs ``kc.sh start --optimized`` (built beforehand), which creates its schema and imports the
   development realm (``--import-realm``).
2. A restart on that database: ``keycloak.sh stop``, then ``start`` again; the realm exists, the
   import is skipped.
   Both timed by the bench from the JVM's launch (keycloak.sh writes its pid file right after)
   until its own poll of /health/ready (every POLL_S) first sees UP. The first start's realm
   import is also read from Keycloak's log ("Full importing from file" to "Realm 'kentra'
   imported"), as keycloak.sh reports it.
3. Tokens: the demo users (auth/issuer/demo.py) seeded in this Keycloak through the adapter and
   in the embedded issuer on the bench database; one password grant for kentra-cli at each for
   TOKEN_USER (organization, unit group and profession: the richest claims). The platform's
   TokenValidator checks each with a warm JWKS (Keycloak's over HTTP, the embedded issuer's in
   process), without the token cache and as cache hits: the four interleaved check by check,
   the order rotating, B3's number of checks each.
4. The realm import through the admin API: the file the first start imported, under a scratch
   realm name, ``POST /admin/realms`` (the admin console's "Create realm" from a file: the same
   full import), timed from the request to the answer, then deleted; IMPORTS rounds.
5. ``keycloak.sh stop``, also after a failure.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import requests

from kentra.auth.claims import CLI_CLIENT, PROVISIONING_CLIENT, REALM
from kentra.auth.issuer.demo import DEMO_USERS, seed_demo_users
from kentra.auth.issuer.server import embedded_issuer
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.principal import Principal
from kentra.auth.tokens import DEFAULT_CACHE_SIZE, HttpJwks, JwksCache, TokenValidator
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from tests.benchmarks.auth import VALIDATIONS, cpu_pressure_total_us
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchmarkFailure, BenchOutcome, Figure, p50, p95, rounded
from tests.benchmarks.web import free_port
from tests.keycloak.dev_realm import DEV_REALM

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KEYCLOAK_SH = PROJECT_ROOT / "infra" / "dev" / "keycloak.sh"
STATE_DIR = PROJECT_ROOT / "var" / "bench"  # keycloak.sh keeps its state in <this>/keycloak
POLL_S = 0.05
IMPORTS = 5
TOKEN_USER = "staff-4501"
ISSUERS = ("keycloak", "embedded")
VARIANTS = tuple((issuer, cached) for issuer in ISSUERS for cached in (False, True))
IMPORT_STARTED = re.compile(r"Full importing from file .*realm-kentra\.json")
IMPORT_DONE = re.compile(r"Realm '[^']+' imported")
LOG_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} (\d{2}):(\d{2}):(\d{2}),(\d{3}) ")
# keycloak.sh's line when it unpacked and built the release before starting it.
BUILT_LINE = re.compile(r"^keycloak\s+built \(.*\) in ([0-9.]+) s", re.MULTILINE)
STARTED_IN = re.compile(r"\bstarted in ([0-9.]+)s\.")


@dataclass(frozen=True)
class Instance:
    """The bench's Keycloak: infra/dev/keycloak.sh with its own state directory and ports."""

    http_port: int
    management_port: int
    admin_password: str  # the master realm's bootstrap admin, new with every empty database
    admin_user: str = "admin"
    state_dir: Path = STATE_DIR
    script: Path = KEYCLOAK_SH

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "keycloak"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def issuer(self) -> str:
        return f"{self.url}/realms/{REALM}"

    @property
    def pid_file(self) -> Path:
        return self.run_dir / "keycloak.pid"

    @property
    def log(self) -> Path:
        return self.run_dir / "keycloak.log"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KENTRA_SERVICES_DIR": str(self.state_dir),
            "KENTRA_KEYCLOAK_HTTP_PORT": str(self.http_port),
            "KENTRA_KEYCLOAK_MANAGEMENT_PORT": str(self.management_port),
            "KENTRA_KEYCLOAK_BOOTSTRAP_ADMIN": self.admin_user,
            "KENTRA_KEYCLOAK_BOOTSTRAP_PASSWORD": self.admin_password,
        }

    def provisioning_secret(self) -> str:
        secret: str = DEV_REALM.client_secrets(self.env())[PROVISIONING_CLIENT]
        return secret

    def ready(self) -> bool:
        url = f"http://127.0.0.1:{self.management_port}/health/ready"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return b'"UP"' in response.read()
        except (OSError, urllib.error.URLError):
            return False

    def forget_database(self) -> None:
        """Remove Keycloak's database (the next start creates it and imports the realm)."""
        for home in self.run_dir.glob("keycloak-*"):
            shutil.rmtree(home / "data" / "h2", ignore_errors=True)
            (home / "data" / ".kentra-imported").unlink(missing_ok=True)

    def stop(self) -> float:
        """``keycloak.sh stop`` (nothing happens when it does not run); its seconds."""
        started = time.perf_counter()
        result = subprocess.run(
            [str(self.script), "stop"],
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BenchmarkFailure(f"keycloak.sh stop failed: {last_lines(result.stdout)}")
        return time.perf_counter() - started


@dataclass(frozen=True)
class Start:
    """One ``keycloak.sh start``."""

    ready_s: float  # the JVM's launch (the pid file) to the bench's first UP on /health/ready
    script_s: float  # the whole command, as a developer waits for it
    output: str  # keycloak.sh's own lines
    log: str  # Keycloak's log of this start
    # Share of the start-to-ready time some task waited for a CPU (PSI), if the kernel says:
    # on a shared machine the figure moves with it.
    cpu_wait_pct: float | None = None

    @property
    def built_s(self) -> float | None:
        """The Quarkus build's seconds when this start unpacked and built the release."""
        found = BUILT_LINE.search(self.output)
        return float(found.group(1)) if found else None

    @property
    def quarkus_s(self) -> float | None:
        """Quarkus's own "started in" (before the realm import and readiness)."""
        found = STARTED_IN.search(self.log)
        return float(found.group(1)) if found else None


def last_lines(text: str, count: int = 12) -> str:
    return " | ".join(text.strip().splitlines()[-count:])


def launched_at(pid_file: Path, since: float) -> float | None:
    """When keycloak.sh launched the JVM: its pid file's time, if written after ``since``."""
    try:
        written = pid_file.stat().st_mtime
    except OSError:
        return None
    return written if written >= since else None


def start(instance: Instance, output_path: Path) -> Start:
    """``keycloak.sh start``, polling alongside for the JVM's launch and readiness."""
    output_path.parent.mkdir(parents=True, exist_ok=True)
    begun = time.time()  # wall clock: compared with the pid file's time
    jvm_started: float | None = None
    ready_at: float | None = None
    pressure: list[int | None] = []  # PSI totals at the launch and at ready
    with output_path.open("w+b") as output:
        process = subprocess.Popen(
            [str(instance.script), "start"],
            cwd=PROJECT_ROOT,
            env=instance.env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        while True:
            finished = process.poll() is not None
            if jvm_started is None:
                jvm_started = launched_at(instance.pid_file, begun)
                if jvm_started is not None:
                    pressure.append(cpu_pressure_total_us())
            if jvm_started is not None and ready_at is None and instance.ready():
                ready_at = time.time()
                pressure.append(cpu_pressure_total_us())
            if finished:
                break
            time.sleep(POLL_S)
        script_s = time.time() - begun
        output.seek(0)
        text = output.read().decode("utf-8", errors="replace")
    if process.returncode != 0:
        raise BenchmarkFailure(
            f"infra/dev/keycloak.sh start failed (exit {process.returncode}): {last_lines(text)}"
        )
    if jvm_started is None or ready_at is None:
        raise BenchmarkFailure(f"keycloak.sh start: launch or readiness not seen: {text!r}")
    log = instance.log.read_text(encoding="utf-8", errors="replace")
    output_path.with_suffix(".log").write_text(log, encoding="utf-8")  # the next start replaces it
    ready_s = ready_at - jvm_started
    before, after = pressure
    waited = None if before is None or after is None else (after - before) / (ready_s * 1e4)
    return Start(ready_s, script_s, text, log, waited)


def log_seconds(line: str) -> float | None:
    found = LOG_TIME.match(line)
    if not found:
        return None
    hours, minutes, seconds, millis = (int(part) for part in found.groups())
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def startup_import_s(log: str) -> float | None:
    """The realm import's duration in a start's log, or None when no realm was imported."""
    begun = done = None
    for line in log.splitlines():
        if IMPORT_STARTED.search(line):
            begun = log_seconds(line)
        elif IMPORT_DONE.search(line):
            done = log_seconds(line)
    if begun is None or done is None:
        return None
    return (done - begun) % 86400  # across midnight


def password_form(username: str) -> dict[str, str]:
    """A password grant for kentra-cli, with the demo user's development password."""
    password = next(login.password for _spec, login in DEMO_USERS if login.username == username)
    return {
        "grant_type": "password",
        "client_id": CLI_CLIENT,
        "username": username,
        "password": password,
    }


def principal_fields(claims: Mapping[str, Any]) -> Principal:
    """What the platform decides with; the subject (each issuer's own id) left out."""
    return replace(Principal.from_claims(claims), subject="")


def validation_timings(
    validators: Mapping[tuple[str, bool], TokenValidator], tokens: Mapping[str, str], checks: int
) -> dict[tuple[str, bool], list[float]]:
    """µs per check of every variant, interleaved check by check with the order rotating, after
    one check each that warms the JWKS (and fills the cache where there is one)."""
    variants = list(validators)
    for issuer, cached in variants:
        validators[issuer, cached].validate(tokens[issuer])
    timings: dict[tuple[str, bool], list[float]] = {variant: [] for variant in variants}
    for number in range(checks):
        shift = number % len(variants)
        for issuer, cached in variants[shift:] + variants[:shift]:
            validator, token = validators[issuer, cached], tokens[issuer]
            started = time.perf_counter()
            validator.validate(token)
            timings[issuer, cached].append((time.perf_counter() - started) * 1_000_000)
    return timings


def master_token(instance: Instance) -> str:
    response = requests.post(
        f"{instance.url}/realms/master/protocol/openid-connect/token",
        data={
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": instance.admin_user,
            "password": instance.admin_password,
        },
        timeout=30,
    )
    if response.status_code != 200:
        raise BenchmarkFailure(f"the bootstrap admin's token: {response.status_code}")
    token: str = response.json()["access_token"]
    return token


@dataclass
class Imports:
    import_s: list[float] = field(default_factory=list)
    delete_s: list[float] = field(default_factory=list)


def admin_imports(instance: Instance, realm: Mapping[str, Any], rounds: int) -> Imports:
    """``rounds`` imports of ``realm`` under scratch names through the admin API, each deleted."""
    imports = Imports()
    for _ in range(rounds):
        name = f"kentra-bench-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {master_token(instance)}"}  # lives 60 s
        started = time.perf_counter()
        response = requests.post(
            f"{instance.url}/admin/realms",
            json={**realm, "realm": name},
            headers=headers,
            timeout=300,
        )
        imported = time.perf_counter() - started
        try:
            if response.status_code != 201:
                raise BenchmarkFailure(
                    f"POST /admin/realms answered {response.status_code}: {response.text[:300]}"
                )
            imports.import_s.append(imported)
        finally:
            started = time.perf_counter()
            deleted = requests.delete(
                f"{instance.url}/admin/realms/{name}", headers=headers, timeout=120
            )
            if deleted.status_code == 204:
                imports.delete_s.append(time.perf_counter() - started)
    return imports


@dataclass
class Measured:
    first: Start
    restart: Start
    stop_s: float  # the stop between the two starts
    imports: Imports
    timings: dict[tuple[str, bool], list[float]]
    token_bytes: dict[str, int]
    claims: dict[str, list[str]]  # the claim names of each issuer's token
    same_principal: bool
    seed_s: float  # the demo users seeded in Keycloak through the adapter


def measure(db: BenchDatabase, instance: Instance) -> Measured:
    """Everything of this benchmark that needs the running Keycloak (stopped by the caller)."""
    instance.stop()  # one left over by an interrupted run
    instance.forget_database()
    first = start(instance, STATE_DIR / "keycloak-start-first.out")
    if startup_import_s(first.log) is None:
        raise BenchmarkFailure("the first start on an empty database reports no realm import")
    stop_s = instance.stop()
    restart = start(instance, STATE_DIR / "keycloak-start-restart.out")

    settings = replace(
        Settings.from_env(),
        database_url=db.url_string,
        oidc_issuer=None,
        keycloak_server_url=None,
        log_level="WARNING",
    )
    started = time.perf_counter()
    seed_demo_users(
        db.engine, settings, KeycloakIdentityAdmin(instance.url, instance.provisioning_secret())
    )
    seed_s = time.perf_counter() - started
    app = create_app(settings)
    seed_demo_users(db.engine, settings)
    form = password_form(TOKEN_USER)
    embedded = app.test_client().post(
        f"{EMBEDDED_ISSUER_PATH}/protocol/openid-connect/token", data=form
    )
    keycloak = requests.post(
        f"{instance.issuer}/protocol/openid-connect/token", data=form, timeout=30
    )
    if (keycloak.status_code, embedded.status_code) != (200, 200):
        raise BenchmarkFailure(
            f"password grants for {TOKEN_USER}: Keycloak {keycloak.status_code}, "
            f"embedded issuer {embedded.status_code}"
        )
    tokens = {
        "keycloak": str(keycloak.json()["access_token"]),
        "embedded": str(embedded.get_json()["access_token"]),
    }
    jwks = {
        "keycloak": JwksCache(HttpJwks(f"{instance.issuer}/protocol/openid-connect/certs")),
        "embedded": JwksCache(embedded_issuer(app).jwks),
    }
    issuers = {"keycloak": instance.issuer, "embedded": settings.issuer}
    validators = {
        (issuer, cached): TokenValidator(
            issuers[issuer], jwks[issuer], cache_size=DEFAULT_CACHE_SIZE if cached else 0
        )
        for issuer, cached in VARIANTS
    }
    claims = {issuer: validators[issuer, False].validate(tokens[issuer]) for issuer in ISSUERS}
    timings = validation_timings(validators, tokens, VALIDATIONS)

    realm = json.loads(next(instance.run_dir.glob("keycloak-*/data/import/*.json")).read_text())
    imports = admin_imports(instance, realm, IMPORTS)
    return Measured(
        first=first,
        restart=restart,
        stop_s=stop_s,
        imports=imports,
        timings=timings,
        token_bytes={issuer: len(tokens[issuer].encode("ascii")) for issuer in ISSUERS},
        claims={issuer: sorted(claims[issuer]) for issuer in ISSUERS},
        same_principal=principal_fields(claims["keycloak"]) == principal_fields(claims["embedded"]),
        seed_s=seed_s,
    )


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    instance = Instance(free_port(), free_port(), secrets.token_urlsafe(18))
    try:
        measured = measure(db, instance)
    finally:
        instance.stop()
    report(outcome, measured)


def cpu_wait(start: Start) -> str:
    if start.cpu_wait_pct is None:
        return ""
    return f"CPU pressure during it: some task waited {start.cpu_wait_pct:.0f} % of the time (PSI)"


ISSUER_LABELS = {"keycloak": "Keycloak's token", "embedded": "the embedded issuer's token"}


def report(outcome: BenchOutcome, measured: Measured) -> None:
    """The figures, notes and details of one run."""
    first, restart, imports = measured.first, measured.restart, measured.imports
    startup_import = startup_import_s(first.log)
    timings = measured.timings
    outcome.details.update(
        {
            "first_start": {
                "ready_s": round(first.ready_s, 2),
                "keycloak_sh_start_s": round(first.script_s, 2),
                "built_s": first.built_s,
                "quarkus_started_in_s": first.quarkus_s,
                "cpu_wait_pct": first.cpu_wait_pct,
                "startup_import_s": startup_import,
            },
            "restart": {
                "stop_s": round(measured.stop_s, 2),
                "ready_s": round(restart.ready_s, 2),
                "keycloak_sh_start_s": round(restart.script_s, 2),
                "quarkus_started_in_s": restart.quarkus_s,
                "cpu_wait_pct": restart.cpu_wait_pct,
                "startup_import_s": startup_import_s(restart.log),
            },
            "admin_api_import_s": rounded(imports.import_s),
            "admin_api_delete_s": rounded(imports.delete_s),
            "demo_users_seeded_in_keycloak_s": round(measured.seed_s, 2),
            "token_bytes": measured.token_bytes,
            "token_claims": measured.claims,
            "same_principal": measured.same_principal,
            "validation_us": {
                f"{issuer}, {'cached' if cached else 'uncached'}": {
                    "p50": round(p50(values), 1),
                    "p95": round(p95(values), 1),
                    "checks": len(values),
                }
                for (issuer, cached), values in timings.items()
            },
        }
    )
    built = (
        f" This run unpacked and built the release first ({first.built_s:.0f} s of Quarkus "
        "build, before the JVM's launch: not counted)."
        if first.built_s is not None
        else ""
    )
    outcome.notes.append(
        "A Keycloak of the bench's own (infra/dev/keycloak.sh, state in var/bench/keycloak, free "
        "ports; a developer's Keycloak is not touched), kc.sh start --optimized on a build made "
        "once. Start to ready: from the JVM's launch to the bench's first UP on /health/ready "
        f"(polled every {POLL_S * 1000:.0f} ms); the whole keycloak.sh start took "
        f"{first.script_s:.1f} s and {restart.script_s:.1f} s (with its JDK check and the realm "
        "file). First start: on an empty H2 database, so it includes creating Keycloak's "
        "schema and importing the realm at start. Restart: keycloak.sh stop, then start on the "
        f"same database, the import skipped.{built} Tokens: a password grant for kentra-cli for "
        f"{TOKEN_USER} at each issuer ({', '.join(measured.claims['keycloak'])} from Keycloak), "
        f"validated by TokenValidator with a warm JWKS, {VALIDATIONS} checks per variant, the "
        "four variants interleaved check by check"
        + (
            "."
            if measured.same_principal
            else "; the two tokens did NOT give the same Principal (see the details)."
        )
    )
    for issuer in ISSUERS:
        for cached in (False, True):
            values = timings[issuer, cached]
            kind = "a hit of the token cache" if cached else "without the token cache"
            for name, value in (("p50", p50(values)), ("p95", p95(values))):
                outcome.add(
                    Figure(
                        f"kc.validate_{issuer}{'_cached' if cached else ''}_{name}_us",
                        f"{ISSUER_LABELS[issuer]} validated, {kind}, {name} (warm JWKS)",
                        value,
                        "µs",
                    )
                )
    for issuer in ISSUERS:
        outcome.add(
            Figure(
                f"kc.token_bytes_{issuer}",
                f"{ISSUER_LABELS[issuer]} for {TOKEN_USER}, size",
                measured.token_bytes[issuer],
                "bytes",
                note=f"{len(measured.claims[issuer])} claims",
            )
        )
    outcome.add(
        Figure(
            "kc.first_start_ready_s",
            "Keycloak start to ready, first start (empty database, realm imported at start)",
            first.ready_s,
            "s",
            note=cpu_wait(first),
        )
    )
    outcome.add(
        Figure(
            "kc.restart_ready_s",
            "Keycloak start to ready, restart (realm already in the database)",
            restart.ready_s,
            "s",
            note=f"after keycloak.sh stop in {measured.stop_s:.1f} s"
            + (f"; {cpu_wait(restart)}" if restart.cpu_wait_pct is not None else ""),
        )
    )
    if startup_import is not None:  # measure() refuses a first start without one
        outcome.add(
            Figure(
                "kc.startup_import_s",
                "realm import during the first start (Keycloak's log)",
                startup_import,
                "s",
            )
        )
    outcome.add(
        Figure(
            "kc.admin_import_s",
            f"realm import through the admin API, a scratch copy (median of {IMPORTS})",
            statistics.median(imports.import_s),
            "s",
            note=", ".join(f"{value:.2f}" for value in imports.import_s) + " s",
        )
    )
