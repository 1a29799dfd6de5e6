"""Operations on a municipality's own tables. They flush, never commit."""

from __future__ import annotations

from sqlalchemy import func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from kentra.platform.audit.api import tenant_event
from kentra.platform.core.models import utcnow
from kentra.platform.municipalities.models import DEFAULT_SETTINGS, TenantProfile, TenantSetting
from kentra.platform.reference.api import Municipality


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
    # One JSONB parameter expanded by jsonb_each: unlike a multi-row VALUES, the statement is
    # cacheable, so it is not recompiled for every tenant.
    defaults = func.jsonb_each(literal(DEFAULT_SETTINGS, JSONB)).table_valued("key", "value")
    settings = insert(TenantSetting).from_select(
        ["key", "value", "updated_at"], select(defaults.c.key, defaults.c.value, literal(now))
    )
    audit = tenant_event(
        actor=actor, action="tenant.provisioned", object_type="tenant", object_id=municipality_code
    )
    session.execute(
        select(literal(1)).add_cte(
            profile.cte("seed_profile"), settings.cte("seed_settings"), audit.cte("seed_audit")
        )
    )
