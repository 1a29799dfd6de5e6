"""The process's database engine and the unbound (shared-schema) session.

Sessions bound to a tenant schema come only from :mod:`kentra.tenants.binding`. The request
or task boundary owns the transaction: it commits once on success and rolls back otherwise;
domain operations only flush.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from kentra.platform.core.config import DEFAULT_PREPARE_THRESHOLD, Settings, database_url

if TYPE_CHECKING:
    from flask import Flask, Response

_lock = threading.Lock()
_engines: dict[tuple[str, int, int, int | None], Engine] = {}


# A pooled connection idle for longer than this is pinged before it is handed out (ADR 0028).
PING_AFTER_IDLE_S = 1.0
_IDLE_SINCE = "kentra_idle_since"


def make_engine(
    url: URL,
    *,
    pool_size: int = 5,
    max_overflow: int = 5,
    prepare_threshold: int | None = DEFAULT_PREPARE_THRESHOLD,
) -> Engine:
    engine, twin = (
        _create_engine(url, pool_size, max_overflow, prepare_threshold, autocommit)
        for autocommit in (False, True)
    )
    _autocommit_twins[engine] = twin
    return engine


def _create_engine(
    url: URL, pool_size: int, max_overflow: int, prepare_threshold: int | None, autocommit: bool
) -> Engine:
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        # Bound parameters are people's names and addresses: never in an exception's text.
        hide_parameters=True,
        connect_args=connect_args(prepare_threshold),
        # An autocommit connection never holds a transaction: nothing to roll back on return.
        **({"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None} if autocommit else {}),
    )
    ping_idle_connections(engine)
    return engine


# Each engine's twin for reads that are a transaction of their own (ADR 0032): same URL, pool
# shape and driver settings, its connections in driver autocommit for good. Switching a
# pooled connection into autocommit and back costs a read more than a pool of its own.
_autocommit_twins: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def autocommit_twin(engine: Engine) -> Engine:
    """The autocommit twin of an engine made by ``make_engine``. Its connections never hold a
    transaction: each statement is one, and nothing it runs can be rolled back."""
    try:
        return _autocommit_twins[engine]
    except KeyError:
        raise LookupError(
            "the engine was not made by make_engine: it has no autocommit twin"
        ) from None


def ping_idle_connections(engine: Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, for connections idle longer than PING_AFTER_IDLE_S only.

    A pre-ping on every checkout is a round trip per request. A connection back in use within
    the second cannot have gone stale unnoticed by much: if the server went away meanwhile, the
    request that finds out is a 503 (``database_unavailable``) and the pool drops every older
    connection, as after a failed ping."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # None: connected just now
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except psycopg.Error as error:
            # The pool invalidates it and hands out another (a new one if need be).
            raise sa_exc.DisconnectionError("the pooled connection did not answer") from error


def connect_args(prepare_threshold: int | None) -> dict[str, Any]:
    """psycopg's connection arguments. ``prepare_threshold=None`` never prepares a statement
    on the server: a transaction-pooling PgBouncer (before 1.21) hands the next transaction
    to another server connection, where the prepared name does not exist (ADR 0022)."""
    return {"application_name": "kentra", "prepare_threshold": prepare_threshold}


def prepare_threshold_of(engine: Engine) -> int | None:
    """The prepare threshold ``engine``'s connections use (for engines made elsewhere from its
    URL, e.g. the migration runner's worker processes)."""
    with engine.connect() as conn:
        threshold: int | None = getattr(
            conn.connection.dbapi_connection, "prepare_threshold", DEFAULT_PREPARE_THRESHOLD
        )
    return threshold


# A server going away or not accepting sessions yet: admin_shutdown, crash_shutdown,
# cannot_connect_now. Class 08 is connection_exception.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def database_unavailable(error: BaseException) -> bool:
    """Whether ``error`` (or what caused it) is a lost, refused or exhausted database
    connection: a state that passes by itself (a 503 to retry), unlike a failed statement."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in seen):
        seen.append(current)
        # TimeoutError: no pooled connection came free in time.
        if isinstance(current, sa_exc.TimeoutError | sa_exc.DisconnectionError):
            return True
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, psycopg.OperationalError):
            sqlstate = current.sqlstate  # None: the client lost or never got a connection
            if sqlstate is None or sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES:
                return True
        current = current.__cause__ or current.__context__
    return False


def get_engine(settings: Settings) -> Engine:
    """One engine per database URL, pool shape and prepare threshold, created on first use."""
    url = database_url(settings)
    key = (
        url.render_as_string(hide_password=False),
        settings.pool_size,
        settings.max_overflow,
        settings.db_prepare_threshold,
    )
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = make_engine(
                url,
                pool_size=settings.pool_size,
                max_overflow=settings.max_overflow,
                prepare_threshold=settings.db_prepare_threshold,
            )
            _engines[key] = engine
        return engine


def forget_inherited_connections() -> None:
    """In a forked child: drop the parent's pooled connections without closing them.

    Closing would send a terminate message on sockets the parent still uses.
    """
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
            autocommit_twin(engine).dispose(close=False)


# --- the request boundary -------------------------------------------------------------------

_SESSION_KEY = "_kentra_session"


def request_session() -> Session:
    """The session of the current request: the tenant-bound one on tenant URLs, else shared."""
    from flask import current_app, g  # noqa: PLC0415

    session: Session | None = g.get(_SESSION_KEY)
    if session is None:
        session = Session(current_app.extensions["kentra"].engine, expire_on_commit=False)
        setattr(g, _SESSION_KEY, session)
    return session


def set_request_session(session: Session) -> None:
    """Install the request's session (called by kentra.tenants.routing for tenant URLs)."""
    from flask import g  # noqa: PLC0415

    if g.get(_SESSION_KEY) is not None:
        raise RuntimeError("the request already has a database session")
    setattr(g, _SESSION_KEY, session)


def init_request_boundary(app: Flask) -> None:
    """Commit once when the response is a success, roll back otherwise, always close."""
    from flask import g  # noqa: PLC0415

    @app.after_request
    def _finish_transaction(response: Response) -> Response:
        session: Session | None = g.get(_SESSION_KEY)
        # A request that only read outside a transaction (ADR 0032) has nothing to end.
        if session is not None and session.in_transaction():
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response

    @app.teardown_request
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop(_SESSION_KEY, None)
        if session is not None:
            session.close()


# --- scratch databases (tests, benchmarks) ----------------------------------------------------


def sibling_database_url(settings: Settings, name: str) -> URL:
    """The URL of database ``name`` on the same server as the configured (or embedded) one."""
    return database_url(settings).set(database=name)


def recreate_database(url: URL) -> None:
    """Drop database ``url.database`` if it exists (ending its sessions) and create it empty."""
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    maintenance = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(
        maintenance.render_as_string(hide_password=False), autocommit=True
    ) as conn:
        name = sql.Identifier(str(url.database))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
