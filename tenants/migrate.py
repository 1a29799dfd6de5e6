"""``kentra db upgrade`` and ``kentra db check``: both streams, every tenant, safely.

- Shared stream first (and the reference data), then every tenant schema.
- All tenant versions are read in one statement; schemas already at head are skipped without
  opening a migration transaction.
- Each pending schema migrates in its own transaction, under a per-tenant advisory lock (the
  same key as provisioning) with lock and statement timeouts, in ``--jobs`` worker processes
  (Alembic's ``op`` proxy is process-global, so workers are processes, not threads).
- A failure is reported per tenant and does not stop the others; the run is re-runnable.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    column,
    func,
    literal,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema

from kentra.platform.core.database import (
    forget_inherited_connections,
    make_engine,
    prepare_threshold_of,
)
from kentra.platform.core.models import SHARED_SCHEMA
from kentra.tenants.binding import set_local_search_path
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.streams import (
    SHARED,
    TENANT,
    VERSION_TABLE,
    Stream,
    load_stream,
    only_unqualified_tables,
    shared_metadata,
    unqualified_tenant_metadata,
)

# Advisory-lock namespaces (first key of pg_advisory_xact_lock(int, int)).
LOCK_NAMESPACE_TENANT = 0x4B54  # per tenant: second key is the municipality code
LOCK_NAMESPACE_SHARED = 0x4B53
DRIFT_CHECK_SCHEMA = "kentra_drift_check"


class UnknownTenantFilter(ValueError):
    """``--tenant`` named a municipality that has no tenant schema."""


@dataclass
class SchemaResult:
    code: str
    schema: str
    outcome: str  # "migrated", "skipped" or "failed"
    from_revision: str | None = None
    to_revision: str | None = None
    error: str | None = None
    duration_ms: float = 0.0


@dataclass
class UpgradeReport:
    shared_from: str | None
    shared_to: str
    shared_data_loaded: bool  # a step of tenants.steps wrote (reference data, initial policy)
    tenant_head: str
    tenants: list[SchemaResult] = field(default_factory=list)
    duration_ms: float = 0.0

    @property
    def failed(self) -> list[SchemaResult]:
        return [r for r in self.tenants if r.outcome == "failed"]

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.tenants if r.outcome == outcome)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = {o: self.count(o) for o in ("migrated", "skipped", "failed")}
        return data


@dataclass(frozen=True)
class Timeouts:
    lock: str = "10s"
    statement: str = "10min"


def _set_timeouts(conn: Connection, timeouts: Timeouts) -> None:
    conn.execute(select(func.set_config("lock_timeout", timeouts.lock, True)))
    conn.execute(select(func.set_config("statement_timeout", timeouts.statement, True)))


def _run_stream(
    conn: Connection, stream: Stream, *, version_table_schema: str, destination: str
) -> None:
    """Run the stream's upgrade inside the connection's current transaction."""

    def upgrade(revision: Any, _context: MigrationContext) -> Any:
        return stream.script._upgrade_revs(destination, revision)

    with EnvironmentContext(
        stream.config, stream.script, fn=upgrade, destination_rev=destination
    ) as env:
        env.configure(
            connection=conn,
            version_table=VERSION_TABLE,
            version_table_schema=version_table_schema,
            transactional_ddl=True,
        )
        env.run_migrations()


def current_revision(conn: Connection, version_table_schema: str) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table_schema": version_table_schema})
    heads = context.get_current_heads()
    return heads[0] if heads else None


# --- shared stream --------------------------------------------------------------------------


def upgrade_shared(engine: Engine, stream: Stream, timeouts: Timeouts) -> tuple[str | None, bool]:
    """Upgrade the shared schema and (re)load the shared data the modules installed (the
    reference data, the initial policy: tenants.steps); return (old revision, loaded?)."""
    from sqlalchemy.orm import Session  # noqa: PLC0415

    from kentra.tenants.steps import installed_steps  # noqa: PLC0415

    shared_data = installed_steps().shared_data  # before anything is changed
    with engine.connect() as conn, conn.begin():
        _set_timeouts(conn, timeouts)
        conn.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE_SHARED, 0)))
        conn.execute(CreateSchema(SHARED_SCHEMA, if_not_exists=True))
        before = current_revision(conn, SHARED_SCHEMA)
        if before != stream.head:
            _run_stream(conn, stream, version_table_schema=SHARED_SCHEMA, destination="heads")
        with Session(bind=conn) as session:
            loaded = [load(session) for load in shared_data]
    return before, any(loaded)


# --- tenant stream --------------------------------------------------------------------------


def tenant_versions(conn: Connection, codes: Sequence[MunicipalityCode]) -> dict[str, str | None]:
    """Each tenant's current revision in one round trip (None: no version table or no row)."""
    if not codes:
        return {}
    schemas = [c.schema_name for c in codes]
    with_table = set(
        conn.scalars(
            text(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = :table AND n.nspname = ANY(:schemas)"
            ),
            {"table": VERSION_TABLE, "schemas": schemas},
        )
    )
    versions: dict[str, str | None] = {c.value: None for c in codes}
    selects: list[Select[Any, Any]] = [
        select(literal(c.value).label("code"), column("version_num")).select_from(
            table(VERSION_TABLE, column("version_num"), schema=c.schema_name)
        )
        for c in codes
        if c.schema_name in with_table
    ]
    if selects:
        for code, version in conn.execute(union_all(*selects)):
            versions[code] = version
    return versions


