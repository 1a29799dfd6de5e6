"""B4: compliance at national scale. Every one of the 332 municipalities onboarded, each with a
centre (written through the ORM, so the session events fill ``shared.centre_compliance``):

1. the ministry's national overview, ``GET /api/v1/compliance`` through the Flask test client
   with a ministry token (judged: p95 ≤ 500 ms); the ``/compliance`` page alongside (info);
2. a policy change's full recompute through the task: a new version and its job, the task
   sent to a real Celery worker process on the bench database, timed from the send until the
   job is done (judged: ≤ 30 s); the same work in-process for information.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.app.factory import create_app
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.compliance.operations import recompute_tenant, today
from kentra.platform.core.config import Settings
from kentra.platform.policy.operations import INITIAL_PROFILES, create_policy_version
from kentra.platform.policy.recompute import create_recompute_job
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import PREMISES_ITEMS, Unit, UnitKind
from kentra.tasks.celery_app import celery, create_celery
from kentra.tasks.fanout import DISPATCH_TASK_NAME, run_here
from kentra.tasks.models import FanoutRun, RunStatus
from kentra.tenants.binding import tenant_session
from kentra.tenants.migrate import registered_tenant_codes
from kentra.tenants.provisioning import create_tenant
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import (
    BenchmarkFailure,
    BenchOutcome,
    Figure,
    elapsed_ms,
    elapsed_s,
    p50,
    p95,
)
from tests.tokens import TokenFactory
from tests.worker_support import WorkerDidNotStart, running_worker

MUNICIPALITIES = 332
WARMUP = 5
REQUESTS = 100
PAGE_REQUESTS = 30
TARGET_OVERVIEW_P95_MS = 500.0
TARGET_RECOMPUTE_S = 30.0
WORKER_START_TIMEOUT_S = 90.0
JOB_TIMEOUT_S = 300.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKER_LOG = PROJECT_ROOT / "var" / "bench" / "compliance-worker.log"
# Bands of the benchmark's policy change: 3 people from 10,000 (most centres change status).
BENCH_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (0, 9_999, 0),
    (10_000, 40_000, 3),
    (40_001, 100_000, 3),
    (100_001, None, 4),
)


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    settings = replace(Settings.from_env(), database_url=db.url_string, log_level="WARNING")
    onboard_all(db, outcome)
    seed_centres(db, outcome)
    overview(db, outcome, settings)
    recompute(db, outcome, settings)


def onboard_all(db: BenchDatabase, outcome: BenchOutcome) -> None:
    """B2 leaves the 332 tenants; provision any that are missing (B2 failed or was skipped)."""
    with db.engine.connect() as conn:
        existing = {code.value for code in registered_tenant_codes(conn)}
    missing = [code for code in db.municipality_codes() if code not in existing]
    for code in missing:
        create_tenant(db.engine, code, actor="bench")
    outcome.details["tenants_provisioned_here"] = len(missing)


def seed_centres(db: BenchDatabase, outcome: BenchOutcome) -> None:
    """A centre per municipality with a social-worker head, one more staff member and every
    premises item; the summary is recomputed in each tenant's transaction (as the session events
    did before ADR 0035, so that the figure stays comparable)."""
    with db.engine.connect() as conn:
        codes = registered_tenant_codes(conn)
    per_tenant: list[float] = []
    started = time.perf_counter()
    for code in codes:
        tenant_started = time.perf_counter()
        with tenant_session(db.engine, code) as session:
            centre = Unit(
                kind=UnitKind.CENTRE,
                centre="kk-bench",
                unit=None,
                name=f"Κέντρο Κοινότητας {code.value}",
                **dict.fromkeys(PREMISES_ITEMS, True),
            )
            session.add(centre)
            session.flush()
            for profile, head in (("social_worker", True), ("psychologist", False)):
                session.add(
                    StaffMember(
                        unit_id=centre.id,
                        full_name="Bench",
                        email="bench@example.invalid",
                        profile_code=profile,
                        start_date=today() - timedelta(days=30),
                        fte=Decimal("1.00"),
                        is_head=head,
                    )
                )
            session.flush()
            recompute_tenant(session, code.value)
        per_tenant.append(elapsed_ms(tenant_started))
    total = elapsed_s(started)
    rows = _summary_rows(db)
    outcome.add(
        Figure(
            "b4.seed_centres_s",
            f"a centre and 2 staff in each of {len(codes)} municipalities (events included)",
            total,
            "s",
        )
    )
    outcome.add(
        Figure("b4.seed_p95_ms", "per municipality p95 (one transaction)", p95(per_tenant), "ms")
    )
    outcome.add(
        Figure(
            "b4.summary_rows",
            "rows in shared.centre_compliance",
            rows,
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )


def _summary_rows(db: BenchDatabase) -> int:
    with db.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(CentreCompliance)) or 0)


def timed_gets(client: FlaskClient, url: str, headers: dict[str, str], times: int) -> list[float]:
    """``times`` GETs of ``url``, each read whole and timed in ms; every one must answer 200."""
    timings = []
    for _ in range(times):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        response.get_data()
        timings.append(elapsed_ms(started))
        assert response.status_code == 200
    return timings


def overview(db: BenchDatabase, outcome: BenchOutcome, settings: Settings) -> None:
    tokens = TokenFactory(issuer=settings.issuer)
    app = create_app(settings, jwks=tokens.jwks)
    client = app.test_client()
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    first = client.get("/api/v1/compliance", headers=headers)
    if first.status_code != 200:
        raise BenchmarkFailure(f"GET /api/v1/compliance answered {first.status_code}")
    centres = first.get_json()["counts"]["total"]  # the first page holds 50 (ADR 0040)
    for _ in range(WARMUP):
        client.get("/api/v1/compliance", headers=headers)
    timings = timed_gets(client, "/api/v1/compliance", headers, REQUESTS)
    page_timings = timed_gets(client, "/compliance", headers, PAGE_REQUESTS)
    outcome.notes.append(
        f"Overview: {WARMUP} warm-up requests, then {REQUESTS} GET /api/v1/compliance with a "
        f"ministry token through the Flask test client (in-process, token validated each "
        f"time); {PAGE_REQUESTS} GET /compliance (the server-rendered page)."
    )
    outcome.add(
        Figure(
            "b4.overview_centres",
            "centres in the national overview",
            centres,
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )
    outcome.add(Figure("b4.overview_p50_ms", "national overview (API) p50", p50(timings), "ms"))
    outcome.add(
        Figure(
            "b4.overview_p95_ms",
            "national overview (API) p95",
            p95(timings),
            "ms",
            target=TARGET_OVERVIEW_P95_MS,
        )
    )
    outcome.add(
        Figure("b4.overview_page_p95_ms", "overview page (HTML) p95", p95(page_timings), "ms")
    )


def _new_job(db: BenchDatabase, days_ahead: int) -> tuple[int, int]:
    """A new policy version (from today: it is in force at once) and its queued job."""
    with Session(db.engine) as session, session.begin():
        version = create_policy_version(
            session,
            valid_from=today() + timedelta(days=days_ahead),
            note="benchmark",
            head_profile_code="social_worker",
            bands=BENCH_BANDS,
            profiles=INITIAL_PROFILES,
            actor="bench",
            today=today(),
        )
        # The dispatch is sent by hand below, once the worker is up (timed from there).
        job = create_recompute_job(session, policy_version_id=version.id, actor="bench", send=False)
        return version.id, job.id


@contextmanager
def _worker(db: BenchDatabase) -> Iterator[None]:
    """The Celery worker (solo pool) on the benchmark's database for the block."""
    try:
        with running_worker(
            ("--pool", "solo"),
            hostname=f"bench-{os.getpid()}@%h",
            log=WORKER_LOG,
            cwd=PROJECT_ROOT,
            env=db.subprocess_env(),
            timeout=WORKER_START_TIMEOUT_S,
        ):
            yield
    except WorkerDidNotStart as failed:
        raise BenchmarkFailure(str(failed)) from failed


