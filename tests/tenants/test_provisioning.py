"""Provisioning and the tenant lifecycle, through the service and the ``kentra tenants`` CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text

from kentra.platform.app.cli import main
from kentra.platform.audit.models import AuditEvent, PlatformAuditEvent
from kentra.platform.municipalities.models import DEFAULT_SETTINGS, TenantProfile, TenantSetting
from kentra.tenants import provisioning
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.migrate import current_revision
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.provisioning import (
    InvalidTransition,
    UnknownTenant,
    change_status,
    create_tenant,
    list_tenants,
)
from kentra.tenants.streams import default_stream
from tests.conftest import drop_tenant, registry_codes, tenant_schemas
from tests.helpers import failing_step

Scratch = Callable[..., list[MunicipalityCode]]


def test_create_builds_schema_tables_stamp_registry_and_defaults(
    engine: Engine, scratch_tenants: Scratch
) -> None:
    (code,) = scratch_tenants("0714", provision=False)
    result = create_tenant(engine, "0714")

    assert result.created
    assert result.duration_ms > 0
    assert result.tenant.status == "active"
    assert result.tenant.schema == "m_0714"
    assert result.tenant.name_el == "Δήμος Ωραιοκάστρου"
    with engine.connect() as conn:
        tables = set(
            conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'm_0714'"))
        )
        assert tables == {
            "alembic_version",
            "audit_log",
            "profile",
            "settings",
            "units",
            "unit_served_municipalities",
            "staff_members",
            "regulation_versions",
            "beneficiaries",
        }
        assert current_revision(conn, "m_0714") == default_stream("tenant").head
    with tenant_session(engine, code) as session:
        profile = session.scalars(select(TenantProfile)).one()
        assert profile.municipality_code == "0714"
        settings = {s.key: s.value for s in session.scalars(select(TenantSetting))}
        assert settings == DEFAULT_SETTINGS
        actions = list(session.scalars(select(AuditEvent.action)))
        assert actions == ["tenant.provisioned"]


def test_create_is_idempotent(engine: Engine, scratch_tenants: Scratch) -> None:
    scratch_tenants("0711")
    again = create_tenant(engine, "0711")
    assert not again.created
    assert again.tenant.status == "active"
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(Tenant).where(Tenant.code == "0711"))
    assert count == 1


def test_concurrent_creates_of_one_tenant_queue_on_the_advisory_lock(
    engine: Engine, scratch_tenants: Scratch
) -> None:
    scratch_tenants("0101", provision=False)
    results: list[bool] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def create() -> None:
        barrier.wait()
        try:
            results.append(create_tenant(engine, "0101").created)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [False, False, True]


def test_a_failure_midway_leaves_nothing_behind_and_a_rerun_succeeds(
    engine: Engine, scratch_tenants: Scratch, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch_tenants("0102", provision=False)
    schemas_before = tenant_schemas(engine)
    steps = [
        provisioning._step_schema,
        failing_step("injected failure after the schema step"),
        provisioning._step_defaults,
    ]
    monkeypatch.setattr(provisioning, "PROVISIONING_STEPS", steps)

    with pytest.raises(RuntimeError, match="injected failure"):
        create_tenant(engine, "0102")

    assert tenant_schemas(engine) == schemas_before
    assert "0102" not in registry_codes(engine)
    with engine.connect() as conn:
        audit = conn.scalar(
            select(func.count())
            .select_from(PlatformAuditEvent)
            .where(PlatformAuditEvent.tenant_code == "0102")
        )
    assert audit == 0

    monkeypatch.undo()
    assert create_tenant(engine, "0102").created
    assert "m_0102" in tenant_schemas(engine)


def test_a_requested_tenant_is_provisioned_by_create(
    engine: Engine, scratch_tenants: Scratch
) -> None:
    scratch_tenants("0103", provision=False)
    with engine.begin() as conn:
        conn.execute(
            Tenant.__table__.insert().values(
                code="0103", schema_name="m_0103", status=TenantStatus.REQUESTED
            )
        )
    result = create_tenant(engine, "0103")
    assert result.created
    assert result.tenant.status == "active"


def test_lifecycle_transitions(engine: Engine, scratch_tenants: Scratch) -> None:
    scratch_tenants("0104")
    info, changed = change_status(engine, "0104", TenantStatus.SUSPENDED)
    assert (info.status, changed) == ("suspended", True)
    info, changed = change_status(engine, "0104", TenantStatus.SUSPENDED)
    assert (info.status, changed) == ("suspended", False)
    info, changed = change_status(engine, "0104", TenantStatus.ACTIVE)
    assert (info.status, changed) == ("active", True)
    info, changed = change_status(engine, "0104", TenantStatus.ARCHIVED)
    assert (info.status, changed) == ("archived", True)
    with pytest.raises(InvalidTransition, match="archived"):
        change_status(engine, "0104", TenantStatus.SUSPENDED)
    with pytest.raises(InvalidTransition):
        change_status(engine, "0104", TenantStatus.ACTIVE)
    # Archiving keeps the data.
    assert "m_0104" in tenant_schemas(engine)
    with engine.connect() as conn:
        actions = list(
            conn.scalars(
                select(PlatformAuditEvent.action)
                .where(PlatformAuditEvent.tenant_code == "0104")
                .order_by(PlatformAuditEvent.id)
            )
        )
    assert actions == ["tenant.provisioned", "tenant.suspended", "tenant.active", "tenant.archived"]


def test_status_change_of_an_unknown_tenant(engine: Engine) -> None:
    with pytest.raises(UnknownTenant):
        change_status(engine, "0105", TenantStatus.SUSPENDED)


def test_list_filters_by_status(
    engine: Engine, scratch_tenants: Scratch, tenant_a: MunicipalityCode
) -> None:
    scratch_tenants("0201")
    change_status(engine, "0201", TenantStatus.SUSPENDED)
    suspended = list_tenants(engine, status=TenantStatus.SUSPENDED)
    assert [t.code for t in suspended] == ["0201"]
    assert tenant_a.value in [t.code for t in list_tenants(engine)]


# --- the CLI ----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["4501; drop schema x", "'", "45O1", "999", "9999"])
def test_cli_rejects_bad_codes_and_creates_nothing(engine: Engine, raw: str) -> None:
    schemas_before, registry_before = tenant_schemas(engine), registry_codes(engine)
    result = CliRunner().invoke(main, ["tenants", "create", raw, "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert ("exactly 4 digits" in error) or ("not a municipality in the reference data" in error)
    assert tenant_schemas(engine) == schemas_before
    assert registry_codes(engine) == registry_before


def test_cli_plain_error_goes_to_stderr(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["tenants", "create", "45O1"])
    assert result.exit_code == 2
    assert "error: '45O1' is not a municipality code" in result.stderr


def test_cli_create_reports_its_duration_then_is_idempotent(
    engine: Engine, scratch_tenants: Scratch
) -> None:
    scratch_tenants("0202", provision=False)
    first = CliRunner().invoke(main, ["tenants", "create", "0202", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.stdout)
    assert data["created"] is True
    assert data["code"] == "0202"
    assert data["schema"] == "m_0202"
    assert data["duration_ms"] > 0
    second = CliRunner().invoke(main, ["tenants", "create", "0202"])
    assert second.exit_code == 0
    assert second.stdout.startswith("exists")


def test_cli_list_suspend_resume_archive(engine: Engine, scratch_tenants: Scratch) -> None:
    scratch_tenants("0203")
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["tenants", "list", "--json"]).stdout)
    assert {"code": "0203", "status": "active"}.items() <= next(
        t for t in listed if t["code"] == "0203"
    ).items()
    assert "0203" in runner.invoke(main, ["tenants", "list"]).stdout

    suspended = runner.invoke(main, ["tenants", "suspend", "0203", "--json"])
    assert json.loads(suspended.stdout).items() >= {"status": "suspended", "changed": True}.items()
    assert runner.invoke(main, ["tenants", "resume", "0203"]).stdout.startswith("changed")
    assert runner.invoke(main, ["tenants", "archive", "0203"]).exit_code == 0
    refused = runner.invoke(main, ["tenants", "suspend", "0203"])
    assert refused.exit_code == 1
    assert "cannot become suspended" in refused.stderr
    unknown = runner.invoke(main, ["tenants", "suspend", "0204", "--json"])
    assert unknown.exit_code == 1
    assert "no tenant" in json.loads(unknown.stdout)["error"]
    malformed = runner.invoke(main, ["tenants", "archive", "x"])
    assert malformed.exit_code == 2


def test_drop_helper_really_removes_a_tenant(engine: Engine) -> None:
    create_tenant(engine, "0205")
    drop_tenant(engine, parse_municipality_code("0205"))
    assert "m_0205" not in tenant_schemas(engine)
    assert "0205" not in registry_codes(engine)