def migrate_tenant_schema(
    engine: Engine, stream: Stream, code: MunicipalityCode, timeouts: Timeouts
) -> SchemaResult:
    """Bring one tenant schema to the stream's head, in one transaction. Never raises."""
    started = time.perf_counter()
    result = SchemaResult(code=code.value, schema=code.schema_name, outcome="skipped")
    try:
        with engine.connect() as conn, conn.begin():
            _set_timeouts(conn, timeouts)
            conn.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE_TENANT, code.number)))
            set_local_search_path(conn, code)
            result.from_revision = current_revision(conn, code.schema_name)
            if result.from_revision != stream.head:
                _run_stream(
                    conn, stream, version_table_schema=code.schema_name, destination="heads"
                )
                result.outcome = "migrated"
            result.to_revision = stream.head
    except Exception as exc:  # noqa: BLE001 - one tenant's failure must not stop the others
        result.outcome = "failed"
        result.to_revision = None
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result.error = f"{type(exc).__name__}: {first_line}"[:500]
    result.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return result


# Worker-process state (set by the pool initializer).
_worker: dict[str, Any] = {}


def _worker_init(
    url: str, extra_locations: Sequence[str], timeouts: Timeouts, prepare_threshold: int | None
) -> None:
    forget_inherited_connections()
    _worker["engine"] = make_engine(
        make_url(url), pool_size=1, max_overflow=0, prepare_threshold=prepare_threshold
    )
    _worker["stream"] = load_stream(TENANT, [Path(p) for p in extra_locations])
    _worker["timeouts"] = timeouts


def _worker_migrate(code: str) -> SchemaResult:
    return migrate_tenant_schema(
        _worker["engine"], _worker["stream"], parse_municipality_code(code), _worker["timeouts"]
    )


def registered_tenant_codes(conn: Connection, only: Iterable[str] = ()) -> list[MunicipalityCode]:
    """Tenants that have a schema (every status but ``requested``), optionally a subset."""
    wanted = {parse_municipality_code(c).value for c in only}
    rows = list(
        conn.scalars(
            select(Tenant.code).where(Tenant.status != TenantStatus.REQUESTED).order_by(Tenant.code)
        )
    )
    unknown = sorted(wanted - set(rows))
    if unknown:
        raise UnknownTenantFilter(f"no tenant schema for {', '.join(unknown)}")
    return [parse_municipality_code(c) for c in rows if not wanted or c in wanted]


