"""Loaders of the tenant's audit trail (ADR 0041: every read of a tenant table is a loader's,
and takes the reader): its count (the tenant probe), and the accesses to one record (a
person's right of access)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.audit.models import AuditEvent


def access_audit_event_count(session: Session, reader: Reader) -> int:
    """How many events the tenant's audit trail holds (no event's content)."""
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def access_accesses_to(
    session: Session, reader: Reader, *, object_type: str, object_id: int, ids_key: str
) -> Sequence[Row[datetime, str, str]]:
    """When, by whom and how the record ``object_type``/``object_id`` was written or read:
    the events naming it as their object or among the ids in ``details[ids_key]`` (a list or
    a search that showed it), oldest first. Only (when, actor, action): an event's details
    may name other records and hold a search's terms."""
    return session.execute(
        select(AuditEvent.occurred_at, AuditEvent.actor, AuditEvent.action)
        .where(
            or_(
                (AuditEvent.object_type == object_type) & (AuditEvent.object_id == str(object_id)),
                AuditEvent.details[ids_key].contains([object_id]),
            )
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    ).all()
