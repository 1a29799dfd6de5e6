"""Writing audit events: one INSERT each, in the caller's transaction (commit or vanish with it).

Audit rows are written on every read and write of personal data, so they are plain inserts,
not ORM objects. ``tenant_event``/``platform_event`` return the statement for callers that
batch it with other statements (provisioning does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Insert, insert
from sqlalchemy.orm import Session

from kentra.platform.audit.models import AuditEvent, PlatformAuditEvent
from kentra.platform.core.models import utcnow

if TYPE_CHECKING:
    from kentra.tasks.events import RecordChanged


def tenant_event(
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> Insert:
    """The INSERT of one event into the tenant's audit log."""
    return insert(AuditEvent).values(
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
    )


def platform_event(
    *,
    actor: str,
    action: str,
    tenant_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> Insert:
    """The INSERT of one event into the platform audit (shared schema)."""
    return insert(PlatformAuditEvent).values(
        occurred_at=utcnow(),
        actor=actor,
        action=action,
        tenant_code=tenant_code,
        details=details or {},
    )


def record_tenant_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.execute(
        tenant_event(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            details=details,
        )
    )


def record_change(
    session: Session,
    event: RecordChanged,
    *,
    actor: str,
    action: str,
    details: dict[str, Any] | None = None,
) -> None:
    """What every write of a tenant's record ends with, once the record is flushed (the event
    holds its id): its event published (the listeners are sent after the commit, ADR 0035) and
    the tenant audit's entry for the record the event names, by ids only (ids and codes in
    ``details``)."""
    # Here, not at the top: the CLI loads the audit without Celery, which a write brings.
    from kentra.tasks.events import publish  # noqa: PLC0415

    publish(session, event)
    record_tenant_event(
        session,
        actor=actor,
        action=action,
        object_type=event.object_type,
        object_id=event.object_id,
        details=details,
    )


def record_platform_event(
    session: Session,
    *,
    actor: str,
    action: str,
    tenant_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    session.execute(
        platform_event(actor=actor, action=action, tenant_code=tenant_code, details=details)
    )


def record_platform_event_at_once(session: Session, **event: Any) -> None:
    """``record_platform_event`` in a transaction of its own, committed now: for refusals,
    whose request rolls back everything else it did (a refused attempt must stay on record).
    Uses the engine ``session`` runs on, not its transaction."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.begin() as conn:
        conn.execute(platform_event(**event))
