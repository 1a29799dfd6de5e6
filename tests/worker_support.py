"""Waiting for the real Celery worker, without sleeping blindly.

``with delivered():`` records every task this process sends inside the block (Celery's
``after_task_publish`` signal: the subscribers an event sends after the commit, a fan-out's
dispatch) and, when the block ends normally, waits for each one's result from the worker; a
task that failed fails the test with its error. ``wait_for_run`` waits for a fan-out run to
finish (the worker sends its tenants' tasks, which this process does not see).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery.result import AsyncResult
from celery.signals import after_task_publish
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.tasks import app as celery_app
from kentra.tasks.models import FanoutRun

TIMEOUT = 60


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
