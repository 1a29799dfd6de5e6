"""B1: provisioning one tenant, against the raw DDL of the same tables over plain psycopg.

The raw baseline (judged) is the floor the database sets: the tenant schema's own DDL exactly as
provisioning sends it (schema, tables, indexes, version table and stamp; tenants/ddl.py), one
statement per round trip over plain psycopg, in one transaction per schema. The model tables
alone (no version table) are also timed, for information. Provisioning does the DDL plus its own
work (advisory lock, registry lookup and row, seeded defaults, audit entries), through SQLAlchemy. The two loops are interleaved (one tenant, one raw schema, ...) so
that load from other processes on the machine falls on both alike.
"""

from __future__ import annotations

import re
import time

import psycopg
from psycopg import sql
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.ddl import tenant_schema_statements
from kentra.tenants.provisioning import create_tenant
from kentra.tenants.streams import TENANT, load_stream, tenant_metadata
from tests.benchmarks.database import BenchDatabase
from tests.benchmarks.results import BenchOutcome, Figure, elapsed_ms, p50, p95, rounded

TENANTS = 50
WARMUP = 3
TARGET_RATIO = 1.5

# SQLAlchemy renders schema names as __[SCHEMA_<name>] tokens when a schema_translate_map is
# given at compile time; the tokens are filled in per schema, after compiling only once.
_SCHEMA_TOKEN = re.compile(r"__\[SCHEMA_([A-Za-z0-9_]+)\]")
_RAW_SCHEMA = re.compile(r"raw_[0-9]{4}")


def compile_tenant_ddl() -> list[str]:
    """CREATE TABLE and CREATE INDEX for every tenant table, in dependency order."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    translate = {TENANT_SCHEMA: TENANT_SCHEMA}
    statements: list[str] = []
    for table in tenant_metadata().sorted_tables:
        statements.append(
            str(CreateTable(table).compile(dialect=dialect, schema_translate_map=translate))
        )
        statements.extend(
            str(CreateIndex(index).compile(dialect=dialect, schema_translate_map=translate))
            for index in sorted(table.indexes, key=lambda i: str(i.name))
        )
    return statements


def raw_schema_name(number: int) -> str:
    """``raw_0001`` ...: raw schema names come only from this fixed prefix and a counter."""
    name = f"raw_{number:04d}"
    assert _RAW_SCHEMA.fullmatch(name), name
    return name


def render_ddl(statements: list[str], schema: str) -> list[bytes]:
    """The compiled statements with the placeholder schema replaced by ``schema``."""
    assert _RAW_SCHEMA.fullmatch(schema), schema

    def name(match: re.Match[str]) -> str:
        return schema if match.group(1) == TENANT_SCHEMA else match.group(1)

    return [_SCHEMA_TOKEN.sub(name, statement).encode() for statement in statements]


def time_raw_ddl(conn: psycopg.Connection[object], schema: str, statements: list[str]) -> float:
    ddl = render_ddl(statements, schema)
    started = time.perf_counter()
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for statement in ddl:
            conn.execute(statement)
    return elapsed_ms(started)


def time_provisioning(db: BenchDatabase, code: str) -> float:
    started = time.perf_counter()
    result = create_tenant(db.engine, code, actor="bench")
    duration = elapsed_ms(started)
    assert result.created, f"tenant {code} already existed in a fresh database"
    return duration


def time_tenant_ddl(conn: psycopg.Connection[object], statements: list[str]) -> float:
    """The tenant schema's own DDL, as provisioning runs it, one statement per round trip."""
    started = time.perf_counter()
    with conn.transaction():
        for statement in statements:
            conn.execute(statement.encode())
    return elapsed_ms(started)


def run(db: BenchDatabase, outcome: BenchOutcome) -> None:
    """Provision WARMUP + TENANTS tenants and as many raw schemas; the warm-ups are not counted."""
    codes = db.municipality_codes()[: WARMUP + TENANTS]
    statements = compile_tenant_ddl()
    head = load_stream(TENANT).head
    provisioning: list[float] = []
    raw: list[float] = []
    tables_only: list[float] = []
    with psycopg.connect(db.conninfo, autocommit=True) as conn:
        for number, code in enumerate(codes, start=1):
            provision_ms = time_provisioning(db, code)
            # Schemas m_9001… : codes outside the reference data, so never a real tenant's.
            raw_code = parse_municipality_code(f"{9000 + number:04d}")
            raw_ms = time_tenant_ddl(
                conn, tenant_schema_statements(db.engine.dialect, raw_code, head)
            )
            tables_ms = time_raw_ddl(conn, raw_schema_name(number), statements)
            if number > WARMUP:
                provisioning.append(provision_ms)
                raw.append(raw_ms)
                tables_only.append(tables_ms)
    assert len(provisioning) == TENANTS, f"only {len(provisioning)} tenants were measured"

    outcome.notes.append(
        f"{WARMUP} warm-up iterations of each (first-call imports, compilation, connection setup) "
        f"are run first and excluded; then {TENANTS} of each, interleaved. Raw DDL (judged): "
        "the tenant schema's DDL exactly as provisioning sends it (schema, tables, indexes, "
        "Alembic version table and stamp; tenants/ddl.py), one statement per round trip over "
        f"psycopg. Tables-only DDL (info): the {len(statements)} model-table statements alone."
    )
    outcome.add(
        Figure("b1.provision_p50_ms", "provisioning p50 per tenant", p50(provisioning), "ms")
    )
    outcome.add(
        Figure("b1.provision_p95_ms", "provisioning p95 per tenant", p95(provisioning), "ms")
    )
    outcome.add(Figure("b1.raw_p50_ms", "raw DDL (psycopg) p50 per schema", p50(raw), "ms"))
    outcome.add(Figure("b1.raw_p95_ms", "raw DDL (psycopg) p95 per schema", p95(raw), "ms"))
    outcome.add(
        Figure("b1.tables_only_p95_ms", "tables-only DDL (psycopg) p95", p95(tables_only), "ms")
    )
    outcome.add(
        Figure(
            "b1.tables_only_p95_ratio",
            "provisioning p95 / tables-only DDL p95",
            p95(provisioning) / p95(tables_only),
            "x",
            note="information: the model tables without the version table and stamp",
        )
    )
    outcome.add(
        Figure(
            "b1.p95_ratio",
            "provisioning p95 / raw DDL p95",
            p95(provisioning) / p95(raw),
            "x",
            target=TARGET_RATIO,
            note=f"target: provisioning p95 ≤ {TARGET_RATIO} x raw p95 "
            f"= {TARGET_RATIO * p95(raw):.1f} ms",
        )
    )
    outcome.details.update(
        tenants=TENANTS,
        warmup=WARMUP,
        raw_statements=len(statements),
        provisioning_ms=rounded(provisioning),
        raw_ms=rounded(raw),
        tables_only_ms=rounded(tables_only),
    )
