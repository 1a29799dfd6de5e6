"""Loading the policy in force and its history: public rules (no personal data), read by
any reader, a visitor who has not signed in included (the signup page shows the staffing
rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kentra.auth.principal import PublicReader, Reader
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import policy_in_force
from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME, RecomputeJob, recompute_job
from kentra.tasks.models import FanoutRun


def access_policy_in_force(
    session: Session, reader: PublicReader, on: date | None = None
) -> PolicyVersion | None:
    """The version with the latest ``valid_from`` on or before ``on`` (default: today)."""
    return policy_in_force(session, on)


def _versions() -> Select[Any]:
    # valid_from is unique; the id makes the key unique whatever the constraints.
    return select(PolicyVersion).order_by(PolicyVersion.valid_from.desc(), PolicyVersion.id.desc())


def access_policy_versions(session: Session, reader: PublicReader) -> Sequence[PolicyVersion]:
    """Every version, newest ``valid_from`` first (the history; none is ever edited)."""
    return session.scalars(_versions()).all()


# The history's order (newest valid_from first) as its cursors name it (ADR 0040).
VERSIONS_ORDER = "newest"


def access_policy_versions_page(
    session: Session,
    reader: PublicReader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[PolicyVersion]:
    """A page of :func:`access_policy_versions` (keyset paging, ADR 0040)."""
    page = page_of(session, _versions(), cursor=cursor, order=VERSIONS_ORDER, per_page=per_page)
    return Page([row[0] for row in page.items], page.next_cursor, page.previous_cursor)


def access_recompute_job_by_id(
    session: Session, reader: Reader, job_id: int
) -> RecomputeJob | None:
    """A recompute job: the fan-out run of the tenant recompute under that id (no personal
    data: counts, dates, the policy version)."""
    run = session.get(FanoutRun, job_id)
    if run is None or run.task_name != RECOMPUTE_TASK_NAME:
        return None
    return recompute_job(run)
