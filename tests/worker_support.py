"""Starting a real Celery worker, and waiting for it without sleeping blindly.

``with delivered():`` records every task this process sends inside the block (Celery's
``after_task_publish`` signal: the subscribers an event sends after the commit, a fan-out's
dispatch) and, when the block ends normally, waits for each one's result from the worker; a
task that failed fails the test with its error. ``wait_for_run`` waits for a fan-out run to
finish (the worker sends its tenants' tasks, which this process does not see).
``running_worker`` runs the worker process itself (the tests' session worker, B4's).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery.result import AsyncResult
from celery.signals import after_task_publish
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.tasks import app as celery_app
from kentra.tasks import worker_command
from kentra.tasks.models import FanoutRun

TIMEOUT = 60


class WorkerDidNotStart(RuntimeError):
    """The Celery worker exited, or was not ready in time."""


@contextmanager
def running_worker(
    pool: tuple[str, ...],
    *,
    hostname: str,
    log: Path,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = 90,
) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process (``pool``: its pool options) for the block, once it is ready,
    its output in ``log``; stopped when the block ends. It logs at INFO, whatever ``env``
    says, so that its "ready." line can be waited for; if it exits or is not ready within
    ``timeout`` seconds it is stopped and ``WorkerDidNotStart`` raised with the end of its log."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            worker_command(
                *pool,
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                hostname,
            ),
            cwd=cwd,
            env={**env, "KENTRA_LOG_LEVEL": "INFO"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while b"ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-4000:]
                raise WorkerDidNotStart(f"the Celery worker did not start (see {log}):\n{tail}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextmanager
def delivered(timeout: float = TIMEOUT) -> Iterator[list[str]]:
    """Run the block, then wait until the worker has run every task sent during it."""
    sent: list[str] = []

    def record(sender: Any = None, headers: Any = None, **_kwargs: Any) -> None:
        sent.append(str(headers["id"]))

    after_task_publish.connect(record, weak=False)
    try:
        yield sent
    finally:
        after_task_publish.disconnect(record)
    for task_id in sent:
        AsyncResult(task_id, app=celery_app).get(timeout=timeout, propagate=True)


def wait_for_run(engine: Engine, run_id: int, timeout: float = TIMEOUT) -> FanoutRun:
    """The run once it has finished (checked in the database every 0.2 s, up to ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine, expire_on_commit=False) as session:
            run = session.get_one(FanoutRun, run_id)
            if run.finished_at is not None:
                return run
        assert time.monotonic() < deadline, f"fan-out run {run_id} did not finish"
        time.sleep(0.2)
