"""Policy versions in the shared schema. A version applies from ``valid_from`` until the next.

Edited by ministry officers (a later step); a change recomputes compliance everywhere. The
first version is the programme's text (domain.md §6 and rule 1), seeded once. A version also
says how far a mobile unit may serve from its centre (``mobile_unit_area``, ADR 0018).
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kentra.platform.core.models import CreatedAt, IdentityKey, SharedBase, string_enum


class ServiceArea(enum.StrEnum):
    """Where the municipalities a mobile unit serves must lie, relative to its centre's
    municipality; beyond it only with a ministry exception (kentra.platform.service_area)."""

    REGIONAL_UNIT = "regional_unit"  # the same regional unit (NUTS 3)
    REGION = "region"  # the same region (Περιφέρεια, NUTS 2): the programme's rule
    COUNTRY = "country"  # anywhere


class PolicyVersion(SharedBase):
    __tablename__ = "policy_versions"

    id: Mapped[IdentityKey]
    valid_from: Mapped[date] = mapped_column(Date, unique=True)
    note: Mapped[str] = mapped_column(Text)
    # The profile the mandatory Head of Centre must have (the social worker).
    head_profile_code: Mapped[str] = mapped_column(String(64))
    mobile_unit_area: Mapped[ServiceArea] = mapped_column(
        string_enum(ServiceArea, "service_area"),
        default=ServiceArea.REGION,
        server_default=ServiceArea.REGION.value,
    )
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]

    bands: Mapped[list[StaffingBand]] = relationship(
        order_by="StaffingBand.min_population", lazy="selectin", cascade="all, delete-orphan"
    )
    profiles: Mapped[list[ProfessionalProfile]] = relationship(
        order_by="ProfessionalProfile.code", lazy="selectin", cascade="all, delete-orphan"
    )


class StaffingBand(SharedBase):
    """Municipalities with ``min_population ≤ population ≤ max_population`` (open above when
    NULL) need at least ``minimum_staff``; 0 means no centre of their own."""

    __tablename__ = "staffing_bands"
    __table_args__ = (
        UniqueConstraint("policy_version_id", "min_population"),
        CheckConstraint("minimum_staff >= 0", name="minimum_staff_not_negative"),
        CheckConstraint(
            "max_population IS NULL OR max_population >= min_population", name="band_not_empty"
        ),
    )

    id: Mapped[IdentityKey]
    policy_version_id: Mapped[int] = mapped_column(
        ForeignKey("shared.policy_versions.id"), index=True
    )
    min_population: Mapped[int] = mapped_column(Integer)
    max_population: Mapped[int | None] = mapped_column(Integer)
    minimum_staff: Mapped[int] = mapped_column(Integer)


class ProfessionalProfile(SharedBase):
    __tablename__ = "professional_profiles"
    __table_args__ = (UniqueConstraint("policy_version_id", "code"),)

    id: Mapped[IdentityKey]
    policy_version_id: Mapped[int] = mapped_column(
        ForeignKey("shared.policy_versions.id"), index=True
    )
    code: Mapped[str] = mapped_column(String(64))
    name_el: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    mandatory: Mapped[bool] = mapped_column(Boolean, default=False)
