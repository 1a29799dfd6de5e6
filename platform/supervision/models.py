"""Ministry decisions on regional-unit seats the reference data leaves unknown (shared).

Supervision itself is derived, never stored: a municipality with a Social Service supervises
itself; one without is supervised by the seat municipality of its regional unit — from the
reference data, or, where that is unknown, from the decision recorded here ("not determined"
until then).
"""

from __future__ import annotations

from sqlalchemy import CHAR, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, SharedBase
from kentra.platform.reference.api import RegionalUnit, municipality_ref


class RegionalUnitSeatDecision(SharedBase):
    __tablename__ = "regional_unit_seat_decisions"

    regional_unit_code: Mapped[str] = mapped_column(
        CHAR(2), ForeignKey(RegionalUnit.code), primary_key=True
    )
    seat_municipality_code: Mapped[str] = municipality_ref()
    note: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[CreatedAt]
