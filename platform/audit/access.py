"""Loaders of the tenant's audit trail (ADR 0041: every read of a tenant table is a loader's,
and takes the reader). Counts only: the trail is read by the tenant probe."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.audit.models import AuditEvent


def access_audit_event_count(session: Session, reader: Reader) -> int:
    """How many events the tenant's audit trail holds (no event's content)."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0
