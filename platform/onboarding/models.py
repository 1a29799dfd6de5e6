"""Onboarding requests, in the shared schema (the municipality has no tenant schema yet).

The contact fields are personal data of the municipality's representative: they are stored
here to reach that person and to invite them as the first municipality admin, and are never
logged or written to the audit trail (audit events name the request by id).

The signup is public (the representative has no account yet), so a request records no
requester identity: only the contact the representative states.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CHAR, Boolean, CheckConstraint, DateTime, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kentra.platform.core.models import CreatedAt, IdentityKey, SharedBase, string_enum
from kentra.platform.reference.api import Municipality, municipality_ref


class BodyType(enum.StrEnum):
    """The implementing body (domain.md §3): the municipality or a body it founded."""

    MUNICIPALITY = "municipality"
    NPDD = "npdd"  # municipal legal entity of public law (Δημοτικό ΝΠΔΔ)
    PUBLIC_BENEFIT_ENTERPRISE = "public_benefit_enterprise"  # Κοινωφελής Επιχείρηση
    OTHER_MUNICIPAL_BODY = "other_municipal_body"


class RequestStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


# At most one open (submitted) request per municipality; the operations check it first, this
# index settles concurrent submissions.
ONE_SUBMITTED_PER_MUNICIPALITY = "uq_onboarding_requests_one_submitted"


class OnboardingRequest(SharedBase):
    __tablename__ = "onboarding_requests"
    __table_args__ = (
        Index(
            ONE_SUBMITTED_PER_MUNICIPALITY,
            "municipality_code",
            unique=True,
            postgresql_where=text("status = 'submitted'"),
        ),
        CheckConstraint("body_vat ~ '^[0-9]{9}$'", name="body_vat_nine_digits"),
        CheckConstraint(
            "(status = 'submitted') = (decided_at IS NULL AND decided_by IS NULL)",
            name="decided_unless_submitted",
        ),
        CheckConstraint(
            "status <> 'rejected' OR decision_reason IS NOT NULL", name="rejection_has_reason"
        ),
    )

    id: Mapped[IdentityKey]
    municipality_code: Mapped[str] = municipality_ref(index=True)
    body_type: Mapped[BodyType] = mapped_column(string_enum(BodyType, "onboarding_body_type", 32))
    body_legal_name: Mapped[str] = mapped_column(String(300))
    body_vat: Mapped[str] = mapped_column(CHAR(9))  # ΑΦΜ, 9 digits (validated, compacted)
    contact_name: Mapped[str] = mapped_column(String(200))
    contact_email: Mapped[str] = mapped_column(String(254))
    contact_phone: Mapped[str] = mapped_column(String(16))  # E.164
    has_social_service: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[RequestStatus] = mapped_column(
        string_enum(RequestStatus, "onboarding_status", 16), default=RequestStatus.SUBMITTED
    )
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(Text)  # the decider's token subject
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[CreatedAt]

    municipality: Mapped[Municipality] = relationship(lazy="joined")
