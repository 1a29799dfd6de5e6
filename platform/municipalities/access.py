"""Guarded loaders for a municipality's own tables (its profile: no personal data)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.municipalities.models import TenantProfile


def access_profile(session: Session, reader: Reader) -> TenantProfile | None:
    """The profile of the schema the (tenant-bound) session points at."""
    return session.scalars(select(TenantProfile)).one_or_none()
