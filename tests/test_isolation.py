"""Rows written in one tenant are invisible from another: ORM, raw SQL, pooled connections, threads."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import Engine, func, select, text

from kentra.auth.roles import Role
from kentra.platform.app.factory import create_app
from kentra.platform.audit.models import AuditEvent
from kentra.platform.audit.operations import record_tenant_event
from kentra.platform.core.config import Settings, database_url
from kentra.platform.core.database import make_engine
from kentra.tenants.binding import current_tenant, tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.helpers import marked_audit_rows
from tests.tokens import TokenFactory


def _write_marker(engine: Engine, code: MunicipalityCode) -> str:
    marker = uuid.uuid4().hex
    with tenant_session(engine, code) as session:
        record_tenant_event(
            session, actor="test", action="isolation.marker", details={"marker": marker}
        )
    return marker


def _raw_count(engine: Engine, code: MunicipalityCode, marker: str) -> int:
    with tenant_session(engine, code) as session:
        return int(
            session.scalar(
                text("SELECT count(*) FROM audit_log WHERE details->>'marker' = :marker"),
                {"marker": marker},
            )
            or 0
        )


@pytest.mark.parametrize(
    "count", [pytest.param(marked_audit_rows, id="orm"), pytest.param(_raw_count, id="raw-sql")]
)
def test_rows_of_a_are_invisible_from_b(
    engine: Engine,
    tenant_a: MunicipalityCode,
    tenant_b: MunicipalityCode,
    count: Callable[[Engine, MunicipalityCode, str], int],
) -> None:
    marker = _write_marker(engine, tenant_a)
    assert count(engine, tenant_a, marker) == 1
    assert count(engine, tenant_b, marker) == 0


@pytest.fixture
def single(settings: Settings) -> Iterator[Engine]:
    """An engine of one pooled connection, which every tenant session in turn reuses."""
    single = make_engine(
        database_url(settings),
        pool_size=1,
        max_overflow=0,
        prepare_threshold=settings.db_prepare_threshold,
    )
    try:
        yield single
    finally:
        single.dispose()


def test_a_pooled_connection_reused_by_b_right_after_a_sees_only_b(
    single: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    marker = uuid.uuid4().hex
    with tenant_session(single, tenant_a) as session:
        record_tenant_event(
            session, actor="test", action="isolation.marker", details={"marker": marker}
        )
        pid_a = session.scalar(text("SELECT pg_backend_pid()"))
        assert session.scalar(text("SELECT current_schema()")) == tenant_a.schema_name

    with tenant_session(single, tenant_b) as session:
        assert (
            session.scalar(text("SELECT pg_backend_pid()")) == pid_a
        )  # the same pooled connection
        assert session.scalar(text("SELECT current_schema()")) == tenant_b.schema_name
        assert (
            session.scalar(
                text("SELECT count(*) FROM audit_log WHERE details->>'marker' = :m"),
                {"m": marker},
            )
            == 0
        )
        orm = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.details["marker"].astext == marker)
        )
        assert session.scalar(orm) == 0

    # Outside any tenant transaction the connection carries no tenant search path at all.
    with single.connect() as conn:
        assert conn.scalar(text("SELECT pg_backend_pid()")) == pid_a
        assert tenant_a.schema_name not in str(conn.scalar(text("SHOW search_path")))
        assert conn.scalar(text("SELECT to_regclass('audit_log')")) is None


def test_a_rolled_back_tenant_transaction_leaves_nothing_on_the_pooled_connection(
    single: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    with pytest.raises(RuntimeError), tenant_session(single, tenant_a) as session:
        session.execute(text("SELECT 1"))
        raise RuntimeError("the request failed")
    assert current_tenant() is None
    with tenant_session(single, tenant_b) as session:
        assert session.scalar(text("SELECT current_schema()")) == tenant_b.schema_name


def test_threaded_requests_alternating_tenants_never_see_foreign_rows(
    engine: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode, tokens: TokenFactory
) -> None:
    # A small pool forces constant reuse of the same connections by both tenants.
    settings = replace(Settings.from_env(), pool_size=2, max_overflow=0)
    app: Flask = create_app(settings, jwks=tokens.jwks)
    codes = [tenant_a.value, tenant_b.value]
    headers = {code: tokens.headers(Role.STAFF, municipality=code) for code in codes}
    requests = 2000

    def fetch(i: int) -> tuple[str, int, str | None]:
        code = codes[i % 2]
        response = app.test_client().get(f"/api/v1/municipalities/{code}", headers=headers[code])
        body = response.get_json()
        return code, response.status_code, body.get("code") if body else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(fetch, range(requests)))

    statuses = Counter(status for _, status, _ in results)
    foreign = [(asked, got) for asked, status, got in results if got != asked]
    assert statuses == {200: requests}
    assert foreign == []
    assert Counter(asked for asked, _, _ in results) == {tenant_a.value: 1000, tenant_b.value: 1000}
    app.extensions["kentra"].engine.dispose()
