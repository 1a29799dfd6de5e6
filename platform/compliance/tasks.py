"""The recompute job: after a policy change, every active tenant's centres, one tenant per
transaction, with the job's progress counted in that same transaction.

It is a platform task (not a :class:`~kentra.tasks.base.TenantTask`): it visits every tenant
in turn through :func:`kentra.tenants.binding.tenant_session`, never one query across schemas.
It is sent only once the transaction that created the job commits
(:func:`send_recompute_after_commit`), so it never looks for a job that does not exist yet.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from kentra.platform.compliance.operations import (
    count_job_progress,
    create_recompute_job,
    finish_job,
    recompute_tenant,
    start_job,
    today,
)
from kentra.platform.core.database import get_engine
from kentra.platform.policy.access import access_policy_in_force
from kentra.tasks.celery_app import celery
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

log = logging.getLogger(__name__)
TASK_NAME = "kentra.compliance.recompute_all"
DAILY_TASK_NAME = "kentra.compliance.recompute_daily"
_PENDING = "kentra_pending_recompute_jobs"


@celery.task(bind=True, name=TASK_NAME)
def recompute_all(self: Task, job_id: int) -> dict[str, Any]:  # type: ignore[type-arg]
    """Recompute every active tenant's centres for job ``job_id``; returns its counts."""
    engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
    return run_recompute_job(engine, job_id)


@celery.task(bind=True, name=DAILY_TASK_NAME)
def recompute_daily(self: Task) -> dict[str, Any]:  # type: ignore[type-arg]
    """The daily run (Celery beat): time alone changes compliance — a contract ends, a
    regulation or a policy version comes into force — with no write to notice it."""
    engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
    return recompute_now(engine, actor="schedule")


def recompute_now(engine: Engine, *, actor: str) -> dict[str, Any]:
    """Create a job and run it in this process (the daily task, ``kentra compliance
    recompute``); its progress is visible like a policy change's."""
    with Session(engine) as session, session.begin():
        job_id = create_recompute_job(session, policy_version_id=None, actor=actor).id
    return run_recompute_job(engine, job_id)


def run_recompute_job(engine: Engine, job_id: int) -> dict[str, Any]:
    on = today()
    # One policy for the whole run (read once; its bands and profiles load with it).
    with Session(engine, expire_on_commit=False) as session, session.begin():
        policy = access_policy_in_force(session, on)
        codes = list(
            session.scalars(
                select(Tenant.code)
                .where(Tenant.status == TenantStatus.ACTIVE)
                .order_by(Tenant.code)
            )
        )
        if not start_job(session, job_id, len(codes)):
            log.warning("recompute job not queued; not run again", extra={"job_id": job_id})
            return {"job_id": job_id, "skipped": True}
    done = failed = 0
    for raw in codes:
        code = parse_municipality_code(raw)
        try:
            with tenant_session(engine, code) as session:
                recompute_tenant(session, code.value, policy=policy, on=on)
                count_job_progress(session, job_id)
            done += 1
        except Exception:
            failed += 1
            log.exception("recompute failed for a tenant", extra={"tenant": code.value})
            with Session(engine) as session, session.begin():
                count_job_progress(session, job_id, failed=True)
    with Session(engine) as session, session.begin():
        finish_job(
            session,
            job_id,
            error=(
                f"{failed} Δήμοι δεν υπολογίστηκαν ξανά. "
                f"{failed} municipalities could not be recomputed."
            )
            if failed
            else None,
        )
    return {"job_id": job_id, "total": len(codes), "done": done, "failed": failed}


def send_recompute_after_commit(session: Session, job_id: int) -> None:
    """Send the job's task once ``session``'s transaction commits; a rollback drops it."""
    if not event.contains(session, "after_commit", _send_pending):
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_rollback", _drop_pending)
    session.info.setdefault(_PENDING, []).append(job_id)


def _send_pending(session: Session) -> None:
    for job_id in session.info.pop(_PENDING, []):
        recompute_all.apply_async((job_id,))


def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
