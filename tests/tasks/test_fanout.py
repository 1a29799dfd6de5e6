"""The fan-out (ADR 0036): a tenant task over chosen or all active tenants in batches through
the real worker, its record (done, failed, retried, duration) kept by each tenant's task, a
failing tenant retried then failed by its error's type, the run closed by the last tenant;
the refill every half batch (never more than a batch in flight, never less than half while
tenants wait); and the ministry's progress pages and API.

Scratch municipalities: 6201 (Δήμος Καρπάθου), 6202 (Δήμος Ηρωικής Νήσου Κάσου), 6401 (Δήμος Κω)
and 6402 (Δήμος Νισύρου); the record alone, without tenants: 9901–9911.
"""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Callable, Iterator
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME
from kentra.platform.web.i18n import LANGUAGE_COOKIE
from kentra.tasks import app as celery_app
from kentra.tasks import fanout
from kentra.tasks.fanout import (
    MAX_RETRIES,
    Counted,
    record_done,
    record_failure,
    refill,
    refill_due,
    refill_step,
    run_here,
    start_fanout,
)
from kentra.tasks.models import FanoutRun, FanoutTenant, RunStatus, TenantState
from kentra.tenants.codes import MunicipalityCode
from tests.helpers import removed_afterwards
from tests.tokens import TokenFactory
from tests.worker_support import delivered, wait_for_run

Scratch = Callable[..., list[MunicipalityCode]]
BROKEN_NAME = "Δήμος Ηρωικής Νήσου Κάσου"


@pytest.fixture
def runs(engine: Engine) -> Iterator[list[int]]:
    """Ids of the runs a test starts; removed afterwards (with their tenants' rows)."""
    with removed_afterwards(engine, FanoutRun.id) as made:
        yield made


@pytest.fixture
def broken(engine: Engine, scratch_tenants: Scratch) -> MunicipalityCode:
    """An active tenant whose schema lost its units table: every recompute of it fails."""
    (code,) = scratch_tenants("6202")
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE "{code.schema_name}".units CASCADE'))
    return code


def start(engine: Engine, runs: list[int], *, send: bool = True, **options: object) -> int:
    with delivered(), Session(engine) as session, session.begin():
        run = start_fanout(session, RECOMPUTE_TASK_NAME, actor="test", send=send, **options)  # type: ignore[arg-type]
        runs.append(run.id)
    return runs[-1]


def tenant_rows(engine: Engine, run_id: int) -> dict[str, tuple[TenantState, int, str | None]]:
    with Session(engine) as session:
        return {
            row.municipality_code: (row.state, row.attempts, row.error_type)
            for row in session.scalars(select(FanoutTenant).where(FanoutTenant.run_id == run_id))
        }


def test_a_failing_tenant_is_retried_then_failed_and_the_others_done(
    engine: Engine,
    worker: subprocess.Popen[bytes],
    tenant_a: MunicipalityCode,
    broken: MunicipalityCode,
    runs: list[int],
) -> None:
    run_id = start(engine, runs, tenants=[tenant_a.value, broken.value], details={"why": 1})
    run = wait_for_run(engine, run_id, timeout=90)
    assert (run.status, run.total, run.done, run.failed) == (RunStatus.FAILED, 2, 1, 1)
    assert run.retried == MAX_RETRIES
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.duration == run.finished_at - run.started_at
    assert run.details == {"why": 1}
    assert tenant_rows(engine, run_id) == {
        tenant_a.value: (TenantState.DONE, 1, None),
        broken.value: (TenantState.FAILED, 1 + MAX_RETRIES, "ProgrammingError"),
    }


def test_every_active_tenant_in_batches_of_one(
    engine: Engine, worker: subprocess.Popen[bytes], scratch_tenants: Scratch, runs: list[int]
) -> None:
    scratch_tenants("6201")
    run_id = start(engine, runs, batch_size=1)
    run = wait_for_run(engine, run_id)
    assert run.status is RunStatus.DONE
    assert run.done == run.total >= 3  # 4501, 7101, 6201 at least
    assert run.failed == run.retried == 0
    states = tenant_rows(engine, run_id)
    assert "6201" in states
    assert {state for state, _attempts, _error in states.values()} == {TenantState.DONE}


