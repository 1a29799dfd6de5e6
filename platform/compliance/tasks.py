"""Compliance's jobs: one tenant's recompute, and the recompute of every tenant.

- ``kentra.compliance.recompute_tenant`` (a :class:`~kentra.tasks.base.TenantTask`) recomputes
  the tenant's centres into ``shared.centre_compliance``. It is **subscribed** here to the
  events of the modules compliance is computed from (units, staff, regulations): every
  transaction that publishes one sends it once for its tenant after the commit (ADR 0035).
- The full recompute is a fan-out of that task over every active tenant (ADR 0036): after a
  policy change (:func:`~kentra.platform.policy.recompute.create_recompute_job`, the task name policy owns), daily
  (``kentra.compliance.recompute_daily``, Celery beat: time alone changes compliance — a
  contract ends, a regulation or a policy version comes into force — with no write to
  publish it; it also repairs a recompute whose message was lost after a commit), and by
  hand (``kentra compliance recompute``, :func:`recompute_now`, in the calling process).
"""

from __future__ import annotations

from typing import Any

from celery import Task
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.platform.compliance.operations import recompute_tenant
from kentra.platform.core.database import get_engine
from kentra.platform.policy.api import (
    RECOMPUTE_TASK_NAME,
    create_recompute_job,
    recompute_job,
)
from kentra.platform.regulations.api import RegulationChanged
from kentra.platform.staff.api import StaffChanged
from kentra.platform.units.api import UnitChanged
from kentra.tasks.base import TenantTask
from kentra.tasks.celery_app import celery
from kentra.tasks.events import subscribe
from kentra.tasks.fanout import run_here

DAILY_TASK_NAME = "kentra.compliance.recompute_daily"


@celery.task(base=TenantTask, bind=True, name=RECOMPUTE_TASK_NAME)
def recompute_compliance(self: TenantTask) -> int:
    """Recompute the task's tenant's centres; how many open centres it has."""
    tenant = self.session.tenant  # type: ignore[attr-defined]
    return len(recompute_tenant(self.session, tenant.value))


for _event in (UnitChanged, StaffChanged, RegulationChanged):
    subscribe(_event, recompute_compliance)


@celery.task(bind=True, name=DAILY_TASK_NAME)
def recompute_daily(self: Task) -> dict[str, Any]:  # type: ignore[type-arg]
    """The daily run (Celery beat): a fan-out of every active tenant's recompute."""
    engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
    with Session(engine) as session, session.begin():
        job = create_recompute_job(session, policy_version_id=None, actor="schedule")
    return {"job_id": job.id, "total": job.total}


def recompute_now(engine: Engine, *, actor: str) -> dict[str, Any]:
    """Recompute every active tenant in this process, as a fan-out run visible like the
    others; its counts."""
    with Session(engine) as session, session.begin():
        job_id = create_recompute_job(session, policy_version_id=None, actor=actor, send=False).id
    job = recompute_job(run_here(engine, job_id))
    return {"job_id": job.id, "total": job.total, "done": job.done, "failed": job.failed}
