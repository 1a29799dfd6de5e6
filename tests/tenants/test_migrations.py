"""``kentra db upgrade`` and ``kentra db check`` over several tenants, with failures."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select, text

from kentra.platform.app.cli import main
from kentra.tenants import migrate
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.migrate import (
    LOCK_NAMESPACE_TENANT,
    Timeouts,
    check_drift,
    current_revision,
    tenant_versions,
    upgrade_all,
)
from kentra.tenants.streams import load_stream

Scratch = Callable[..., list[MunicipalityCode]]


@pytest.fixture
def next_revision(tmp_path: Path) -> Iterator[Path]:
    """A directory holding one more tenant revision: a column and an index on ``settings``."""
    head = load_stream("tenant").head
    (tmp_path / "test_0002_settings_note.py").write_text(
        textwrap.dedent(
            f'''
            """test: add settings.note"""
            import sqlalchemy as sa
            from alembic import op

            revision = "test_0002"
            down_revision = {head!r}
            branch_labels = None
            depends_on = None


            def upgrade() -> None:
                op.add_column("settings", sa.Column("note", sa.Text(), nullable=True))
                op.create_index("ix_settings_note", "settings", ["note"])


            def downgrade() -> None:
                op.drop_index("ix_settings_note", table_name="settings")
                op.drop_column("settings", "note")
            '''
        )
    )
    return tmp_path


def _has_column(engine: Engine, schema: str, table: str, column: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                select(func.count())
                .select_from(text("information_schema.columns"))
                .where(text("table_schema = :s AND table_name = :t AND column_name = :c"))
                .params(s=schema, t=table, c=column)
            )
        )


def test_everything_at_head_is_skipped(
    engine: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    report = upgrade_all(engine, only=[tenant_a.value, tenant_b.value])
    assert report.shared_from == report.shared_to
    assert not report.shared_data_loaded  # checksum unchanged
    assert [(r.code, r.outcome) for r in report.tenants] == [
        ("4501", "skipped"),
        ("7101", "skipped"),
    ]
    assert report.failed == []


def test_versions_are_read_in_one_go(
    engine: Engine, tenant_a: MunicipalityCode, scratch_tenants: Scratch
) -> None:
    (missing,) = scratch_tenants("0401", provision=False)
    with engine.connect() as conn:
        versions = tenant_versions(conn, [tenant_a, missing])
        assert tenant_versions(conn, []) == {}
    assert versions == {"4501": load_stream("tenant").head, "0401": None}


def ship_revision(monkeypatch: pytest.MonkeyPatch, next_revision: Path) -> None:
    """The CLI as if ``next_revision`` were shipped: the runner's stream loader adds it."""
    real_load = migrate.load_stream
    monkeypatch.setattr(
        migrate,
        "load_stream",
        lambda name, extra=(): (
            real_load(name, [*extra, next_revision]) if name == "tenant" else real_load(name, extra)
        ),
    )


