"""§7: PostgreSQL stopped and started again under a steady stream of requests.

The operator's experiment, on a throwaway server of its own (the shared embedded server under
``var/pg`` serves every other test run): requests at a steady rate to the API (public and
tenant) and to a page, the server stopped for a few seconds, then started again. A lost or
refused database connection is a 503 problem (an error page for a browser) with
``Retry-After``, logged as one line carrying the request id and no traceback; never a 500. The
platform recovers by itself: the requests after the restart succeed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask import Flask

from kentra.auth.roles import Role
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings, database_url
from kentra.platform.core.database import get_engine, recreate_database
from kentra.tenants.migrate import upgrade_all
from kentra.tenants.provisioning import create_tenant
from tests.tokens import TokenFactory

OUTAGE_SECONDS = 4.0
BEFORE_SECONDS = 2.0
AFTER_SECONDS = 3.0
INTERVAL = 0.1  # ten requests a second, twice the rate of the probe


class ThrowawayServer:
    """A PostgreSQL server in a temporary directory, with pg_ctl to stop and start it."""

    def __init__(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs and XDG_RUNTIME_DIR
            import pgserver
            from pgserver import _commands

        self._pg_ctl = _commands.pg_ctl  # type: ignore[attr-defined]
        self.root = Path(tempfile.mkdtemp(prefix="kentra-outage-"))
        self.data = self.root / "pg"
        self.server = pgserver.get_server(self.data, cleanup_mode="delete")  # type: ignore[attr-defined]
        self.uri = self.server.get_uri()
        self._socket_dir = self.server.get_postmaster_info().socket_path.parent

    def stop(self) -> None:
        # fast: open sessions are terminated (as a restart by an operator does).
        self._pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data, user=self.server.system_user)

    def start(self) -> None:
        self._pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self._socket_dir}",
                "-l",
                str(self.data / "log"),
                "start",
            ],
            pgdata=self.data,
            user=self.server.system_user,
            timeout=30,
        )

    def remove(self) -> None:
        # pgserver only stops the process it started, not the one start() made.
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def throwaway() -> Iterator[ThrowawayServer]:
    server = ThrowawayServer()
    try:
        yield server
    finally:
        server.remove()


@dataclass
class Answer:
    kind: str
    request_id: str
    started: float
    finished: float
    status: int
    mimetype: str
    retry_after: str | None
    body: str


def _outage_app(server: ThrowawayServer, tokens: TokenFactory) -> Flask:
    settings = replace(
        Settings.from_env(),
        database_url=server.uri.replace("/postgres?", "/kentra?"),
        broker_url=None,
        log_level="WARNING",
    )
    recreate_database(database_url(settings))
    engine = get_engine(settings)
    assert not upgrade_all(engine).failed
    create_tenant(engine, "4501", actor="test")
    return create_app(settings, jwks=tokens.jwks)


def test_a_database_restart_under_requests_answers_503_never_500(
    throwaway: ThrowawayServer, tokens: TokenFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    app = _outage_app(throwaway, tokens)
    staff = tokens.headers(Role.STAFF, municipality="4501")
    kinds = [
        ("api", "/api/v1/reference/municipalities/0101", {}),
        ("tenant-api", "/api/v1/municipalities/4501", staff),
        ("page", "/onboarding", {"Accept": "text/html"}),
    ]
    answers: list[Answer] = []
    lock = threading.Lock()

    def send(kind: str, path: str, headers: dict[str, str]) -> None:
        request_id = uuid.uuid4().hex
        started = time.monotonic()
        response = app.test_client().get(path, headers={**headers, "X-Request-ID": request_id})
        answer = Answer(
            kind,
            request_id,
            started,
            time.monotonic(),
            response.status_code,
            response.mimetype,
            response.headers.get("Retry-After"),
            response.get_data(as_text=True),
        )
        with lock:
            answers.append(answer)

    capsys.readouterr()
    stopping = threading.Event()
    futures: list[Future[None]] = []

    def drive(executor: ThreadPoolExecutor) -> None:
        """A steady rate, whatever each answer takes."""
        sent = 0
        next_at = time.monotonic()
        while not stopping.is_set():
            futures.append(executor.submit(send, *kinds[sent % len(kinds)]))
            sent += 1
            next_at += INTERVAL
            time.sleep(max(0.0, next_at - time.monotonic()))

    with ThreadPoolExecutor(max_workers=8) as executor:
        driver = threading.Thread(target=drive, args=(executor,))
        driver.start()
        try:
            time.sleep(BEFORE_SECONDS)
            stop_began = time.monotonic()
            throwaway.stop()
            stopped = time.monotonic()
            time.sleep(OUTAGE_SECONDS)
            start_began = time.monotonic()
            throwaway.start()
            started = time.monotonic()
            time.sleep(AFTER_SECONDS)
        finally:
            stopping.set()
            driver.join()
        for future in futures:
            future.result()
    app.extensions["kentra"].engine.dispose()
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]

    before = [a for a in answers if a.finished < stop_began]
    outage = [a for a in answers if a.started > stopped and a.finished < start_began]
    after = [a for a in answers if a.started > started]
    unavailable = [a for a in answers if a.status == 503]
    counts = {s: sum(a.status == s for a in answers) for s in sorted({a.status for a in answers})}
    print(f"{len(answers)} requests: {counts}; outage {len(outage)}, after {len(after)}")
    assert {a.status for a in answers} <= {200, 503}, counts  # never a 500
    assert len(before) >= 10
    assert all(a.status == 200 for a in before)
    assert len(outage) >= 25
    assert all(a.status == 503 for a in outage)
    # The platform recovers by itself: the pool replaces the connections the restart killed.
    assert len(after) >= 20
    assert all(a.status == 200 for a in after), [a.status for a in after]

    for answer in unavailable:
        assert answer.retry_after is not None
        assert int(answer.retry_after) > 0
        if answer.kind == "page":  # a browser gets the error page, in the layout
            assert answer.mimetype == "text/html"
            assert "Η υπηρεσία δεν είναι διαθέσιμη προσωρινά" in answer.body
        else:
            assert answer.mimetype == "application/problem+json"
            problem = json.loads(answer.body)
            assert problem["status"] == 503
            assert problem["title"] == "Service Unavailable"
        assert "Traceback" not in answer.body
        assert "psycopg" not in answer.body

    # One line per failed request, with its request id and no traceback; nothing else.
    assert all("exc_info" not in r and "Traceback" not in json.dumps(r) for r in records)
    by_request: dict[str, list[dict[str, object]]] = {}
    for record in records:
        by_request.setdefault(str(record.get("request_id")), []).append(record)
    for answer in unavailable:
        lines = by_request.pop(answer.request_id, [])
        assert len(lines) == 1, lines
        assert lines[0]["message"] == "database unavailable"
        assert lines[0]["level"] == "WARNING"
        assert str(lines[0]["error_type"]).startswith("sqlalchemy.exc.")
    assert by_request == {}, "log lines of no failed request"
