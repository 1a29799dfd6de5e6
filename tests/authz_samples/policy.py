"""Samples of the policy routes: a finished recompute job for ``<job_id>`` (shared schema,
so one row serves both municipalities of the matrix)."""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.platform.compliance.models import JobStatus, RecomputeJob
from kentra.platform.core.models import utcnow

JOB_ID = 999_000_301


def prepare(engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    with Session(engine) as session, session.begin():
        session.merge(
            RecomputeJob(
                id=JOB_ID,
                policy_version_id=None,
                status=JobStatus.DONE,
                total=0,
                done=0,
                failed=0,
                requested_by="authorization-matrix",
                finished_at=utcnow(),
            )
        )
    return {"job_id": str(JOB_ID)}


def cleanup(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(RecomputeJob).where(RecomputeJob.id == JOB_ID))
