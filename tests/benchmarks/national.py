"""B2: national scale. All 332 municipalities in one database, then the two migrations of a deploy.

1. Provision every municipality of the reference table (``create_tenant``, one after another).
2. ``kentra db upgrade`` with everything at head: the real CLI in a subprocess (judged; it
   includes interpreter start and imports, as an operator sees it) and ``upgrade_all`` in-process.
3. An additive migration (a nullable column and an index on ``audit_log``, which holds rows in
   every tenant) written to a temporary directory and run over all tenants with ``jobs=2``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, column, func, insert, literal, select, table

from kentra.platform.audit.models import AuditEvent
from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.migrate import UpgradeReport, registered_tenant_codes, upgrade_all
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.provisioning import create_tenant
from kentra.tenants.streams import TENANT, load_stream
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

MUNICIPALITIES = 332
AUDIT_ROWS_PER_TENANT = 200
BENCH_REVISION = "bench_0002"
TARGET_PROVISION_ALL_S = 60.0
TARGET_NOOP_UPGRADE_S = 3.0
TARGET_ADDITIVE_S = 30.0

REVISION_TEMPLATE = '''"""benchmark: an additive change to audit_log (temporary, written by tests/benchmarks)"""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down_revision!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("bench_note", sa.Text(), nullable=True))
    op.create_index("ix_audit_log_bench_note", "audit_log", ["bench_note"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_bench_note", table_name="audit_log")
    op.drop_column("audit_log", "bench_note")
'''


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    db.recreate()
    db.upgrade_shared()
    provision_all(db, outcome)
    noop_upgrade_cli(db, outcome)
    noop_upgrade_in_process(db, outcome)
    seed_audit_rows(db, outcome)
    additive_migration(db, outcome)


def provision_all(db: BenchDatabase, outcome: BenchOutcome) -> None:
    codes = db.municipality_codes()
    per_tenant: list[float] = []
    started = time.perf_counter()
    for code in codes:
        tenant_started = time.perf_counter()
        create_tenant(db.engine, code, actor="bench")
        per_tenant.append(elapsed_ms(tenant_started))
    total = elapsed_s(started)
    with db.engine.connect() as conn:
        active = conn.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.status == TenantStatus.ACTIVE)
        )
    outcome.add(
        Figure(
            "b2.provision_all_s",
            f"provision all {len(codes)} municipalities",
            total,
            "s",
            target=TARGET_PROVISION_ALL_S,
        )
    )
    outcome.add(
        Figure(
            "b2.tenants_active",
            "tenants active afterwards",
            float(active or 0),
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )
    outcome.add(Figure("b2.provision_p50_ms", "per tenant p50", p50(per_tenant), "ms"))
    outcome.add(Figure("b2.provision_p95_ms", "per tenant p95", p95(per_tenant), "ms"))
    outcome.details["reference_municipalities"] = len(codes)


def kentra_executable() -> Path:
    return Path(sys.executable).with_name("kentra")


def noop_upgrade_cli(db: BenchDatabase, outcome: BenchOutcome) -> None:
    command = [str(kentra_executable()), "db", "upgrade", "--json"]
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=db.subprocess_env(), capture_output=True, text=True, timeout=300, check=False
    )
    wall = elapsed_s(started)
    if completed.returncode != 0:
        raise BenchmarkFailure(
            f"`kentra db upgrade --json` exited {completed.returncode}: {completed.stderr[-2000:]}"
        )
    report: dict[str, Any] = json.loads(completed.stdout)
    summary = report["summary"]
    outcome.add(
        Figure(
            "b2.noop_upgrade_cli_s",
            "`kentra db upgrade`, all at head (CLI wall time)",
            wall,
            "s",
            target=TARGET_NOOP_UPGRADE_S,
            note="subprocess wall time, including interpreter start and imports",
        )
    )
    outcome.add(
        Figure(
            "b2.noop_upgrade_cli_reported_s",
            "`kentra db upgrade`, all at head (as reported by the CLI)",
            report["duration_ms"] / 1000,
            "s",
        )
    )
    outcome.details["noop_upgrade_cli_summary"] = summary
    if summary["skipped"] != MUNICIPALITIES or summary["migrated"] or summary["failed"]:
        raise BenchmarkFailure(f"a no-op `kentra db upgrade` did not skip every tenant: {summary}")


def noop_upgrade_in_process(db: BenchDatabase, outcome: BenchOutcome) -> None:
    started = time.perf_counter()
    report = upgrade_all(db.engine, jobs=2)
    wall = elapsed_s(started)
    outcome.add(
        Figure(
            "b2.noop_upgrade_in_process_s",
            "`upgrade_all`, all at head (in-process)",
            wall,
            "s",
            note=f"target ≤ {TARGET_NOOP_UPGRADE_S:.0f} s is judged on the CLI figure",
        )
    )
    _check_report(report, "no-op upgrade_all", migrated=0, skipped=MUNICIPALITIES)


def seed_audit_rows(db: BenchDatabase, outcome: BenchOutcome) -> None:
    """AUDIT_ROWS_PER_TENANT rows in every tenant's audit_log: one INSERT ... SELECT per schema."""
    series = (
        func.generate_series(1, AUDIT_ROWS_PER_TENANT).table_valued("n").render_derived("series")
    )
    rows = select(
        func.now(),
        literal("bench"),
        literal("bench.seed"),
        literal("row"),
        cast(series.c.n, Text),
        func.jsonb_build_object(literal("n", Text), series.c.n),
    )
    statement = insert(AuditEvent).from_select(
        ["occurred_at", "actor", "action", "object_type", "object_id", "details"], rows
    )
    with db.engine.connect() as conn:
        codes = registered_tenant_codes(conn)
    started = time.perf_counter()
    with db.engine.connect() as conn:
        for code in codes:
            with conn.begin():
                bound = conn.execution_options(
                    schema_translate_map={TENANT_SCHEMA: code.schema_name}
                )
                bound.execute(statement)
    outcome.add(
        Figure(
            "b2.seed_audit_rows_s",
            f"insert {AUDIT_ROWS_PER_TENANT} audit_log rows into every tenant",
            elapsed_s(started),
            "s",
        )
    )


