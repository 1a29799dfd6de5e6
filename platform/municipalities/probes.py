"""A task that proves the tenant plumbing end to end: it reads its tenant's own schema."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from kentra.auth.principal import SystemPrincipal
from kentra.platform.audit.api import access_audit_event_count, record_tenant_event
from kentra.platform.municipalities.access import access_profile
from kentra.tasks.base import TenantTask
from kentra.tasks.celery_app import celery
from kentra.tenants.binding import current_tenant

PROBE = SystemPrincipal(reason="tenant probe")


@celery.task(base=TenantTask, bind=True, name="kentra.describe_tenant")
def describe_tenant(self: TenantTask, marker: str | None = None) -> dict[str, Any]:
    """Report what the task sees of its tenant: the profile row, the schema, the audit count.

    With ``marker``, also writes an audit event carrying it (so tests can tell which sends ran).
    """
    session = self.session
    profile = access_profile(session, PROBE)
    if marker is not None:
        record_tenant_event(session, actor="task", action="probe.ran", details={"marker": marker})
    tenant = current_tenant()
    return {
        "tenant": tenant.value if tenant else None,
        "profile_code": profile.municipality_code if profile else None,
        "current_schema": session.scalar(text("SELECT current_schema()")),
        "audit_events": access_audit_event_count(session, PROBE),
        "task_id": self.request.id,
    }
