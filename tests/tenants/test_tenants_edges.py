"""Edges of tenants/: CLI text output, revisions from the CLI, the DDL script's invariants, a
schema migrated by another run meanwhile, the identity step's compensation, and reads by the
driver in and outside a tenant session's transaction."""

from __future__ import annotations

import os
from collections.abc import Callable

import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Table,
    bindparam,
    func,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.issuer.models import IdentityOrganization
from kentra.platform.app.cli import main
from kentra.platform.audit.models import AuditEvent
from kentra.platform.core.config import Settings
from kentra.platform.core.database import (
    autocommit_twin,
    database_unavailable,
    recreate_database,
    sibling_database_url,
)
from kentra.platform.core.models import TENANT_SCHEMA
from kentra.platform.units.models import Unit
from kentra.tenants import ddl, provisioning, steps
from kentra.tenants.binding import UnqualifiedTable, open_tenant_session, read_rows
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.migrate import Timeouts, migrate_tenant_schema, tenant_versions, upgrade_all
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.provisioning import create_tenant
from kentra.tenants.streams import load_stream
from tests.conftest import tenant_schemas
from tests.helpers import failing_step

Scratch = Callable[..., list[MunicipalityCode]]


def test_cli_create_prints_the_new_tenant(scratch_tenants: Scratch) -> None:
    scratch_tenants("0901", provision=False)
    result = CliRunner().invoke(main, ["tenants", "create", "0901"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("created 0901  m_0901")
    assert " ms" in result.stdout


def test_cli_upgrade_of_a_new_database_loads_the_reference_data() -> None:
    url = sibling_database_url(Settings.from_env(), "kentra_test_cli_upgrade")
    recreate_database(url)
    environment = {**os.environ, "KENTRA_DATABASE_URL": url.render_as_string(hide_password=False)}
    result = CliRunner(env=environment).invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "shared: empty -> s" in result.stdout
    assert "shared data loaded (reference data, initial policy)" in result.stdout
    assert "0 migrated, 0 already at head, 0 failed" in result.stdout


def test_cli_revision_writes_an_empty_revision() -> None:
    before = set(os.listdir(load_stream("tenant").script.versions))
    result = CliRunner().invoke(
        main, ["db", "revision", "--stream", "tenant", "-m", "cli test", "--empty"]
    )
    after = set(os.listdir(load_stream("tenant").script.versions))
    written = after - before
    try:
        assert result.exit_code == 0, result.output
        assert len(written) == 1
        assert "\nwrote " in result.stdout
    finally:
        for name in written:
            os.unlink(os.path.join(load_stream("tenant").script.versions, name))


@pytest.mark.parametrize(
    ("table", "schema", "dialect", "refusal"),
    [
        pytest.param("stray", "public", None, "placeholder schema", id="outside-the-placeholder"),
        pytest.param(
            "m_0000_copy",
            "tenant",
            postgresql.dialect(),  # type: ignore[no-untyped-call]
            "other than as the schema",
            id="stand-in-name-in-a-table",
        ),
    ],
)
def test_a_tenant_table_the_ddl_cannot_place_is_refused(
    monkeypatch: pytest.MonkeyPatch, table: str, schema: str, dialect: Dialect | None, refusal: str
) -> None:
    """A table outside the placeholder schema; the stand-in schema's name inside a table's."""
    metadata = MetaData()
    Table(table, metadata, Column("id", Integer, primary_key=True), schema=schema)
    monkeypatch.setattr(ddl, "tenant_metadata", lambda: metadata)
    with pytest.raises(ValueError, match=refusal):
        ddl._compiled.__wrapped__(dialect, "head")  # type: ignore[attr-defined]


def test_versions_of_schemas_without_a_version_table(engine: Engine) -> None:
    with engine.connect() as conn:
        assert tenant_versions(conn, [parse_municipality_code("0902")]) == {"0902": None}


def test_a_schema_another_run_already_migrated_is_skipped_under_the_lock(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    result = migrate_tenant_schema(engine, load_stream("tenant"), tenant_a, Timeouts())
    assert (result.outcome, result.error) == ("skipped", None)
    assert result.from_revision == result.to_revision == load_stream("tenant").head


def test_a_failed_database_step_removes_the_identity_organization(
    engine: Engine, scratch_tenants: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_tenants("1003", provision=False)
    identity = EmbeddedIdentityAdmin(engine)
    monkeypatch.setattr(
        provisioning,
        "PROVISIONING_STEPS",
        [provisioning._step_schema, failing_step("the database step failed")],
    )

    def organizations() -> list[str]:
        with engine.connect() as conn:
            return list(
                conn.scalars(
                    select(IdentityOrganization.alias).where(IdentityOrganization.alias == "m-1003")
                )
            )

    with pytest.raises(RuntimeError, match="database step failed"):
        create_tenant(engine, "1003", identity=identity)
    assert organizations() == []
    assert "m_1003" not in tenant_schemas(engine)
    monkeypatch.undo()
    assert create_tenant(engine, "1003", identity=identity).created
    assert organizations() == ["m-1003"]
    with engine.begin() as conn:  # the scratch cleanup drops the schema; the organization too
        conn.execute(text("DELETE FROM shared.identity_organizations WHERE alias = 'm-1003'"))


def test_cli_create_in_production_without_an_issuer_is_refused_cleanly() -> None:
    result = CliRunner(env={**os.environ, "KENTRA_ENV": "production"}).invoke(
        main, ["tenants", "create", "1004", "--json"]
    )
    assert result.exit_code == 1
    assert "KENTRA_OIDC_ISSUER is required in production" in result.stdout
    assert "m_1004" not in tenant_schemas_now()


def tenant_schemas_now() -> set[str]:
    from kentra.platform.core.database import get_engine

    return tenant_schemas(get_engine(Settings.from_env()))


def test_a_read_outside_a_transaction_is_its_own_on_the_autocommit_twin(
    engine: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    """ADR 0032: a tenant session that has not begun reads on one connection of the engine's
    autocommit twin, held until the session closes; the tenant tables are its own schema's
    whatever the statement asks, and shared tables read the same."""
    twin = autocommit_twin(engine)
    lookup = select(Tenant.status, Tenant.schema_name).where(Tenant.code == bindparam("code"))
    units = select(Unit.__table__.c.id).order_by(Unit.__table__.c.id)
    with engine.connect() as conn:
        expected = {
            code: conn.scalars(text(f"SELECT id FROM {code.schema_name}.units ORDER BY id")).all()
            for code in (tenant_a, tenant_b)
        }
    session = open_tenant_session(engine, tenant_a)
    try:
        (found,) = read_rows(session, lookup, {"code": tenant_b.value})
        assert (found.status, found.schema_name) == (TenantStatus.ACTIVE, tenant_b.schema_name)
        assert read_rows(session, lookup, {"code": "0000"}) == []
        assert [row.id for row in read_rows(session, units)] == expected[tenant_a]
        assert not session.in_transaction()
        assert engine.pool.checkedout() == 0  # the session's own pool: nothing began
        assert twin.pool.checkedout() == 1  # one reader for all three reads
        reader = session.reader().driver_connection
        assert reader.autocommit
        assert reader.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    finally:
        session.close()
    assert twin.pool.checkedout() == 0


def test_a_read_in_a_begun_transaction_sees_what_the_transaction_wrote(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    count = select(func.count()).select_from(AuditEvent.__table__)
    with open_tenant_session(engine, tenant_a) as session:
        ((before,),) = read_rows(session, count)
        session.add(AuditEvent(actor="test", action="test.read_own_write"))
        session.flush()
        ((during,),) = read_rows(session, count)
        assert during == before + 1
        session.rollback()
        ((after,),) = read_rows(session, count)
        assert after == before


def test_a_read_by_the_driver_names_every_schema(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    """Outside a transaction no search path is set: a table without a schema, or a tenant
    table read without a tenant, is refused before anything is sent."""
    loose = Table("units", MetaData(), Column("id", Integer))
    with (
        open_tenant_session(engine, tenant_a) as session,
        pytest.raises(UnqualifiedTable, match="without a schema: units"),
    ):
        read_rows(session, select(loose.c.id))
    with Session(engine) as shared:
        with pytest.raises(UnqualifiedTable, match="outside a tenant session"):
            read_rows(shared, select(Unit.__table__.c.id))
        (found,) = read_rows(shared, select(Tenant.code).where(Tenant.code == tenant_a.value))
        assert found.code == tenant_a.value
        assert autocommit_twin(engine).pool.checkedout() == 0


@pytest.mark.parametrize("in_transaction", [False, True], ids=["autocommit", "transaction"])
def test_reads_by_the_driver_fail_as_sqlalchemy_statements_do(
    engine: Engine, tenant_a: MunicipalityCode, in_transaction: bool
) -> None:
    """read_rows (ADR 0029, ADR 0032) writes the session's schema into the statement and raises
    a failed statement as SQLAlchemy would, in the session's transaction or outside one: a
    DBAPIError naming no parameter, the connection kept."""
    missing = Table("no_such_table", MetaData(), Column("id", Integer), schema=TENANT_SCHEMA)
    session = open_tenant_session(engine, tenant_a)
    try:
        if in_transaction:
            session.execute(text("SELECT 1"))
        with pytest.raises(sa_exc.ProgrammingError) as raised:
            read_rows(session, select(missing.c.id).where(missing.c.id == 4242))
        assert isinstance(raised.value.orig, psycopg.errors.UndefinedTable)
        assert f"{tenant_a.schema_name}.no_such_table" in str(raised.value)
        assert "4242" not in str(raised.value)
        assert not raised.value.connection_invalidated
        assert not database_unavailable(raised.value)
        session.rollback()
        ids = [row.id for row in read_rows(session, select(Unit.__table__.c.id))]
        assert ids == sorted(session.scalars(select(Unit.id).order_by(Unit.id)))
    finally:
        session.close()


def test_a_read_by_the_driver_on_a_lost_connection_is_unavailable_and_invalidates_it(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    session = open_tenant_session(engine, tenant_a)
    try:
        pid = session.scalar(select(func.pg_backend_pid()))
        with engine.connect() as other:
            assert other.scalar(select(func.pg_terminate_backend(pid)))
        with pytest.raises(sa_exc.DBAPIError) as raised:
            read_rows(session, select(Unit.__table__.c.id))
        assert raised.value.connection_invalidated
        assert database_unavailable(raised.value)  # a 503 for a request
        session.rollback()
        # The session goes on with a new connection.
        assert session.scalar(select(func.pg_backend_pid())) != pid
    finally:
        session.close()


def test_a_read_outside_a_transaction_on_a_lost_connection_is_unavailable_and_replaced(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    pid_of_backend = select(func.pg_backend_pid().label("pid"))
    with open_tenant_session(engine, tenant_a) as session:
        ((pid,),) = read_rows(session, pid_of_backend)
        with engine.connect() as other:
            assert other.scalar(select(func.pg_terminate_backend(pid)))
        with pytest.raises(sa_exc.DBAPIError) as raised:
            read_rows(session, pid_of_backend)
        assert raised.value.connection_invalidated
        assert database_unavailable(raised.value)  # a 503 for a request
        # The next read checks out another connection of the twin.
        ((again,),) = read_rows(session, pid_of_backend)
        assert again != pid
    assert autocommit_twin(engine).pool.checkedout() == 0


def test_without_the_modules_steps_nothing_is_provisioned_or_upgraded(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tenants/ runs the modules' steps without importing them (ADR 0030); without them it
    refuses before writing anything, rather than make a tenant without its defaults."""
    monkeypatch.setattr(steps, "_installed", [])
    with pytest.raises(steps.StepsNotInstalled, match=r"wiring\.install"):
        create_tenant(engine, "0902")
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.code).where(Tenant.code == "0902")) is None
        assert "m_0902" not in tenant_schemas(engine)
    with pytest.raises(steps.StepsNotInstalled):
        upgrade_all(engine)
