"""The unit tree of a municipality (tenant schema), mirroring the identity groups.

A centre has ``unit`` NULL; an annex or mobile unit names its centre and itself. Together with
the municipality code they form the group path ``/m-<code>/<centre>[/<unit>]`` that unit
scope is checked against (kentra.auth.principal.UnitPath). Each annex and mobile unit thus
belongs to exactly one reference centre (domain.md §9, rule 4).

A centre carries its details and the premises checklist of domain.md §7; an annex its reason;
a mobile unit the municipalities it serves (``unit_served_municipalities``). Closing a unit sets
``closed_on``: rows are never deleted, so its history stays. ``version`` is the optimistic
concurrency counter behind the API's ETag / If-Match.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    CHAR,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kentra.platform.core.models import (
    CreatedAt,
    IdentityKey,
    RowVersion,
    TenantBase,
    string_enum,
)
from kentra.platform.onboarding.api import BodyType
from kentra.platform.reference.api import municipality_ref


class UnitKind(enum.StrEnum):
    CENTRE = "centre"
    ANNEX = "annex"
    MOBILE_UNIT = "mobile_unit"


class AnnexReason(enum.StrEnum):
    """Why a centre is extended with an annex (domain.md §9)."""

    POVERTY_POCKET = "poverty_pocket"
    ROMA = "roma"
    MIGRANTS = "migrants"
    # An existing Roma and Vulnerable Groups Support Centre, kept as an annex.
    FORMER_ROMA_CENTRE = "former_roma_centre"


class FocusGroup(enum.StrEnum):
    """Groups a centre focuses on, without excluding the others (domain.md §4)."""

    POVERTY = "poverty"
    MIGRANTS = "migrants"
    DISABILITY = "disability"
    ROMA = "roma"
    ELDERLY = "elderly"
    CHILDREN_FAMILIES = "children_families"
    UNEMPLOYED = "unemployed"


# The premises checklist of domain.md §7, in its order. Which items compliance requires
# (accessibility always; "municipality-owned" is only advised) is decided in ADR 0012.
PREMISES_ITEMS: tuple[str, ...] = (
    "premises_distinct_space",
    "premises_near_social_services",
    "premises_near_social_structures",
    "premises_municipality_owned",
    "premises_reception_waiting_processing",
    "premises_toilets_public_and_staff",
    "premises_accessible",
)


class Unit(TenantBase):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("centre", "unit", postgresql_nulls_not_distinct=True),
        # A centre has no sub-unit segment; annexes and mobile units have one.
        CheckConstraint("(kind = 'centre') = (unit IS NULL)", name="centre_has_no_unit_segment"),
    )

    id: Mapped[IdentityKey]
    kind: Mapped[UnitKind] = mapped_column(string_enum(UnitKind, "unit_kind"))
    centre: Mapped[str] = mapped_column(String(63))
    unit: Mapped[str | None] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    closed_on: Mapped[date | None] = mapped_column(Date)

    street_address: Mapped[str | None] = mapped_column(Text)
    postal_code: Mapped[str | None] = mapped_column(CHAR(5))
    opening_date: Mapped[date | None] = mapped_column(Date)
    focus_groups: Mapped[list[str]] = mapped_column(
        ARRAY(String(32)), default=list, server_default=text("'{}'")
    )
    # Centres: the implementing body (domain.md §3), by default the one of the onboarding.
    body_type: Mapped[BodyType | None] = mapped_column(string_enum(BodyType, "body_type", 32))
    body_legal_name: Mapped[str | None] = mapped_column(Text)
    body_vat: Mapped[str | None] = mapped_column(String(9))
    # Annexes only.
    annex_reason: Mapped[AnnexReason | None] = mapped_column(
        string_enum(AnnexReason, "annex_reason", 32)
    )
    premises_distinct_space: Mapped[bool] = mapped_column(Boolean, server_default=false())
    premises_near_social_services: Mapped[bool] = mapped_column(Boolean, server_default=false())
    premises_near_social_structures: Mapped[bool] = mapped_column(Boolean, server_default=false())
    premises_municipality_owned: Mapped[bool] = mapped_column(Boolean, server_default=false())
    premises_reception_waiting_processing: Mapped[bool] = mapped_column(
        Boolean, server_default=false()
    )
    premises_toilets_public_and_staff: Mapped[bool] = mapped_column(Boolean, server_default=false())
    premises_accessible: Mapped[bool] = mapped_column(Boolean, server_default=false())
    version: Mapped[RowVersion] = mapped_column()

    served_municipalities: Mapped[list[UnitServedMunicipality]] = relationship(
        lazy="selectin",
        cascade="all, delete-orphan",
        order_by="UnitServedMunicipality.municipality_code",
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def is_open(self) -> bool:
        return self.closed_on is None


class UnitServedMunicipality(TenantBase):
    """A municipality a mobile unit serves (from the reference list; any municipality without
    a centre of its own, tenant or not: rule 4)."""

    __tablename__ = "unit_served_municipalities"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.units.id", ondelete="CASCADE"), primary_key=True
    )
    municipality_code: Mapped[str] = municipality_ref(primary_key=True)
