"""Operating regulations (tenant schema): each version a PDF with its effective date.

The first version of a centre is the initial regulation, later ones amendments (domain.md §10,
rule 7). A version goes draft → approved (by the centre head) → submitted → acknowledged by the
ministry, or returned with comments; a returned version stays as it was and a new draft
follows. The ministry's cross-municipality list reads ``shared.regulation_submissions``, kept
in the same transaction as every change of a submitted version.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CHAR, BigInteger, Date, DateTime, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from kentra.platform.core.models import (
    CreatedAt,
    IdentityKey,
    RowVersion,
    SharedBase,
    TenantBase,
    string_enum,
)
from kentra.platform.reference.api import municipality_ref
from kentra.platform.units.api import Unit


class RegulationKind(enum.StrEnum):
    INITIAL = "initial"
    AMENDMENT = "amendment"


class RegulationStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"  # by the centre head
    SUBMITTED = "submitted"  # to the ministry
    ACKNOWLEDGED = "acknowledged"
    RETURNED = "returned"  # with the ministry's comments
    WITHDRAWN = "withdrawn"  # a draft the municipality took back before approval


class RegulationVersion(TenantBase):
    __tablename__ = "regulation_versions"

    id: Mapped[IdentityKey]
    centre_id: Mapped[int] = mapped_column(ForeignKey(Unit.id), index=True)
    kind: Mapped[RegulationKind] = mapped_column(string_enum(RegulationKind, "regulation_kind"))
    effective_date: Mapped[date] = mapped_column(Date)
    change_summary: Mapped[str] = mapped_column(Text)
    status: Mapped[RegulationStatus] = mapped_column(
        string_enum(RegulationStatus, "regulation_status")
    )
    filename: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    # The PDF itself; deferred so that lists never load it.
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    uploaded_by: Mapped[str] = mapped_column(Text)
    # Who uploaded it, as people know them (the token's name, else its username), kept with
    # the version: the subject alone names no one on a page.
    uploaded_by_name: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[CreatedAt]
    approved_by: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_by: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ministry_comment: Mapped[str | None] = mapped_column(Text)
    withdrawn_by: Mapped[str | None] = mapped_column(Text)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[RowVersion] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class RegulationSubmission(SharedBase):
    """The ministry's view of a submitted version (no file: that stays in the tenant schema)."""

    __tablename__ = "regulation_submissions"

    municipality_code: Mapped[str] = municipality_ref(primary_key=True)
    regulation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    centre_id: Mapped[int] = mapped_column(BigInteger)
    centre_name: Mapped[str] = mapped_column(Text)
    kind: Mapped[RegulationKind] = mapped_column(string_enum(RegulationKind, "regulation_kind"))
    effective_date: Mapped[date] = mapped_column(Date)
    change_summary: Mapped[str] = mapped_column(Text)
    status: Mapped[RegulationStatus] = mapped_column(
        string_enum(RegulationStatus, "regulation_status"), index=True
    )
    filename: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ministry_comment: Mapped[str | None] = mapped_column(Text)
