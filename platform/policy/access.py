"""Loading the policy in force and its history: public rules (no personal data), read by
any reader, a visitor who has not signed in included (the signup page shows the staffing
rule)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import PublicReader
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import policy_in_force


def access_policy_in_force(
    session: Session, reader: PublicReader, on: date | None = None
) -> PolicyVersion | None:
    """The version with the latest ``valid_from`` on or before ``on`` (default: today)."""
    return policy_in_force(session, on)


def access_policy_versions(session: Session, reader: PublicReader) -> Sequence[PolicyVersion]:
    """Every version, newest ``valid_from`` first (the history; none is ever edited)."""
    return session.scalars(select(PolicyVersion).order_by(PolicyVersion.valid_from.desc())).all()