def test_a_run_is_recorded_with_its_transaction_and_an_empty_one_is_finished(
    engine: Engine, tenant_a: MunicipalityCode, runs: list[int]
) -> None:
    with (
        delivered() as sent,
        pytest.raises(RuntimeError),
        Session(engine) as session,
        session.begin(),
    ):
        start_fanout(session, RECOMPUTE_TASK_NAME, actor="test", tenants=[tenant_a.value])
        raise RuntimeError("undone")
    assert sent == []  # the dispatch went with the rollback
    with Session(engine) as session:
        assert session.scalar(select(FanoutRun.id).where(FanoutRun.actor == "test")) is None
    run_id = start(engine, runs, tenants=[])
    with Session(engine) as session:
        run = session.get_one(FanoutRun, run_id)
        assert (run.status, run.total) == (RunStatus.DONE, 0)
        assert run.finished_at is not None
        assert run.duration is not None


def test_run_here_keeps_the_same_record_without_a_worker(
    engine: Engine, tenant_a: MunicipalityCode, broken: MunicipalityCode, runs: list[int]
) -> None:
    run_id = start(engine, runs, send=False, tenants=[tenant_a.value, broken.value])
    run = run_here(engine, run_id)
    assert (run.status, run.done, run.failed, run.retried) == (
        RunStatus.FAILED,
        1,
        1,
        MAX_RETRIES,
    )
    assert tenant_rows(engine, run_id)[broken.value] == (
        TenantState.FAILED,
        1 + MAX_RETRIES,
        "ProgrammingError",
    )


def test_every_active_tenant_in_batches_of_four_refilled_every_two(
    engine: Engine, worker: subprocess.Popen[bytes], scratch_tenants: Scratch, runs: list[int]
) -> None:
    scratch_tenants("6201", "6401", "6402")
    run_id = start(engine, runs, batch_size=4)
    run = wait_for_run(engine, run_id)
    assert run.status is RunStatus.DONE
    assert run.done == run.total >= 5  # 4501, 7101 and the three at least: refilled twice
    states = tenant_rows(engine, run_id)
    assert {state for state, _attempts, _error in states.values()} == {TenantState.DONE}
    assert {attempts for _state, attempts, _error in states.values()} == {1}


@pytest.mark.parametrize(("batch_size", "step"), [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (64, 32)])
def test_a_run_is_refilled_every_half_batch(batch_size: int, step: int) -> None:
    assert refill_step(batch_size) == step
    due = [
        finished
        for finished in range(1, 11)
        if refill_due(Counted(finished - 1, 1, 10, batch_size), "done")
    ]
    assert due == list(range(step, 10, step))  # not the 10th: it closes the run
    assert refill_due(Counted(step, 0, 100, batch_size), "failed")
    assert not refill_due(Counted(0, 0, 10, batch_size), "retried")  # it stays in flight
    assert refill_due(None, "done")  # a redelivered message: as before, it refills


