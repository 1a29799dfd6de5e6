"""Test session: a fresh database holding two tenants, the app, and a real Celery worker.

The database is ``kentra_test`` on the configured server (``KENTRA_DATABASE_URL``), else on
the embedded one; set up directly when ``KENTRA_TEST_ADMIN_DATABASE_URL`` is given (the app
then goes through a pooler). The broker is the configured one (``KENTRA_BROKER_URL``), else
kombu's SQLAlchemy transport on the test database. Every process the tests start (CLI, worker) gets
the same environment.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, Engine, delete, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import DropSchema

from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.core.config import Settings, sqlalchemy_url
from kentra.platform.core.database import (
    get_engine,
    make_engine,
    recreate_database,
    sibling_database_url,
)
from kentra.tenants.binding import TenantSession
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.migrate import upgrade_all
from kentra.tenants.models import Tenant
from kentra.tenants.provisioning import create_tenant
from tests.database import savepoint_connection, savepoint_session, savepoint_tenant_session
from tests.factories import bound_to
from tests.identity import NullIdentityAdmin
from tests.tokens import TokenFactory
from tests.worker_support import running_worker

ROOT = Path(__file__).resolve().parents[1]
# KENTRA_TEST_DATABASE lets several test runs share one server (each its own database).
TEST_DATABASE = os.environ.get("KENTRA_TEST_DATABASE", "kentra_test")
# Two tenants in every test database. 7101 shares its name («Δήμος Ηρακλείου») with 4604.
TENANT_A = parse_municipality_code("4501")
TENANT_B = parse_municipality_code("7101")
# tests/keycloak/ needs a running Keycloak (infra/dev/keycloak.sh): it is collected only when its
# URL is given, so that it never shows as skipped (make test and .ci/run give it when it runs).
collect_ignore = [] if os.environ.get("KENTRA_TEST_KEYCLOAK_URL") else ["keycloak"]


def admin_database_url() -> URL | None:
    """The test database reached directly, when ``KENTRA_DATABASE_URL`` goes through a pooler.

    ``KENTRA_TEST_ADMIN_DATABASE_URL`` names the same server without PgBouncer (its database
    part is replaced by the test database's name): the session's setup (DROP and CREATE
    DATABASE, migrations, the two tenants) goes through it, the app and the tests through
    ``KENTRA_DATABASE_URL``.
    """
    raw = os.environ.get("KENTRA_TEST_ADMIN_DATABASE_URL")
    return sqlalchemy_url(raw).set(database=TEST_DATABASE) if raw else None


def pytest_configure(config: pytest.Config) -> None:
    """Point this process (and every child) at a fresh test database before anything runs."""
    base = Settings.from_env()
    url = sibling_database_url(base, TEST_DATABASE)
    recreate_database(admin_database_url() or url)
    os.environ["KENTRA_DATABASE_URL"] = url.render_as_string(hide_password=False)
    os.environ["KENTRA_ENV"] = "test"
    os.environ.setdefault("KENTRA_LOG_LEVEL", "WARNING")
    # Many tests submit onboarding requests from one address; tests/ratelimits/test_rate_limits.py
    # checks the limit on an app of its own.
    os.environ["KENTRA_PUBLIC_SUBMISSION_LIMIT"] = ""


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings.from_env()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    engine = get_engine(settings)
    admin = admin_database_url()
    setup = engine if admin is None else make_engine(admin, pool_size=1, max_overflow=0)
    try:
        report = upgrade_all(setup)
        assert not report.failed
        for code in (TENANT_A, TENANT_B):
            create_tenant(setup, code.value, actor="test-setup")
    finally:
        if setup is not engine:
            setup.dispose()
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def tenant_a(engine: Engine) -> MunicipalityCode:
    return TENANT_A


@pytest.fixture(scope="session")
def tenant_b(engine: Engine) -> MunicipalityCode:
    return TENANT_B


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> TokenFactory:
    """Signs test access tokens; the test app trusts its key (through a JWKS source)."""
    return TokenFactory(issuer=settings.issuer)


@pytest.fixture(scope="session")
def app(engine: Engine, tokens: TokenFactory) -> Flask:
    from kentra.platform.app.factory import create_app

    return create_app(jwks=tokens.jwks)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


DEADLOCK_DETECTED = "40P01"


def drop_tenant(engine: Engine, code: MunicipalityCode, attempts: int = 5) -> None:
    """Remove a tenant completely (tests only: the product archives, it never deletes).

    The session's Celery worker may still be running a task a test sent for this tenant (a
    compliance recomputation after a unit change); its locks and the DROP's can cross, and
    PostgreSQL then aborts the DROP as a deadlock. The task has finished by then, so the drop
    is tried again.
    """
    for attempt in range(1, attempts + 1):
        try:
            with engine.begin() as conn:
                conn.execute(DropSchema(code.schema_name, cascade=True, if_exists=True))
                conn.execute(delete(Tenant).where(Tenant.code == code.value))
                conn.execute(
                    delete(PlatformAuditEvent).where(PlatformAuditEvent.tenant_code == code.value)
                )
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != DEADLOCK_DETECTED or attempt == attempts:
                raise
            time.sleep(0.2 * attempt)
        else:
            return


@pytest.fixture
def scratch_tenants(engine: Engine) -> Iterator[Callable[..., list[MunicipalityCode]]]:
    """Provision extra tenants for one test; they are dropped afterwards."""
    made: list[MunicipalityCode] = []

    def make(*codes: str, provision: bool = True) -> list[MunicipalityCode]:
        parsed = [parse_municipality_code(c) for c in codes]
        made.extend(parsed)
        if provision:
            for code in parsed:
                create_tenant(engine, code.value, actor="test")
        return parsed

    yield make
    for code in made:
        drop_tenant(engine, code)


def tenant_schemas(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.scalars(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'm\\_%'"))
        )


def registry_codes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(text("SELECT code FROM shared.tenants")))


@pytest.fixture(scope="session")
def worker(engine: Engine) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker process (prefork, two children) on the test broker."""
    with running_worker(
        ("--pool", "prefork", "--concurrency", "2"),
        hostname=f"test-{os.getpid()}@%h",
        log=ROOT / "var" / "test-worker.log",
        cwd=ROOT,
        env=os.environ,
    ) as process:
        yield process


