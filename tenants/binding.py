"""Binding database sessions to a tenant schema. The only module that does so.

A tenant session runs on an engine view whose ``schema_translate_map`` sends the placeholder
schema ``tenant`` to ``m_<code>``, and each of its transactions starts with
``set_config('search_path', 'm_<code>', true)`` (the transaction-local ``SET LOCAL``), so raw
SQL resolves to the same schema. The setting ends with the transaction: a pooled connection
never carries one tenant's search path into another's request. Session-level ``SET
search_path`` is forbidden (tests/test_lint_rules.py).
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, NamedTuple, cast

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    String,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.util import find_tables

from kentra.platform.core.database import autocommit_twin
from kentra.platform.core.logging import current_tenant_var
from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.codes import MunicipalityCode

_current_tenant = current_tenant_var  # in the kernel, for its log records
_views_lock = threading.Lock()
_views: dict[tuple[int, str], Engine] = {}


def current_tenant() -> MunicipalityCode | None:
    """The tenant the current request or task acts for, if any (used by logs and tasks)."""
    code: MunicipalityCode | None = _current_tenant.get()
    return code


def set_current_tenant(code: MunicipalityCode | None) -> None:
    """Set the current tenant without a scope; the caller clears it (request teardown)."""
    _current_tenant.set(code)


@contextmanager
def tenant_context(code: MunicipalityCode | None) -> Iterator[None]:
    """Set the current tenant for the duration of the block, and clear it afterwards."""
    token = _current_tenant.set(code)
    try:
        yield
    finally:
        _current_tenant.reset(token)


def schema_bound_engine(engine: Engine, code: MunicipalityCode) -> Engine:
    """A view of ``engine`` (same pool) that translates the placeholder schema to the tenant's."""
    key = (id(engine), code.schema_name)
    with _views_lock:
        view = _views.get(key)
        if view is None:
            view = engine.execution_options(schema_translate_map={TENANT_SCHEMA: code.schema_name})
            _views[key] = view
        return view


AnySelect = Select[*tuple[Any, ...]]

# The schema name is a parameter: one statement, compiled once, serves every tenant.
_SCHEMA_PARAMETER = "kentra_tenant_schema"
_SET_SEARCH_PATH = select(
    func.set_config("search_path", bindparam(_SCHEMA_PARAMETER, type_=String), True)
)


def set_local_search_path(connection: Connection, code: MunicipalityCode) -> None:
    """Point unqualified names at the tenant schema until the current transaction ends."""
    connection.execute(_SET_SEARCH_PATH, {_SCHEMA_PARAMETER: code.schema_name})


class TenantSession(Session):
    """A session bound to one tenant schema; see the module docstring."""

    def __init__(self, engine: Engine, code: MunicipalityCode, **kwargs: Any) -> None:
        super().__init__(bind=schema_bound_engine(engine, code), **kwargs)
        self.tenant = code
        self.engine = engine  # the unbound engine the view is of
        # A connection of the engine's autocommit twin, held from the first read outside a
        # transaction until close (ADR 0032): a request's reads check out one connection.
        self._reader: PoolProxiedConnection | None = None

    def reader(self) -> PoolProxiedConnection:
        if self._reader is None or not self._reader.is_valid:
            self._reader = _autocommit_connection(self.engine)
        return self._reader

    def close(self) -> None:
        reader, self._reader = self._reader, None
        try:
            super().close()
        finally:
            if reader is not None:
                reader.close()


@event.listens_for(TenantSession, "after_begin")
def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    assert isinstance(session, TenantSession)
    set_local_search_path(connection, session.tenant)


# --- reads by the driver (ADR 0029, ADR 0032) -----------------------------------------------


class _Rendered(NamedTuple):
    sql: str
    defaults: Mapping[str, Any]  # the statement's own bound values (literals, limits)
    row: type[tuple[Any, ...]]  # a named tuple of the statement's columns


class UnqualifiedTable(ValueError):
    """A statement read by the driver names a table without a schema."""


# Statements are built once at import (module constants), so the cache holds at most
# statements × tenant schemas entries; the bound keeps a long-lived worker's memory flat.
@lru_cache(maxsize=4096)
def _rendered(statement: AnySelect, dialect: Dialect, schema: str | None) -> _Rendered:
    """``statement``'s SQL for ``dialect``, with the tenant placeholder schema written as
    ``schema`` (the same translation the tenant engine views apply per execution).

    Every table must name its schema: these reads may run outside a transaction, where no
    search path is set, and a name left to the server's default path must fail here, not
    resolve to whatever that path finds."""
    tables = find_tables(statement, include_aliases=True)
    unqualified = sorted(table.name for table in tables if not table.schema)
    if unqualified:
        raise UnqualifiedTable(f"tables without a schema: {', '.join(unqualified)}")
    if schema is None and any(table.schema == TENANT_SCHEMA for table in tables):
        raise UnqualifiedTable("a tenant table read outside a tenant session")
    translate = {TENANT_SCHEMA: schema} if schema is not None else None
    compiled = statement.compile(
        dialect=dialect, schema_translate_map=translate, render_schema_translate=bool(translate)
    )
    names = list(statement.selected_columns.keys())
    return _Rendered(compiled.string, compiled.params, namedtuple("Row", names, rename=True))


