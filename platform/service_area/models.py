"""The ministry's exceptions to the mobile units' service area (shared schema).

The area itself is policy data (``PolicyVersion.mobile_unit_area``, by default the centre's
region). An exception lets the mobile units of ``municipality_code``'s centre serve
``served_municipality_code`` although it lies outside that area, for the reason recorded
(ADR 0018).
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, IdentityKey, SharedBase
from kentra.platform.reference.api import municipality_ref


class ServiceAreaException(SharedBase):
    __tablename__ = "service_area_exceptions"
    __table_args__ = (
        UniqueConstraint("municipality_code", "served_municipality_code"),
        CheckConstraint(
            "municipality_code <> served_municipality_code", name="not_the_municipality_itself"
        ),
    )

    id: Mapped[IdentityKey]
    # The municipality whose centre's mobile units may serve beyond the area.
    municipality_code: Mapped[str] = municipality_ref()
    served_municipality_code: Mapped[str] = municipality_ref(index=True)
    reason: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[CreatedAt]
