"""Compliance results (shared schema). The recompute job is policy's (``policy/recompute.py``).

``centre_compliance`` is a summary recomputed for a tenant by a task sent after every
transaction that published a change of its units, staff or regulations (ADR 0035), and for
every tenant by a fan-out after a policy change, daily and by hand (ADR 0036), so that the
national, regional and supervisors' overviews are one query rather than a read of every
tenant schema. It holds no personal data: counts, a status and the codes of the unmet items.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, SharedBase, string_enum
from kentra.platform.reference.api import municipality_ref


class ComplianceStatus(enum.StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"


class CentreCompliance(SharedBase):
    __tablename__ = "centre_compliance"

    municipality_code: Mapped[str] = municipality_ref(primary_key=True)
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
    computed_at: Mapped[CreatedAt]
