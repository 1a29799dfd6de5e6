"""Sessions that never commit: bound to a savepoint of an outer transaction rolled back at the
end of the test (SQLAlchemy 2's "join a session into an external transaction", ADR 0039).

A test that asks for ``db`` (shared schema) or ``tenant_a_db``/``tenant_b_db`` (a tenant's
schema) works in one transaction of its own: operations flush, the test reads what they
wrote, and everything is gone when the test ends, committed or not (a ``commit()`` releases
the session's savepoint; the outer transaction still rolls back). ``db`` and ``tenant_a_db``
share one connection, so each sees what the other flushed; ``tenant_b_db`` has a connection
(and a transaction) of its own, as a second municipality's request would.

What is never committed is never seen by another connection: tests of commits, of requests
through the app (which opens its own sessions), of the Celery worker or of concurrency keep
committing (tests/conftest.py ``scratch_tenants`` and their own clean-up).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.binding import TenantSession, tenant_context
from kentra.tenants.codes import MunicipalityCode


class SavepointTenantSession(TenantSession):
    """A :class:`TenantSession` on a connection that holds an outer transaction: what it
    writes stays in a savepoint of that transaction."""

    def __init__(self, connection: Connection, code: MunicipalityCode) -> None:
        # TenantSession binds to the engine's schema-translating view; here the connection
        # itself carries the translation (set by savepoint_connection).
        Session.__init__(
            self,
            bind=connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        self.tenant = code
        self.engine = connection.engine
        self._reader = None


@contextmanager
def savepoint_connection(engine: Engine, code: MunicipalityCode) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back when the block ends, translating the
    tenant placeholder schema to ``code``'s (shared tables are named by their own schema)."""
    with engine.connect() as connection:
        connection.execution_options(schema_translate_map={TENANT_SCHEMA: code.schema_name})
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()


@contextmanager
def savepoint_session(connection: Connection) -> Iterator[Session]:
    """A shared-schema session whose writes stay in the connection's transaction."""
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        session.connection()  # begun: read_rows reads in this transaction, never beside it
        yield session


@contextmanager
def savepoint_tenant_session(
    connection: Connection, code: MunicipalityCode
) -> Iterator[SavepointTenantSession]:
    """A tenant session (and the tenant's context, for tasks and logs) whose writes stay in
    the connection's transaction."""
    with tenant_context(code), SavepointTenantSession(connection, code) as session:
        session.connection()
        yield session
