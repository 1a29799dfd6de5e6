"""The kernel's database helpers (platform/core is under the 100 % branch gate, ADR 0039): which
errors are an outage, the engines' autocommit twins, a forked child's pool, the request's one
session, the embedded server and the model loading's skips."""

from __future__ import annotations

import multiprocessing
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from psycopg import sql
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import kentra.platform
from kentra.platform.core import config, database, embedded, models
from kentra.platform.core.config import Settings


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        pid: int = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    return pid


def test_an_engine_made_elsewhere_has_no_autocommit_twin() -> None:
    elsewhere = sa.create_engine("postgresql+psycopg://kentra@db.example.invalid/kentra")
    with pytest.raises(LookupError, match="not made by make_engine"):
        database.autocommit_twin(elsewhere)


def test_a_pool_with_no_connection_free_in_time_is_an_outage(settings: Settings) -> None:
    url = database.database_url(settings)
    engine = sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        with engine.connect(), pytest.raises(sa_exc.TimeoutError) as exhausted:
            engine.connect()
        assert database.database_unavailable(exhausted.value)
    finally:
        engine.dispose()


def test_a_connection_ended_by_the_server_is_an_outage_a_cancelled_statement_is_not(
    engine: Engine,
) -> None:
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as victim:
        pid = victim.info.backend_pid
        with psycopg.connect(conninfo, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(psycopg.OperationalError) as ended:
            victim.execute("SELECT 1")
    # 57P01 admin_shutdown, or no SQLSTATE when the client saw the socket close first.
    assert ended.value.sqlstate in {"57P01", None}
    assert database.database_unavailable(ended.value)

    with engine.connect() as conn, pytest.raises(sa_exc.OperationalError) as cancelled:
        conn.execute(sa.text("SET LOCAL statement_timeout = 1"))
        conn.execute(sa.text("SELECT pg_sleep(1)"))
    assert isinstance(cancelled.value.orig, psycopg.errors.QueryCanceled)  # 57014: class 57 too
    assert not database.database_unavailable(cancelled.value)


def _child_forgets_and_reads(engine_key: str, pids: multiprocessing.Queue[int]) -> None:
    engine = database.get_engine(Settings.from_env())
    assert engine.url.render_as_string(hide_password=False) == engine_key
    database.forget_inherited_connections()
    pids.put(backend_pid(engine))
    pids.put(backend_pid(database.autocommit_twin(engine)))


def test_a_forked_child_forgets_the_parents_connections_and_the_parents_still_work(
    engine: Engine,
) -> None:
    parent = backend_pid(engine)  # a connection in the pool when the child is forked
    parent_twin = backend_pid(database.autocommit_twin(engine))
    context = multiprocessing.get_context("fork")
    pids: multiprocessing.Queue[int] = context.Queue()
    child = context.Process(
        target=_child_forgets_and_reads,
        args=(engine.url.render_as_string(hide_password=False), pids),
    )
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    child_pids = {pids.get(timeout=5), pids.get(timeout=5)}
    assert child_pids.isdisjoint({parent, parent_twin})  # connections of its own
    # Not closed by the child: the parent's pooled connections still answer.
    assert backend_pid(engine) == parent
    assert backend_pid(database.autocommit_twin(engine)) == parent_twin


def test_a_request_has_one_session_and_a_second_is_refused(app: Flask) -> None:
    with app.test_request_context("/api/v1/units"):
        first = database.request_session()
        assert database.request_session() is first
        with pytest.raises(RuntimeError, match="already has a database session"):
            database.set_request_session(Session())


def test_without_a_database_url_the_embedded_server_is_used_and_the_database_made(
    settings: Settings,
) -> None:
    # The embedded server of var/pg (the one `make run` uses), whatever this run's database is.
    name = f"kentra_test_scratch_{uuid.uuid4().hex[:12]}"
    embedded_settings = replace(settings, database_url=None, database_name=name)
    maintenance = embedded.server_url(embedded_settings.var_dir / "pg")
    assert embedded.server_url(embedded_settings.var_dir / "pg") is maintenance  # started once
    try:
        url = config.database_url(embedded_settings)
        assert url == maintenance.set(database=name)
        assert config.database_url(embedded_settings) == url  # there already: kept
        with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        conninfo = maintenance.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def test_loading_the_models_looks_only_into_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain module beside the domain modules is not one: never imported (it would fail here).
    (tmp_path / "stray.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.setattr(kentra.platform, "__path__", [*kentra.platform.__path__, str(tmp_path)])
    models.load_all_models()
    assert "kentra.platform.stray" not in sys.modules
