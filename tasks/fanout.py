"""One tenant task over many tenants: the fan-out, and its record in the shared schema.

:func:`start_fanout` writes a run (:class:`~kentra.tasks.models.FanoutRun`) with one row per
tenant — every active tenant, or the ones asked for — in the caller's transaction, and sends
:func:`dispatch` once it commits. The run is then driven by Celery, in batches:

- ``dispatch`` marks the run started and sends the first ``batch_size`` tenants' tasks (the
  named :class:`~kentra.tasks.base.TenantTask`, with the run's id in the ``kentra_fanout``
  header);
- each tenant's task records itself done **in the same transaction as its work**
  (:func:`record_done`), or, when its work fails and rolls back, records the attempt and is
  sent again by Celery's retry, at most :data:`MAX_RETRIES` times, after which it is failed —
  its error's *type* kept, never its message;
- every half batch of tenants that finish, :func:`refill` sends the next pending tenants (see
  :func:`refill_due`), so that at most ``batch_size`` of a run wait in the queue at once and
  other work is not stuck behind a whole country's batch;
- the tenant that finishes last closes the run (finished time, status ``done``, or
  ``failed`` if any tenant failed) in the same statement that records and counts it.

:func:`run_here` drives a run in this process instead (``kentra compliance recompute``): the
same task bodies and record, one tenant after another, without a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

from celery import Task
from sqlalchemy import (
    Engine,
    Table,
    Update,
    and_,
    bindparam,
    case,
    func,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from kentra.platform.core.database import get_engine
from kentra.platform.core.models import utcnow
from kentra.tasks.celery_app import celery
from kentra.tasks.models import (
    FINISHED,
    IN_FLIGHT,
    FanoutRun,
    FanoutTenant,
    RunStatus,
    TenantState,
)
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

if TYPE_CHECKING:
    from kentra.tasks.base import TenantTask

log = logging.getLogger(__name__)

FANOUT_HEADER = "kentra_fanout"
DISPATCH_TASK_NAME = "kentra.fanout.dispatch"
# Tenants of one run waiting in the queue at once. It bounds the run's pace too: every half
# batch, a tenant that finishes sends the next ones, which the embedded broker (kombu's
# SQLAlchemy transport) hands out at its next poll, once a second, so a run moves at most a
# batch a second there. 64 keeps two
# worker processes busy (B4: 332 tenants in seconds; a batch of 8 took 36 s) while another
# municipality's task still waits behind 64 short tasks at most, not the whole country.
BATCH_SIZE = 64
# A tenant's task is tried 1 + MAX_RETRIES times; the waits double from RETRY_DELAY seconds.
MAX_RETRIES = 2
RETRY_DELAY = 2


def retry_delay(retries: int) -> int:
    """Seconds before attempt ``retries + 2`` (2, 4, …)."""
    return int(RETRY_DELAY * 2**retries)


def active_tenant_codes(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Tenant.code).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.code)
        )
    )


def start_fanout(
    session: Session,
    task_name: str,
    *,
    actor: str,
    tenants: Iterable[str] | None = None,
    details: Mapping[str, Any] | None = None,
    batch_size: int = BATCH_SIZE,
    send: bool = True,
) -> FanoutRun:
    """A run of the tenant task ``task_name`` over ``tenants`` (codes; default: every active
    tenant), recorded in ``session``'s transaction; with ``send``, dispatched by Celery once
    it commits. ``details`` holds ids only (it is shown to the ministry). Flushes."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    codes = (
        sorted({parse_municipality_code(code).value for code in tenants})
        if tenants is not None
        else active_tenant_codes(session)
    )
    run = FanoutRun(
        task_name=task_name,
        actor=actor,
        status=RunStatus.QUEUED,
        details=dict(details or {}),
        batch_size=batch_size,
        total=len(codes),
        done=0,
        failed=0,
        retried=0,
    )
    session.add(run)
    session.flush()
    if codes:
        session.execute(
            insert(FanoutTenant).values(
                [
                    {
                        "run_id": run.id,
                        "municipality_code": code,
                        "state": TenantState.PENDING,
                        "attempts": 0,
                    }
                    for code in codes
                ]
            )
        )
    else:  # nothing to do: finished as it starts
        run.started_at = run.finished_at = utcnow()
        run.status = RunStatus.DONE
    session.flush()
    if send and codes:
        from kentra.tasks.base import send_after_commit  # noqa: PLC0415 - base imports us

        send_after_commit(session, dispatch, run.id)
    return run


def _mark_started(engine: Engine, run_id: int) -> bool:
    with Session(engine) as session, session.begin():
        started = session.execute(
            update(FanoutRun)
            .where(FanoutRun.id == run_id, FanoutRun.status == RunStatus.QUEUED)
            .values(status=RunStatus.RUNNING, started_at=utcnow())
        )
        return bool(getattr(started, "rowcount", 0))


