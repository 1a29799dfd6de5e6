"""The staff roster (tenant schema): who works in which unit, with which profile, how much.

A staff member is personal data of an employee (name, e-mail): the municipality admin keeps
the roster and the centre head reads it; writes are audited by id, never by name.
``profile_code`` is a code of the policy's professional profiles, checked by the operations
against the policy in force (policy is data, so no foreign key to one version).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, IdentityKey, RowVersion, TenantBase
from kentra.platform.units.api import Unit


class StaffMember(TenantBase):
    __tablename__ = "staff_members"
    __table_args__ = (
        CheckConstraint("fte > 0 AND fte <= 1", name="fte_between_0_and_1"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="ends_after_start"),
        # One current head per centre; the operations say so first, this settles races.
        Index(
            "uq_staff_members_one_current_head",
            "unit_id",
            unique=True,
            postgresql_where=text("is_head AND end_date IS NULL"),
        ),
    )

    id: Mapped[IdentityKey]
    unit_id: Mapped[int] = mapped_column(ForeignKey(Unit.id), index=True)
    full_name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    profile_code: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    fte: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    is_head: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Set once the identity user exists (invitation sent).
    identity_user_id: Mapped[str | None] = mapped_column(Text)
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the identity user was disabled because the contract ended (at the edit, or by the
    # daily task for end dates set in advance).
    account_disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    version: Mapped[RowVersion] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def is_current(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or self.end_date >= on)
