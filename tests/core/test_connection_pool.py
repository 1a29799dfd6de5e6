"""The pool pings a connection before handing it out only when it has been idle for longer than
PING_AFTER_IDLE_S (ADR 0028): a connection back in use at once costs no round trip; one that
sat idle and was ended meanwhile is replaced; one ended while in steady use fails the request
that finds out (a 503) and the pool replaces it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy import exc as sa_exc

from kentra.platform.core import database
from kentra.platform.core.config import Settings, database_url
from kentra.platform.core.database import database_unavailable, make_engine
from tests.conftest import admin_database_url


@pytest.fixture
def single(settings: Settings) -> Iterator[Engine]:
    """A pool of one connection, so every checkout is the same one. Straight to PostgreSQL
    even when the suite runs through PgBouncer: ending a server session there would end
    PgBouncer's server connection, not this pool's."""
    engine = make_engine(
        admin_database_url() or database_url(settings),
        pool_size=1,
        max_overflow=0,
        prepare_threshold=settings.db_prepare_threshold,
    )
    yield engine
    engine.dispose()


@pytest.fixture
def pings(single: Engine, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every ping the pool sends, with whether the connection answered."""
    sent: list[bool] = []
    ping = single.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        try:
            answered = ping(dbapi_connection)
        except Exception:
            sent.append(False)
            raise
        sent.append(answered)
        return answered

    monkeypatch.setattr(single.dialect, "do_ping", counted)
    return sent


def backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.pg_backend_pid())) or 0)


def end_backend(engine: Engine, pid: int) -> None:
    """The server ends the session, as a restart or an administrator would."""
    with engine.connect() as conn:
        ended = conn.scalar(select(func.pg_terminate_backend(pid)))
    assert ended


def test_a_connection_back_in_use_at_once_is_not_pinged(single: Engine, pings: list[bool]) -> None:
    first = backend(single)
    assert [backend(single) for _ in range(5)] == [first] * 5
    assert pings == []


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced_when_it_was_ended(
    single: Engine, pings: list[bool], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = backend(single)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)
    assert backend(single) == first
    assert pings == [True]
    end_backend(engine, first)
    replaced = backend(single)
    assert replaced != first
    assert pings == [True, False]


def test_a_connection_ended_while_in_steady_use_fails_one_request_then_is_replaced(
    single: Engine, pings: list[bool], engine: Engine
) -> None:
    first = backend(single)
    end_backend(engine, first)
    with pytest.raises(sa_exc.OperationalError) as failed:
        backend(single)
    assert failed.value.connection_invalidated
    assert database_unavailable(failed.value)  # the request's answer is a 503
    assert backend(single) != first
    assert pings == []
