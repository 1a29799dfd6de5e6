"""The tenant registry, in the shared schema."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    String,
    column,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import SHARED_SCHEMA, SharedBase, string_enum, utcnow

# The reference data's municipalities, which the registry's foreign key names: what tenants/
# reads of them (that a code exists, its Greek name), without importing the reference module,
# a layer above (ADR 0030). The reference module owns the table.
MUNICIPALITIES = table(
    "municipalities",
    column("code", CHAR(4)),
    column("name_el", String),
    schema=SHARED_SCHEMA,
)


class TenantStatus(enum.StrEnum):
    REQUESTED = "requested"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ARCHIVED = "archived"


class Tenant(SharedBase):
    """A municipality on the platform, with its own schema ``m_<code>``."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    code: Mapped[str] = mapped_column(
        CHAR(4), ForeignKey("shared.municipalities.code"), unique=True
    )
    schema_name: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[TenantStatus] = mapped_column(string_enum(TenantStatus, "tenant_status"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Whether the municipality has a Social Service (stated at onboarding, editable by its
    # admin): it decides who supervises it (kentra.platform.supervision). NULL: not stated.
    has_social_service: Mapped[bool | None] = mapped_column(Boolean)
