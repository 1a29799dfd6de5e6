"""Tenant tables describing the municipality itself. Seeded at provisioning."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, TenantBase, utcnow
from kentra.platform.reference.api import municipality_ref


class TenantProfile(TenantBase):
    """The municipality's public profile: one row per tenant schema."""

    __tablename__ = "profile"

    municipality_code: Mapped[str] = municipality_ref(primary_key=True)
    display_name_el: Mapped[str] = mapped_column(Text)
    display_name_latin: Mapped[str] = mapped_column(Text)
    created_at: Mapped[CreatedAt]


class TenantSetting(TenantBase):
    """A per-municipality setting with a default seeded at provisioning."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


DEFAULT_SETTINGS: dict[str, Any] = {
    "locale": "el",
    "timezone": "Europe/Athens",
    # Counts below this are suppressed in anything that leaves the municipality.
    "small_count_threshold": 5,
}
