"""Compliance results and recompute jobs (shared schema).

``centre_compliance`` is a summary kept up to date in the same transaction as every change
that affects it (and by the recompute job after a policy change), so that the national,
regional and supervisors' overviews are one query rather than a read of every tenant schema.
It holds no personal data: counts, a status and the codes of the unmet items.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import SharedBase, string_enum, utcnow
from kentra.platform.reference.models import Municipality


class ComplianceStatus(enum.StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"


class CentreCompliance(SharedBase):
    __tablename__ = "centre_compliance"

    municipality_code: Mapped[str] = mapped_column(
        CHAR(4), ForeignKey(Municipality.code), primary_key=True
    )
    centre_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    centre_name: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplianceStatus] = mapped_column(
        string_enum(ComplianceStatus, "compliance_status"), index=True
    )
    # Codes of the unmet items, in a fixed order (see compliance.operations).
    unmet: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    staff_count: Mapped[int] = mapped_column(Integer)
    required_staff: Mapped[int] = mapped_column(Integer)
    policy_version_id: Mapped[int] = mapped_column(ForeignKey("shared.policy_versions.id"))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RecomputeJob(SharedBase):
    """A full recompute after a policy change: its progress is what the ministry sees."""

    __tablename__ = "compliance_recompute_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    policy_version_id: Mapped[int | None] = mapped_column(ForeignKey("shared.policy_versions.id"))
    status: Mapped[JobStatus] = mapped_column(string_enum(JobStatus, "job_status"))
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