def test_one_broken_tenant_does_not_stop_the_others_and_a_rerun_completes(
    engine: Engine, scratch_tenants: Scratch, next_revision: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok_1, ok_2, broken = scratch_tenants("0501", "0502", "0503")
    with engine.begin() as conn:  # the broken tenant lost the table the migration alters
        conn.execute(text("ALTER TABLE m_0503.settings RENAME TO settings_moved"))

    ship_revision(monkeypatch, next_revision)
    codes = ["--tenant", "0501", "--tenant", "0502", "--tenant", "0503"]
    first = CliRunner().invoke(main, ["db", "upgrade", "--jobs", "2", "--json", *codes])
    assert first.exit_code == 1
    report = json.loads(first.stdout)
    outcomes = {r["code"]: r["outcome"] for r in report["tenants"]}
    assert outcomes == {"0501": "migrated", "0502": "migrated", "0503": "failed"}
    failure = next(r for r in report["tenants"] if r["code"] == "0503")
    assert failure["schema"] == "m_0503"
    assert "settings" in failure["error"]
    assert report["summary"] == {"migrated": 2, "skipped": 0, "failed": 1}
    assert _has_column(engine, ok_1.schema_name, "settings", "note")
    assert _has_column(engine, ok_2.schema_name, "settings", "note")
    with engine.connect() as conn:  # the failed tenant was rolled back whole, still at the old head
        assert current_revision(conn, broken.schema_name) == load_stream("tenant").head

    plain = CliRunner().invoke(main, ["db", "upgrade", *codes])
    assert plain.exit_code == 1
    assert "FAILED 0503 (m_0503)" in plain.stderr

    with engine.begin() as conn:  # the operator repairs the schema
        conn.execute(text("ALTER TABLE m_0503.settings_moved RENAME TO settings"))
    second = CliRunner().invoke(main, ["db", "upgrade", "--json", *codes])
    assert second.exit_code == 0, second.output
    outcomes = {r["code"]: r["outcome"] for r in json.loads(second.stdout)["tenants"]}
    assert outcomes == {"0501": "skipped", "0502": "skipped", "0503": "migrated"}
    assert _has_column(engine, broken.schema_name, "settings", "note")


def test_a_schema_locked_by_another_process_times_out_alone(
    engine: Engine, scratch_tenants: Scratch, next_revision: Path
) -> None:
    locked, free = scratch_tenants("0601", "0602")
    with engine.connect() as holder, holder.begin():
        holder.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE_TENANT, locked.number)))
        report = upgrade_all(
            engine,
            only=[locked.value, free.value],
            timeouts=Timeouts(lock="200ms", statement="30s"),
            extra_tenant_locations=[next_revision],
        )
    outcomes = {r.code: (r.outcome, r.error) for r in report.tenants}
    assert outcomes["0602"] == ("migrated", None)
    assert outcomes["0601"][0] == "failed"
    assert "lock timeout" in str(outcomes["0601"][1])


def test_unknown_tenant_filter_is_bad_input(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade", "--tenant", "45O1"])
    assert result.exit_code == 2


def test_models_and_migrations_agree(engine: Engine) -> None:
    assert check_drift(engine) == []
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 0
    assert "agree" in result.stdout


def test_drift_is_detected_and_leaves_nothing_behind(engine: Engine, next_revision: Path) -> None:
    # A migration the models do not know about is drift.
    differences = check_drift(engine, tenant_stream=load_stream("tenant", [next_revision]))
    assert any("note" in d for d in differences)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT to_regnamespace('kentra_drift_check')")) is None


def test_db_check_cli_fails_on_drift(
    engine: Engine, next_revision: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ship_revision(monkeypatch, next_revision)
    result = CliRunner().invoke(main, ["db", "check"])
    assert result.exit_code == 1
    assert "kentra db revision" in result.stderr


def test_a_tenant_filter_naming_no_tenant_is_refused(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["db", "upgrade", "--tenant", "0999", "--json"])
    assert result.exit_code == 2
    assert "no tenant schema for 0999" in json.loads(result.stdout)["error"]


def test_drift_check_on_a_database_never_migrated(settings: object) -> None:
    from kentra.platform.core.config import Settings
    from kentra.platform.core.database import make_engine, recreate_database, sibling_database_url

    url = sibling_database_url(Settings.from_env(), "kentra_test_empty")
    recreate_database(url)
    empty = make_engine(url, pool_size=1, max_overflow=0)
    try:
        differences = check_drift(empty)
    finally:
        empty.dispose()
    assert len(differences) == 1
    assert "run `kentra db upgrade` first" in differences[0]


@pytest.mark.parametrize("stream", ["shared", "tenant"])
def test_revision_autogenerates_nothing_when_models_and_migrations_agree(
    engine: Engine, stream: str
) -> None:
    from kentra.tenants.revisions import create_revision

    head = load_stream(stream).head
    path = create_revision(engine, stream, "nothing to do", autogenerate=True)
    try:
        source = path.read_text()
        assert str(path.parent) == load_stream(stream).script.versions
        assert f"down_revision: str | None = {head!r}" in source
        # Autogenerate found no difference: the generated functions are empty.
        assert "op." not in source
    finally:
        path.unlink()
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT to_regnamespace('kentra_drift_check')")) is None


def test_alembic_env_refuses_to_run_outside_kentra() -> None:
    from alembic import command

    with pytest.raises(RuntimeError, match="kentra db upgrade"):
        command.upgrade(load_stream("tenant").config, "heads")