def write_revision(directory: Path) -> Path:
    down_revision = load_stream(TENANT).head
    path = directory / f"{BENCH_REVISION}_bench_note.py"
    path.write_text(
        REVISION_TEMPLATE.format(revision=BENCH_REVISION, down_revision=down_revision),
        encoding="utf-8",
    )
    return path


def additive_migration(db: BenchDatabase, outcome: BenchOutcome) -> None:
    with tempfile.TemporaryDirectory(prefix="kentra-bench-") as tmp:
        directory = Path(tmp)
        write_revision(directory)
        started = time.perf_counter()
        report = upgrade_all(db.engine, jobs=2, extra_tenant_locations=[directory])
        wall = elapsed_s(started)
    per_schema = [r.duration_ms for r in report.tenants if r.outcome == "migrated"]
    outcome.add(
        Figure(
            "b2.additive_migration_s",
            "additive migration over all tenants (jobs=2)",
            wall,
            "s",
            note=f"nullable column + index on audit_log holding {AUDIT_ROWS_PER_TENANT} rows per tenant",
            target=TARGET_ADDITIVE_S,
        )
    )
    outcome.add(
        Figure(
            "b2.additive_migrated",
            "tenant schemas migrated",
            report.count("migrated"),
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )
    outcome.add(
        Figure(
            "b2.additive_failed",
            "tenant schemas failed",
            report.count("failed"),
            "count",
            target=0,
            comparison="==",
        )
    )
    if per_schema:
        outcome.add(Figure("b2.additive_p50_ms", "per schema p50", p50(per_schema), "ms"))
        outcome.add(Figure("b2.additive_p95_ms", "per schema p95", p95(per_schema), "ms"))
    outcome.add(
        Figure(
            "b2.bench_note_columns",
            "schemas with the new column (catalogue check)",
            _count_bench_note_columns(db),
            "count",
            target=MUNICIPALITIES,
            comparison="==",
        )
    )
    _check_report(report, "additive migration", migrated=MUNICIPALITIES, skipped=0)


def _count_bench_note_columns(db: BenchDatabase) -> int:
    columns = table(
        "columns",
        column("table_schema"),
        column("table_name"),
        column("column_name"),
        schema="information_schema",
    )
    query = (
        select(func.count())
        .select_from(columns)
        .where(columns.c.table_name == "audit_log", columns.c.column_name == "bench_note")
    )
    with db.engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def _check_report(report: UpgradeReport, what: str, *, migrated: int, skipped: int) -> None:
    failed = report.failed
    if failed:
        first = "; ".join(f"{r.code}: {r.error}" for r in failed[:3])
        raise BenchmarkFailure(f"{what}: {len(failed)} tenant schema(s) failed ({first})")
    counts = (report.count("migrated"), report.count("skipped"))
    if counts != (migrated, skipped):
        raise BenchmarkFailure(
            f"{what}: expected {migrated} migrated and {skipped} skipped, got {counts}"
        )
