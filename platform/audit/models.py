"""Audit events. Details never hold personal data in clear; they name objects by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import SharedBase, TenantBase, utcnow


class AuditEvent(TenantBase):
    """The tenant's audit log: who did what to which object, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class PlatformAuditEvent(SharedBase):
    """Platform-level events (tenant lifecycle, migrations), in the shared schema."""

    __tablename__ = "platform_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, index=True
    )
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    tenant_code: Mapped[str | None] = mapped_column(String(4), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
