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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select
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


def set_local_search_path(connection: Connection, code: MunicipalityCode) -> None:
    """Point unqualified names at the tenant schema until the current transaction ends."""
    connection.execute(select(func.set_config("search_path", code.schema_name, True)))


class TenantSession(Session):
    """A session bound to one tenant schema; see the module docstring."""

    def __init__(self, engine: Engine, code: MunicipalityCode, **kwargs: Any) -> None:
        super().__init__(bind=schema_bound_engine(engine, code), **kwargs)
        self.tenant = code
        event.listen(self, "after_begin", _after_begin)


def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    assert isinstance(session, TenantSession)
    set_local_search_path(connection, session.tenant)


def open_tenant_session(engine: Engine, code: MunicipalityCode) -> TenantSession:
    """A new session on the tenant's schema. The caller owns commit/rollback and close."""
    return TenantSession(engine, code, expire_on_commit=False)


@contextmanager
def tenant_session(engine: Engine, code: MunicipalityCode) -> Iterator[TenantSession]:
    """A tenant session and context for one unit of work: commit on success, roll back on error."""
    with tenant_context(code), open_tenant_session(engine, code) as session, session.begin():
        yield session
