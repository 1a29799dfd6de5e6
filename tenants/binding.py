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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Select,
    String,
    bindparam,
    event,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.orm import Session, SessionTransaction

from kentra.platform.core.models import TENANT_SCHEMA
from kentra.tenants.codes import MunicipalityCode

_current_tenant: ContextVar[MunicipalityCode | None] = ContextVar("kentra_tenant", default=None)
_views_lock = threading.Lock()
_views: dict[tuple[int, str], Engine] = {}


def current_tenant() -> MunicipalityCode | None:
    """The tenant the current request or task acts for, if any (used by logs and tasks)."""
    return _current_tenant.get()


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
        self._opened_with: Row[Any] | None = None


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
    session._opened_with = connection.execute(
        _with_search_path(query), {**parameters, _SCHEMA_PARAMETER: session.tenant.schema_name}
    ).one()


def begin_tenant_session(
    session: TenantSession, query: AnySelect, parameters: Mapping[str, Any]
) -> Row[Any]:
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