def _wait_for(db: BenchDatabase, job_id: int) -> FanoutRun:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while True:
        with Session(db.engine, expire_on_commit=False) as session:
            job = session.get_one(FanoutRun, job_id)
        if job.finished_at is not None:
            return job
        if time.monotonic() > deadline:
            raise BenchmarkFailure(f"recompute job {job_id} did not finish: {job.status}")
        time.sleep(0.05)


def recompute(db: BenchDatabase, outcome: BenchOutcome, settings: Settings) -> None:
    version_id, job_id = _new_job(db, 0)
    app = create_celery(settings)
    with _worker(db):
        started = time.perf_counter()
        app.send_task(DISPATCH_TASK_NAME, args=(job_id,))
        job = _wait_for(db, job_id)
        wall = elapsed_s(started)
    with Session(db.engine) as session:
        updated = session.scalar(
            select(func.count())
            .select_from(CentreCompliance)
            .where(CentreCompliance.policy_version_id == version_id)
        )
    outcome.add(
        Figure(
            "b4.recompute_worker_s",
            "policy change: full recompute through the worker (fan-out: send → run finished)",
            wall,
            "s",
            target=TARGET_RECOMPUTE_S,
            note="includes the broker's polling (kombu's SQLAlchemy transport polls each second)"
            if settings.broker_url is None
            else "",
        )
    )
    outcome.add(
        Figure(
            "b4.recompute_done",
            "job done == total",
            float(job.done),
            "count",
            target=float(job.total),
            comparison="==",
        )
    )
    outcome.add(
        Figure(
            "b4.recompute_rows",
            "summary rows recomputed under the new version",
            float(updated or 0),
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )
    # The same work in-process (no broker, no worker start): the floor of the task's cost.
    _version, second = _new_job(db, 1)
    started = time.perf_counter()
    # The tenant tasks take their engine from the Celery app's settings: the bench database's
    # here (the process's own environment names another).
    with mock.patch.object(celery, "_kentra_settings", settings):
        result = run_here(db.engine, second)
    outcome.add(
        Figure(
            "b4.recompute_in_process_s",
            "the same recompute in-process (information)",
            elapsed_s(started),
            "s",
            note=f"{result.done} of {result.total} municipalities",
        )
    )
    if job.status is not RunStatus.DONE:
        raise BenchmarkFailure(f"recompute run ended {job.status}: {job.failed} failed")
