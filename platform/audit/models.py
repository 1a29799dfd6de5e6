"""Audit events. Details never hold personal data in clear; they name objects by id."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, IdentityKey, SharedBase, TenantBase


class _AuditRecord:
    """What both logs hold of an event: who (``actor``) did what (``action``), when, with its
    details. A log's own columns (what the event was about) stand between ``action`` and
    ``details``: the sort orders keep the tables' columns where they have always been."""

    id: Mapped[IdentityKey] = mapped_column(sort_order=-1)
    occurred_at: Mapped[CreatedAt] = mapped_column(index=True, sort_order=-1)
    actor: Mapped[str] = mapped_column(Text, sort_order=-1)
    action: Mapped[str] = mapped_column(String(64), sort_order=-1)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, sort_order=1)


class AuditEvent(_AuditRecord, TenantBase):
    """The tenant's audit log: who did what to which object, when."""

    __tablename__ = "audit_log"

    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(Text)


class PlatformAuditEvent(_AuditRecord, SharedBase):
    """Platform-level events (tenant lifecycle, migrations), in the shared schema."""

    __tablename__ = "platform_audit"

    tenant_code: Mapped[str | None] = mapped_column(String(4), index=True)
