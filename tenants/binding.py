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
    literal,
    select,
    true,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction

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


@lru_cache(maxsize=8)
def _with_search_path(query: AnySelect) -> AnySelect:
    """``query`` (at most one row, shared tables only) in the statement that sets the search
    path: one row always, the search path set exactly once whatever ``query`` finds; the
    columns of ``query`` are NULL when it finds nothing."""
    found = query.subquery("found")
    one = select(literal(1).label("one")).subquery("one")
    path = func.set_config("search_path", bindparam(_SCHEMA_PARAMETER, type_=String), True)
    return select(path.label("search_path"), *found.c).select_from(one.outerjoin(found, true()))


class TenantSession(Session):
    """A session bound to one tenant schema; see the module docstring."""

    def __init__(self, engine: Engine, code: MunicipalityCode, **kwargs: Any) -> None:
        super().__init__(bind=schema_bound_engine(engine, code), **kwargs)
        self.tenant = code
        # Set by begin_tenant_session: run with the first transaction's search path.
        self._opening: tuple[AnySelect, Mapping[str, Any]] | None = None
        self._opened_with: Any = None


# --- reads by the driver (ADR 0029) ---------------------------------------------------------


class _Rendered(NamedTuple):
    sql: str
    defaults: Mapping[str, Any]  # the statement's own bound values (literals, limits)
    row: type[tuple[Any, ...]]  # a named tuple of the statement's columns


# Statements are built once at import (module constants), so the cache holds at most
# statements × tenant schemas entries; the bound keeps a long-lived worker's memory flat.
@lru_cache(maxsize=4096)
def _rendered(statement: AnySelect, dialect: Dialect, schema: str | None) -> _Rendered:
    """``statement``'s SQL for ``dialect``, with the tenant placeholder schema written as
    ``schema`` (the same translation the tenant engine views apply per execution)."""
    translate = {TENANT_SCHEMA: schema} if schema is not None else None
    compiled = statement.compile(
        dialect=dialect, schema_translate_map=translate, render_schema_translate=bool(translate)
    )
    names = list(statement.selected_columns.keys())
    return _Rendered(compiled.string, compiled.params, namedtuple("Row", names, rename=True))


def _driver_rows(
    connection: Connection,
    statement: AnySelect,
    schema: str | None,
    parameters: Mapping[str, Any],
) -> list[Any]:
    """Run ``statement`` on the connection's driver connection, in its current transaction,
    and read every row as a named tuple. Driver errors are raised as SQLAlchemy raises them
    (a ``DBAPIError`` without parameters, the connection invalidated when it was lost), so the
    request boundary answers a lost database with 503 as for any other statement."""
    rendered = _rendered(statement, connection.dialect, schema)
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor:
            cursor.execute(rendered.sql, {**rendered.defaults, **parameters})
            return [rendered.row._make(values) for values in cursor.fetchall()]  # type: ignore[attr-defined]
    except psycopg.Error as error:
        # psycopg's errors are the DBAPI's errors of this dialect.
        lost = connection.dialect.is_disconnect(cast(Any, error), connection.connection, None)
        if lost:
            connection.invalidate(error)
        raise sa_exc.DBAPIError.instance(
            rendered.sql,
            None,
            error,
            psycopg.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=connection.dialect,
        ) from error


def read_rows(
    session: Session, statement: AnySelect, parameters: Mapping[str, Any] | None = None
) -> list[Any]:
    """The rows of a Core ``select`` in the session's transaction, read by the driver: for the
    hottest reads only (lists the API serves most), where SQLAlchemy's result layer costs more
    than the query. Rows are named tuples of the statement's columns with the driver's values:
    strings for enum columns (``StrEnum`` members compare equal to them), no ORM objects.

    On a tenant session the tenant tables are written with the session's schema, as the
    engine view translates them; the statement runs after the transaction's search path was
    set, like every other. Parameters go to the driver as given (plain values)."""
    schema = session.tenant.schema_name if isinstance(session, TenantSession) else None
    return _driver_rows(session.connection(), statement, schema, parameters or {})


@event.listens_for(TenantSession, "after_begin")
def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    assert isinstance(session, TenantSession)
    opening, session._opening = session._opening, None
    if opening is None:
        set_local_search_path(connection, session.tenant)
        return
    query, parameters = opening
    # By the driver: this statement opens every tenant request (ADR 0029).
    (session._opened_with,) = _driver_rows(
        connection,
        _with_search_path(query),
        None,  # the lookup reads shared tables only
        {**parameters, _SCHEMA_PARAMETER: session.tenant.schema_name},
    )


def begin_tenant_session(
    session: TenantSession, query: AnySelect, parameters: Mapping[str, Any]
) -> Any:
    """Begin the session's first transaction with ``query`` (at most one row, shared tables
    only) run in the statement that sets the search path: one round trip for both. Its row,
    with NULL columns when it found nothing; the row's ``search_path`` column is not ``query``'s.
    """
    if session.in_transaction():
        raise RuntimeError("the tenant session has begun already")
    session._opening = (query, parameters)
    session.connection()  # begins: _after_begin runs the statement
    found, session._opened_with = session._opened_with, None
    assert found is not None
    return found


def open_tenant_session(engine: Engine, code: MunicipalityCode) -> TenantSession:
    """A new session on the tenant's schema. The caller owns commit/rollback and close."""
    return TenantSession(engine, code, expire_on_commit=False)


@contextmanager
def tenant_session(engine: Engine, code: MunicipalityCode) -> Iterator[TenantSession]:
    """A tenant session and context for one unit of work: commit on success, roll back on error."""
    with tenant_context(code), open_tenant_session(engine, code) as session, session.begin():
        yield session
