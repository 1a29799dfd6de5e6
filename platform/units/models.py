"""The unit tree of a municipality (tenant schema), mirroring the identity groups.

A centre has ``unit`` NULL; an annex or mobile unit names its centre and itself. Together with
the municipality code they form the group path ``/m-<code>/<centre>[/<unit>]`` that unit
scope is checked against (kentra.auth.principal.UnitPath).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Identity,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import TenantBase, string_enum, utcnow


class UnitKind(enum.StrEnum):
    CENTRE = "centre"
    ANNEX = "annex"
    MOBILE_UNIT = "mobile_unit"


class Unit(TenantBase):
    __tablename__ = "units"
    __table_args__ = (
        UniqueConstraint("centre", "unit", postgresql_nulls_not_distinct=True),
        # A centre has no sub-unit segment; annexes and mobile units have one.
        CheckConstraint("(kind = 'centre') = (unit IS NULL)", name="centre_has_no_unit_segment"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[UnitKind] = mapped_column(string_enum(UnitKind, "unit_kind"))
    centre: Mapped[str] = mapped_column(String(63))
    unit: Mapped[str | None] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_on: Mapped[date | None] = mapped_column(Date)
