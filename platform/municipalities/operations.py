"""Operations on a municipality's own tables. They flush, never commit."""

from __future__ import annotations

from sqlalchemy import insert, literal, select
from sqlalchemy.orm import Session

from kentra.platform.audit.operations import tenant_event
from kentra.platform.core.models import utcnow
from kentra.platform.municipalities.models import DEFAULT_SETTINGS, TenantProfile, TenantSetting
from kentra.platform.reference.models import Municipality


def seed_tenant_defaults(session: Session, municipality_code: str, *, actor: str) -> None:
    """The profile row (from the reference data), the default settings and the first audit entry.

    One statement: each INSERT is a data-modifying CTE, which PostgreSQL always runs to
    completion. This runs for every new tenant, inside the provisioning transaction.
    """
    now = utcnow()
    profile = insert(TenantProfile).from_select(
        ["municipality_code", "display_name_el", "display_name_latin", "created_at"],
        select(
            Municipality.code, Municipality.name_el, Municipality.name_latin, literal(now)
        ).where(Municipality.code == municipality_code),
    )
    settings = insert(TenantSetting).values(
        [{"key": key, "value": value, "updated_at": now} for key, value in DEFAULT_SETTINGS.items()]
    )
    audit = tenant_event(
        actor=actor, action="tenant.provisioned", object_type="tenant", object_id=municipality_code
    )
    session.execute(
        select(literal(1)).add_cte(
            profile.cte("seed_profile"), settings.cte("seed_settings"), audit.cte("seed_audit")
        )
    )
