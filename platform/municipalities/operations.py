"""Operations on a municipality's own tables. They flush, never commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kentra.platform.municipalities.models import DEFAULT_SETTINGS, TenantProfile, TenantSetting
from kentra.platform.reference.models import Municipality


def seed_tenant_defaults(session: Session, municipality: Municipality) -> None:
    """Write the profile row and default settings of a freshly created tenant schema."""
    session.add(
        TenantProfile(
            municipality_code=municipality.code,
            display_name_el=municipality.name_el,
            display_name_latin=municipality.name_latin,
        )
    )
    session.add_all(TenantSetting(key=key, value=value) for key, value in DEFAULT_SETTINGS.items())
    session.flush()
