"""The recompute a published policy version starts, as the policy pages and API show it.

Publishing a version changes every centre's compliance, so it starts a fan-out run
(:mod:`kentra.tasks.fanout`, ADR 0036) of the task named :data:`RECOMPUTE_TASK_NAME` over every
active tenant. Policy owns the job (it starts it and shows its progress) and the task's name;
the compliance module registers the task under that name (``compliance/tasks.py``) and also
starts the same run daily and by hand. So policy, below compliance in the module order
(ADR 0043), never imports it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kentra.tasks.fanout import start_fanout
from kentra.tasks.models import FanoutRun

RECOMPUTE_TASK_NAME = "kentra.compliance.recompute_tenant"
JOB_FAILED = (
    "%(failed)s Δήμοι δεν υπολογίστηκαν ξανά. %(failed)s municipalities could not be recomputed."
)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RecomputeJob:
    """A full recompute (after a policy change, daily, or by hand) as the policy pages and API
    show it: a view of its fan-out run (``shared.fanout_runs``, :mod:`kentra.tasks.fanout`),
    under the run's id. Not a table since ADR 0036."""

    id: int
    policy_version_id: int | None
    status: JobStatus
    total: int
    done: int
    failed: int
    requested_by: str
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


def create_recompute_job(
    session: Session, *, policy_version_id: int | None, actor: str, send: bool = True
) -> RecomputeJob:
    """A recompute of every active tenant as a fan-out run, recorded in ``session``'s
    transaction and (with ``send``) dispatched by Celery once it commits. Flushes."""
    run = start_fanout(
        session,
        RECOMPUTE_TASK_NAME,
        actor=actor,
        details={"policy_version_id": policy_version_id} if policy_version_id else {},
        send=send,
    )
    return recompute_job(run)


def recompute_job(run: FanoutRun) -> RecomputeJob:
    """The policy pages' view of a recompute run."""
    policy_version_id = run.details.get("policy_version_id")
    return RecomputeJob(
        id=run.id,
        policy_version_id=int(policy_version_id) if policy_version_id is not None else None,
        status=JobStatus(run.status.value),
        total=run.total,
        done=run.done,
        failed=run.failed,
        requested_by=run.actor,
        requested_at=run.requested_at,
        started_at=run.started_at,
        finished_at=run.finished_at,
        error=JOB_FAILED % {"failed": run.failed} if run.failed and run.finished_at else None,
    )
