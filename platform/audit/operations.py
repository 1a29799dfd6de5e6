"""Writing audit events. They flush with the caller's transaction, so they commit or vanish with it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kentra.platform.audit.models import AuditEvent, PlatformAuditEvent


def record_tenant_event(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        details=details or {},
    )
    session.add(event)
    session.flush()
    return event


def record_platform_event(
    session: Session,
    *,
    actor: str,
    action: str,
    tenant_code: str | None = None,
    details: dict[str, Any] | None = None,
) -> PlatformAuditEvent:
    event = PlatformAuditEvent(
        actor=actor, action=action, tenant_code=tenant_code, details=details or {}
    )
    session.add(event)
    session.flush()
    return event