def _fetch(
    driver: psycopg.Connection[Any], rendered: _Rendered, parameters: Mapping[str, Any]
) -> list[Any]:
    with driver.cursor() as cursor:
        cursor.execute(rendered.sql, {**rendered.defaults, **parameters})
        return [rendered.row._make(values) for values in cursor.fetchall()]  # type: ignore[attr-defined]


def _as_sqlalchemy_error(
    error: psycopg.Error, rendered: _Rendered | None, dialect: Dialect, lost: bool
) -> sa_exc.StatementError:
    """``error`` as SQLAlchemy raises a driver error (psycopg's errors are this dialect's DBAPI
    errors): a ``DBAPIError`` naming no parameter, so the request boundary answers a lost
    database with 503 as for any other statement."""
    return sa_exc.DBAPIError.instance(
        rendered.sql if rendered else None,
        None,
        error,
        psycopg.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )


def _transaction_rows(
    connection: Connection, rendered: _Rendered, parameters: Mapping[str, Any]
) -> list[Any]:
    """Read on the connection's driver connection, in its current transaction."""
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        return _fetch(driver, rendered, parameters)
    except psycopg.Error as error:
        lost = connection.dialect.is_disconnect(cast(Any, error), connection.connection, None)
        if lost:
            connection.invalidate(error)
        raise _as_sqlalchemy_error(error, rendered, connection.dialect, lost) from error


def _autocommit_connection(engine: Engine) -> PoolProxiedConnection:
    """A connection of the engine's autocommit twin; a failure to connect is raised as
    SQLAlchemy raises it for a session's connection."""
    try:
        return autocommit_twin(engine).raw_connection()
    except psycopg.Error as error:
        lost = engine.dialect.is_disconnect(cast(Any, error), None, None)
        raise _as_sqlalchemy_error(error, None, engine.dialect, lost) from error


def _autocommit_rows(
    pooled: PoolProxiedConnection,
    dialect: Dialect,
    rendered: _Rendered,
    parameters: Mapping[str, Any],
) -> list[Any]:
    """Read on a connection of an autocommit twin: the statement is its own transaction, with
    no ``BEGIN`` or ``COMMIT`` round trip."""
    driver = pooled.driver_connection
    assert isinstance(driver, psycopg.Connection)
    assert driver.autocommit
    try:
        return _fetch(driver, rendered, parameters)
    except psycopg.Error as error:
        lost = dialect.is_disconnect(cast(Any, error), pooled.dbapi_connection, None)
        if lost:
            pooled.invalidate(error)
        raise _as_sqlalchemy_error(error, rendered, dialect, lost) from error


def read_rows(
    session: Session, statement: AnySelect, parameters: Mapping[str, Any] | None = None
) -> list[Any]:
    """The rows of a Core ``select``, read by the driver: for the hottest reads only (the
    tenant lookup that opens every tenant request, lists the API serves most), where
    SQLAlchemy's result layer costs more than the query. Rows are named tuples of the
    statement's columns with the driver's values: strings for enum columns (``StrEnum``
    members compare equal to them), no ORM objects.

    On a tenant session the tenant tables are written with the session's schema, as the
    engine view translates them. In the session's transaction when it has one (the read sees
    what the transaction wrote); otherwise as a transaction of its own, in autocommit, which
    reads the same in PostgreSQL's READ COMMITTED, where every statement takes a new snapshot
    anyway (ADR 0032). Parameters go to the driver as given (plain values); pending ORM
    changes are not flushed first."""
    if isinstance(session, TenantSession):
        engine, schema = session.engine, session.tenant.schema_name
    else:
        engine, schema = cast(Engine, session.get_bind()), None
    rendered = _rendered(statement, engine.dialect, schema)
    if session.in_transaction():
        return _transaction_rows(session.connection(), rendered, parameters or {})
    if isinstance(session, TenantSession):
        return _autocommit_rows(session.reader(), engine.dialect, rendered, parameters or {})
    pooled = _autocommit_connection(engine)
    try:
        return _autocommit_rows(pooled, engine.dialect, rendered, parameters or {})
    finally:
        pooled.close()


def open_tenant_session(engine: Engine, code: MunicipalityCode) -> TenantSession:
    """A new session on the tenant's schema. The caller owns commit/rollback and close."""
    return TenantSession(engine, code, expire_on_commit=False)


@contextmanager
def tenant_session(engine: Engine, code: MunicipalityCode) -> Iterator[TenantSession]:
    """A tenant session and context for one unit of work: commit on success, roll back on error."""
    with tenant_context(code), open_tenant_session(engine, code) as session, session.begin():
        yield session
