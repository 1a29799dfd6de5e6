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
- after each tenant finishes, :func:`refill` sends the next pending tenants, so that at most
  ``batch_size`` of a run wait in the queue at once and other work is not stuck behind a
  whole country's batch;
- the tenant that finishes last closes the run (finished time, status ``done``, or
  ``failed`` if any tenant failed) in the same statement that counts it.

:func:`run_here` drives a run in this process instead (``kentra compliance recompute``): the
same task bodies and record, one tenant after another, without a worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from celery import Task
from sqlalchemy import Engine, case, func, insert, select, update
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
# Tenants of one run waiting in the queue at once. It bounds the run's pace too: a tenant that
# finishes sends the next, which the embedded broker (kombu's SQLAlchemy transport) hands out
# at its next poll, once a second, so a run moves at most a batch a second there. 64 keeps two
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
    sent. Called once the run starts and after each tenant finishes."""
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


def _count(session: Session, run_id: int, **increments: int) -> None:
    """Add to the run's counts and close it when this was its last tenant (one row lock,
    so exactly one tenant closes the run; the closing statement only for that one)."""
    done, failed, total = session.execute(
        update(FanoutRun)
        .where(FanoutRun.id == run_id)
        .values(
            {
                getattr(FanoutRun, name): getattr(FanoutRun, name) + n
                for name, n in increments.items()
            }
        )
        .returning(FanoutRun.done, FanoutRun.failed, FanoutRun.total)
    ).one()
    if done + failed < total:
        return
    session.execute(
        update(FanoutRun)
        .where(
            FanoutRun.id == run_id,
            FanoutRun.finished_at.is_(None),
            FanoutRun.done + FanoutRun.failed >= FanoutRun.total,
        )
        .values(
            finished_at=func.now(),
            status=case((FanoutRun.failed > 0, RunStatus.FAILED.value), else_=RunStatus.DONE.value),
        )
    )


def _record_attempt(session: Session, run_id: int, code: str, **values: Any) -> bool:
    """Count an attempt of the run's tenant and set ``values`` on it, unless the tenant is
    already finished (a redelivered message): then nothing, and False."""
    updated = session.execute(
        update(FanoutTenant)
        .where(
            FanoutTenant.run_id == run_id,
            FanoutTenant.municipality_code == code,
            FanoutTenant.state.not_in(FINISHED),
        )
        .values(attempts=FanoutTenant.attempts + 1, **values)
    )
    return bool(getattr(updated, "rowcount", 0))


def record_done(session: Session, run_id: int, code: str) -> None:
    """The tenant's work succeeded: counted in the work's own transaction (``session``). A
    redelivered message of a tenant already finished counts nothing."""
    if _record_attempt(session, run_id, code, state=TenantState.DONE, finished_at=func.now()):
        _count(session, run_id, done=1)


def record_failure(engine: Engine, run_id: int, code: str, error_type: str, *, final: bool) -> None:
    """An attempt failed (its work rolled back): retrying, or failed for good; in a
    transaction of its own."""
    with Session(engine) as session, session.begin():
        if _record_attempt(
            session,
            run_id,
            code,
            state=TenantState.FAILED if final else TenantState.RETRYING,
            error_type=error_type[:200],
            finished_at=func.now() if final else None,
        ):
            _count(session, run_id, **({"failed": 1} if final else {"retried": 1}))
    log.warning(
        "a fan-out tenant failed" if final else "a fan-out tenant is retried",
        extra={"run_id": run_id, "tenant": code, "error_type": error_type},
    )


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