# --- sessions that never commit (ADR 0039; tests/database.py) -------------------------------


@pytest.fixture
def savepoint_connection_a(engine: Engine) -> Iterator[Connection]:
    """Tenant A's connection, in a transaction rolled back when the test ends."""
    with savepoint_connection(engine, TENANT_A) as connection:
        yield connection


@pytest.fixture
def db(savepoint_connection_a: Connection) -> Iterator[Session]:
    """A shared-schema session that never commits; factories without ``session=`` use it."""
    with savepoint_session(savepoint_connection_a) as session, bound_to(session):
        yield session


@pytest.fixture
def tenant_a_db(savepoint_connection_a: Connection) -> Iterator[TenantSession]:
    """Tenant A's session, on ``db``'s connection (each sees what the other flushed), that
    never commits; factories without ``session=`` use it (for shared models too)."""
    with savepoint_tenant_session(savepoint_connection_a, TENANT_A) as session, bound_to(session):
        yield session


@pytest.fixture
def tenant_b_db(engine: Engine) -> Iterator[TenantSession]:
    """Tenant B's session that never commits, on a connection and transaction of its own."""
    with (
        savepoint_connection(engine, TENANT_B) as connection,
        savepoint_tenant_session(connection, TENANT_B) as session,
    ):
        yield session


@pytest.fixture
def null_identity() -> NullIdentityAdmin:
    """An identity admin that records what it is asked and changes nothing."""
    return NullIdentityAdmin()
