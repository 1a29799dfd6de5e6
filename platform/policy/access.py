"""Loading the policy in force and its history: public rules (no personal data), read by
any reader, a visitor who has not signed in included (the signup page shows the staffing
rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import PublicReader, Reader
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import policy_in_force
from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME, RecomputeJob, recompute_job
from kentra.tasks.models import FanoutRun


def access_policy_in_force(
    session: Session, reader: PublicReader, on: date | None = None
) -> PolicyVersion | None:
    """The version with the latest ``valid_from`` on or before ``on`` (default: today)."""
    return policy_in_force(session, on)


def access_policy_versions(session: Session, reader: PublicReader) -> Sequence[PolicyVersion]:
    """Every version, newest ``valid_from`` first (the history; none is ever edited)."""
    return session.scalars(select(PolicyVersion).order_by(PolicyVersion.valid_from.desc())).all()


def access_recompute_job_by_id(
    session: Session, reader: Reader, job_id: int
) -> RecomputeJob | None:
    """A recompute job: the fan-out run of the tenant recompute under that id (no personal
    data: counts, dates, the policy version)."""
    run = session.get(FanoutRun, job_id)
    if run is None or run.task_name != RECOMPUTE_TASK_NAME:
        return None
    return recompute_job(run)
