"""Guarded loaders for a municipality's own tables."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.platform.municipalities.models import TenantProfile


def access_profile(session: Session) -> TenantProfile | None:
    """The profile of the schema the (tenant-bound) session points at."""
    return session.scalars(select(TenantProfile)).one_or_none()