def _claim(session: Session, run_id: int, limit: int) -> list[str]:
    """Mark up to ``limit`` pending tenants of the run queued; their codes."""
    if limit <= 0:
        return []
    codes = list(
        session.scalars(
            select(FanoutTenant.municipality_code)
            .where(FanoutTenant.run_id == run_id, FanoutTenant.state == TenantState.PENDING)
            .order_by(FanoutTenant.municipality_code)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if codes:
        session.execute(
            update(FanoutTenant)
            .where(FanoutTenant.run_id == run_id, FanoutTenant.municipality_code.in_(codes))
            .values(state=TenantState.QUEUED)
        )
    return codes


def refill(engine: Engine, run_id: int) -> int:
    """Send the run's next pending tenants, up to ``batch_size`` in flight; how many were
    sent. Called once the run starts and then every half batch of tenants that finish
    (:func:`refill_due`)."""
    with Session(engine) as session, session.begin():
        # The run's row lock: two tenants finishing at once do not both fill the same gap.
        run = session.get(FanoutRun, run_id, with_for_update=True)
        if run is None or run.finished_at is not None:
            return 0
        in_flight = int(
            session.scalar(
                select(func.count())
                .select_from(FanoutTenant)
                .where(FanoutTenant.run_id == run_id, FanoutTenant.state.in_(IN_FLIGHT))
            )
            or 0
        )
        codes = _claim(session, run_id, run.batch_size - in_flight)
        task_name = run.task_name
    task = cast("TenantTask", celery.tasks[task_name])
    for code in codes:
        try:
            # The run's record is the tenants' result: the backend keeps only failures
            # (TenantTask.store_errors_even_if_ignored), one write less per tenant.
            task.apply_async(
                tenant=parse_municipality_code(code),
                headers={FANOUT_HEADER: str(run_id)},
                ignore_result=True,
            )
        except Exception:  # logged; the tenant stays queued in the record
            log.exception(
                "a fan-out tenant task could not be sent",
                extra={"run_id": run_id, "tenant": code, "task": task_name},
            )
    return len(codes)


Counter = Literal["done", "failed", "retried"]
# The record's tables: its per-tenant statements are Core (no ORM unit of work to keep in step).
_runs = cast("Table", FanoutRun.__table__)
_tenants = cast("Table", FanoutTenant.__table__)


class Counted(NamedTuple):
    """A run's counts right after one of its tenants' attempts was recorded."""

    done: int
    failed: int
    total: int
    batch_size: int

    @property
    def finished(self) -> int:
        return self.done + self.failed


def refill_step(batch_size: int) -> int:
    """A run is refilled each time this many more of its tenants have finished: half a
    batch (every tenant with a batch of 1, 2 or 3)."""
    return max(1, batch_size // 2)


def refill_due(counted: Counted | None, counter: Counter) -> bool:
    """Whether the tenant whose attempt was just recorded (``counted``: the run's counts
    after it; None when nothing was recorded) refills the run once its transaction commits.

    Every half batch (:func:`refill_step`), not after every tenant: a refill is a transaction
    of its own under the run's row lock, a tenant's share of the run's time otherwise.

    Why the run neither stalls nor exceeds its batch:

    - Each tenant that finishes (done, or failed for good) adds one to the run's
      ``done + failed`` in an UPDATE of the run's row, which keeps the row locked until its
      transaction ends. So every value 1, 2, …, total is returned to exactly one committed
      transaction (one rolled back gives its value back: the next tenant to finish gets it),
      and exactly one tenant sees each multiple of the step.
    - :func:`refill` counts the tenants in flight under the same row lock and sends only up
      to ``batch_size``: however often, and by whom, it is called, never more are in flight.
    - A refill runs after its multiple was counted, and fills the batch (or sends every
      pending tenant, and then none is needed any more). The tenants of that full batch
      finishing alone take ``done + failed`` a whole batch further, at least one step (two for
      a batch of 2 or more): past the next multiple, whose tenant refills again. So no run
      stalls; and, with at most a step finishing between two refills, at least
      ``batch_size - step`` (half a batch, from a batch of 2) stay in flight while tenants
      wait. A retried tenant stays in flight (``retrying``) until it finishes, so retries
      change nothing here.
    - For the same reason one refill lost (a worker dying between a tenant's commit and its
      refill) is made up by the next multiple's, from a batch of 2: the batch filled before
      it reaches two steps further.

    A tenant finished already (a redelivered message: nothing recorded) refills as well, as
    every tenant did before, in case its first delivery died before refilling. A retry never
    refills (its tenant stays in flight), nor does the tenant that closes the run."""
    if counted is None:
        return True
    if counter == "retried" or counted.finished >= counted.total:
        return False
    return counted.finished % refill_step(counted.batch_size) == 0


# What an attempt sets on its tenant's row, by the run's counter it adds to.
_TENANT_VALUES: dict[Counter, dict[str, Any]] = {
    "done": {"state": TenantState.DONE, "finished_at": func.now()},
    "failed": {
        "state": TenantState.FAILED,
        "error_type": bindparam("error_type"),
        "finished_at": func.now(),
    },
    "retried": {
        "state": TenantState.RETRYING,
        "error_type": bindparam("error_type"),
        "finished_at": null(),
    },
}


@cache
def _record_statement(counter: Counter) -> Update:
    """One statement, built once per counter: the tenant's attempt recorded unless the tenant
    is finished already (a redelivered message: then nothing at all, and no row returned), the
    run's ``counter`` + 1 and, when this was the run's last tenant, the run closed (finished
    time, status ``failed`` if any tenant failed, else ``done``). The run's row lock makes
    exactly one tenant the last. Returns the run's counts after it.

    Its parameters are ``fanout_run``, ``fanout_tenant`` and, for a failure, ``error_type``;
    none is named as a column, which an UPDATE would take as a value to set."""
    attempt = (
        update(_tenants)
        .where(
            _tenants.c.run_id == bindparam("fanout_run"),
            _tenants.c.municipality_code == bindparam("fanout_tenant"),
            _tenants.c.state.not_in(FINISHED),
        )
        .values(attempts=_tenants.c.attempts + 1, **_TENANT_VALUES[counter])
        .returning(_tenants.c.run_id)
        .cte("attempt")
    )
    # SET's expressions read the row as it was: the counts after this attempt are these.
    done = _runs.c.done + (1 if counter == "done" else 0)
    failed = _runs.c.failed + (1 if counter == "failed" else 0)
    closes = and_(_runs.c.finished_at.is_(None), done + failed >= _runs.c.total)
    status = case((failed > 0, RunStatus.FAILED.value), else_=RunStatus.DONE.value)
    return (
        update(_runs)
        .where(_runs.c.id == attempt.c.run_id)
        .values(
            {
                counter: _runs.c[counter] + 1,
                "finished_at": case((closes, func.now()), else_=_runs.c.finished_at),
                "status": case((closes, status), else_=_runs.c.status),
            }
        )
        .returning(_runs.c.done, _runs.c.failed, _runs.c.total, _runs.c.batch_size)
    )


def _record(
    session: Session, run_id: int, code: str, counter: Counter, **parameters: Any
) -> Counted | None:
    """Record an attempt of the run's tenant and count it (:func:`_record_statement`); the
    run's counts after it, or None when the tenant was finished already."""
    row = session.execute(
        _record_statement(counter), {"fanout_run": run_id, "fanout_tenant": code, **parameters}
    ).one_or_none()
    return Counted(*row) if row is not None else None


def record_done(session: Session, run_id: int, code: str) -> bool:
    """The tenant's work succeeded: recorded and counted in the work's own transaction
    (``session``), one statement. A redelivered message of a tenant already finished counts
    nothing. Whether the run is to be refilled once the work commits (:func:`refill_due`)."""
    return refill_due(_record(session, run_id, code, "done"), "done")


def record_failure(engine: Engine, run_id: int, code: str, error_type: str, *, final: bool) -> bool:
    """An attempt failed (its work rolled back): retrying, or failed for good; in a
    transaction of its own. Whether the run is to be refilled (:func:`refill_due`)."""
    counter: Counter = "failed" if final else "retried"
    with Session(engine) as session, session.begin():
        counted = _record(session, run_id, code, counter, error_type=error_type[:200])
    log.warning(
        "a fan-out tenant failed" if final else "a fan-out tenant is retried",
        extra={"run_id": run_id, "tenant": code, "error_type": error_type},
    )
    return refill_due(counted, counter)


@celery.task(bind=True, name=DISPATCH_TASK_NAME)
def dispatch(self: Task, run_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    """Start a run: mark it running and send its first batch. A redelivered message of a
    run already started sends nothing more than what is missing from the batch."""
    engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
    started = _mark_started(engine, run_id)
    sent = refill(engine, run_id)
    return {"run_id": run_id, "started": started, "sent": sent}


def run_here(engine: Engine, run_id: int) -> FanoutRun:
    """Drive the run in this process: each pending tenant's task applied here, one after
    another (retries included), with the same record as through Celery. Returns the run."""
    celery.loader.import_default_modules()
    _mark_started(engine, run_id)
    with Session(engine) as session:
        task_name = session.get_one(FanoutRun, run_id).task_name
    task: Task = celery.tasks[task_name]  # type: ignore[type-arg]
    from kentra.tasks.base import TENANT_HEADER  # noqa: PLC0415 - base imports us

    while True:
        # A batch claimed at a time (one transaction for it), run one tenant after another.
        with Session(engine) as session, session.begin():
            codes = _claim(session, run_id, BATCH_SIZE)
        if not codes:
            break
        for code in codes:
            # Failures are in the record (and logged by type); the run goes on.
            task.apply(headers={TENANT_HEADER: code, FANOUT_HEADER: str(run_id)})
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(FanoutRun, run_id)
