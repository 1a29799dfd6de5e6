"""Loading the policy in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.platform.core.models import local_today
from kentra.platform.policy.models import PolicyVersion


def access_policy_in_force(session: Session, on: date | None = None) -> PolicyVersion | None:
    """The version with the latest ``valid_from`` on or before ``on`` (default: today)."""
    day = on or local_today()
    return session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.valid_from <= day)
        .order_by(PolicyVersion.valid_from.desc())
        .limit(1)
    ).one_or_none()


def access_policy_versions(session: Session) -> Sequence[PolicyVersion]:
    """Every version, newest ``valid_from`` first (the history; none is ever edited)."""
    return session.scalars(select(PolicyVersion).order_by(PolicyVersion.valid_from.desc())).all()