def upgrade_all(
    engine: Engine,
    *,
    jobs: int = 1,
    only: Iterable[str] = (),
    timeouts: Timeouts | None = None,
    extra_tenant_locations: Sequence[Path] = (),
) -> UpgradeReport:
    """Upgrade the shared stream, then every tenant schema not at head."""
    started = time.perf_counter()
    timeouts = timeouts or Timeouts()
    shared_stream = load_stream(SHARED)
    tenant_stream = load_stream(TENANT, extra_tenant_locations)
    shared_before, loaded = upgrade_shared(engine, shared_stream, timeouts)
    report = UpgradeReport(
        shared_from=shared_before,
        shared_to=shared_stream.head,
        shared_data_loaded=loaded,
        tenant_head=tenant_stream.head,
    )
    with engine.connect() as conn:
        codes = registered_tenant_codes(conn, only)
        versions = tenant_versions(conn, codes)
    pending = []
    for code in codes:
        if versions[code.value] == tenant_stream.head:
            report.tenants.append(
                SchemaResult(
                    code.value, code.schema_name, "skipped", tenant_stream.head, tenant_stream.head
                )
            )
        else:
            pending.append(code)

    if pending and jobs > 1:
        url = engine.url.render_as_string(hide_password=False)
        locations = [str(p) for p in extra_tenant_locations]
        with ProcessPoolExecutor(
            max_workers=min(jobs, len(pending)),
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_init,
            initargs=(url, locations, timeouts, prepare_threshold_of(engine)),
        ) as pool:
            report.tenants.extend(pool.map(_worker_migrate, [c.value for c in pending]))
    else:
        report.tenants.extend(
            migrate_tenant_schema(engine, tenant_stream, c, timeouts) for c in pending
        )
    report.tenants.sort(key=lambda r: r.code)
    report.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return report


# --- drift check ----------------------------------------------------------------------------


def check_drift(engine: Engine, *, tenant_stream: Stream | None = None) -> list[str]:
    """Differences between the models and what the migrations build; empty when in step.

    The shared schema is compared as it is in the database (run ``db upgrade`` first). The
    tenant stream is run from empty into a scratch schema inside a transaction that is rolled
    back, so the check leaves nothing behind.
    """
    tenant_stream = tenant_stream or load_stream(TENANT)
    shared_stream = load_stream(SHARED)
    differences: list[str] = []
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            if current_revision(conn, SHARED_SCHEMA) != shared_stream.head:
                # Comparing against a schema that is not there would only produce noise.
                return [
                    f"shared schema is not at head {shared_stream.head}: run `kentra db upgrade` first"
                ]
            shared_context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": True,
                    "include_name": _only_schema(SHARED_SCHEMA),
                    "version_table_schema": SHARED_SCHEMA,
                },
            )
            differences += [
                f"shared: {d}" for d in compare_metadata(shared_context, shared_metadata())
            ]

            conn.execute(CreateSchema(DRIFT_CHECK_SCHEMA))
            conn.execute(select(func.set_config("search_path", DRIFT_CHECK_SCHEMA, True)))
            _run_stream(
                conn, tenant_stream, version_table_schema=DRIFT_CHECK_SCHEMA, destination="heads"
            )
            tenant_context = MigrationContext.configure(
                conn,
                opts={
                    "include_schemas": False,
                    "include_object": only_unqualified_tables,
                    # Unqualified, like the tables, so autogenerate recognises its own table.
                    "version_table_schema": None,
                },
            )
            differences += [
                f"tenant: {d}"
                for d in compare_metadata(tenant_context, unqualified_tenant_metadata())
            ]
        finally:
            trans.rollback()
    return differences


def _only_schema(schema: str) -> Any:
    def include(name: str | None, type_: str, _parent: Any) -> bool:
        return type_ != "schema" or name == schema

    return include