def test_refilled_every_half_batch_never_more_than_a_batch_nor_less_than_half_in_flight(
    engine: Engine, runs: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's steps by hand, in the order a queue serves them (codes of no tenant: the
    record alone is exercised): one tenant retried, one failed for good, one redelivered."""
    codes = [f"99{n:02d}" for n in range(1, 12)]  # 11 tenants, a batch of 4: refilled every 2
    queue: list[str] = []
    celery_app.loader.import_default_modules()
    task = celery_app.tasks[RECOMPUTE_TASK_NAME]
    monkeypatch.setattr(task, "apply_async", lambda tenant, **_options: queue.append(tenant.value))
    run_id = start(engine, runs, send=False, tenants=codes, batch_size=4)
    fanout._mark_started(engine, run_id)
    assert refill(engine, run_id) == 4

    def in_flight() -> int:
        states = tenant_rows(engine, run_id).values()
        return sum(state in (TenantState.QUEUED, TenantState.RETRYING) for state, _a, _e in states)

    def pending() -> int:
        states = tenant_rows(engine, run_id).values()
        return sum(state is TenantState.PENDING for state, _a, _e in states)

    served = 0
    while queue:
        code = queue.pop(0)
        served += 1
        if code == "9902" and served == 2:  # fails once, then is retried (still in flight)
            assert not record_failure(engine, run_id, code, "OperationalError", final=False)
            queue.append(code)
            continue
        if code == "9905":  # fails for good
            due = record_failure(engine, run_id, code, "ProgrammingError", final=True)
        else:
            with Session(engine) as session, session.begin():
                due = record_done(session, run_id, code)
        if due:
            refill(engine, run_id)
        assert in_flight() <= 4
        assert in_flight() >= 2 or pending() == 0
    with Session(engine) as session, session.begin():
        assert record_done(session, run_id, "9901")  # redelivered: nothing counted, refills
    assert refill(engine, run_id) == 0
    with Session(engine) as session:
        run = session.get_one(FanoutRun, run_id)
        assert (run.status, run.total, run.done, run.failed, run.retried) == (
            RunStatus.FAILED,
            11,
            10,
            1,
            1,
        )
        assert run.finished_at is not None
    rows = tenant_rows(engine, run_id)
    assert rows["9902"] == (TenantState.DONE, 2, "OperationalError")
    assert rows["9905"] == (TenantState.FAILED, 1, "ProgrammingError")
    assert {rows[code][:2] for code in codes if code not in ("9902", "9905")} == {
        (TenantState.DONE, 1)
    }


def page_text(response: object) -> str:
    raw = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return html.unescape(re.sub(r"\s+", " ", raw))


def test_the_ministry_follows_runs_and_sees_failures_by_name(
    client: FlaskClient,
    tokens: TokenFactory,
    engine: Engine,
    tenant_a: MunicipalityCode,
    broken: MunicipalityCode,
    runs: list[int],
) -> None:
    run_id = start(engine, runs, send=False, tenants=[tenant_a.value, broken.value])
    run_here(engine, run_id)
    ministry = tokens.headers(Role.MINISTRY_OFFICER)

    listing = client.get("/ministry/jobs", headers=ministry)
    assert listing.status_code == 200
    raw = listing.get_data(as_text=True)
    assert f'<label for="run-{run_id}">' in raw
    assert re.search(rf'<progress id="run-{run_id}" max="2" value="2">', raw)
    assert f'href="/ministry/jobs/{run_id}"' in raw
    assert "Επανυπολογισμός συμμόρφωσης" in page_text(listing)

    page = client.get(f"/ministry/jobs/{run_id}", headers=ministry)
    assert page.status_code == 200
    shown = page_text(page)
    assert BROKEN_NAME in shown
    assert "ProgrammingError" in shown
    assert "Απέτυχε" in shown
    assert 'role="status"' in page.get_data(as_text=True)
    assert "Refresh" not in page.headers  # finished
    # Times in Europe/Athens (UTC+2 or +3), as dd/mm/yyyy HH:MM.
    with Session(engine) as session:
        started = session.get_one(FanoutRun, run_id).started_at
    assert started is not None
    local = started.astimezone(ZoneInfo("Europe/Athens"))
    assert local.strftime("%d/%m/%Y %H:%M") in shown

    client.set_cookie(LANGUAGE_COOKIE, "en")
    english = client.get(f"/ministry/jobs/{run_id}", headers=ministry)
    client.delete_cookie(LANGUAGE_COOKIE)
    assert "Compliance recalculation" in page_text(english)

    api = client.get(f"/api/v1/jobs/{run_id}", headers=ministry)
    assert api.status_code == 200
    body = api.get_json()
    assert (body["status"], body["done"], body["failed"], body["retried"]) == (
        "failed",
        1,
        1,
        MAX_RETRIES,
    )
    assert body["duration_seconds"] >= 0
    assert body["problems"] == [
        {
            "municipality_code": broken.value,
            "municipality_name": BROKEN_NAME,
            "state": "failed",
            "attempts": 1 + MAX_RETRIES,
            "error_type": "ProgrammingError",
        }
    ]
    listed = client.get("/api/v1/jobs", headers=ministry).get_json()["runs"]
    assert run_id in [r["id"] for r in listed]
    assert client.get("/api/v1/jobs/987654321", headers=ministry).status_code == 404
    assert client.get("/ministry/jobs/987654321", headers=ministry).status_code == 404


@pytest.mark.parametrize(
    "role", [Role.REGIONAL_OFFICER, Role.MUNICIPALITY_ADMIN, Role.PLATFORM_OPERATOR]
)
def test_only_the_ministry_sees_the_jobs(
    client: FlaskClient, tokens: TokenFactory, role: Role
) -> None:
    headers = tokens.headers(role, municipality="4501", region="EL30")
    assert client.get("/ministry/jobs", headers=headers).status_code == 403
    assert client.get("/api/v1/jobs", headers=headers).status_code == 403
    assert client.get("/api/v1/jobs").status_code == 401
