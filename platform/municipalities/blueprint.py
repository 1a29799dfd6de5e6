"""Tenant-scoped API root: ``/api/v1/municipalities/<code>``."""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.core.database import request_session
from kentra.platform.municipalities.access import access_profile
from kentra.platform.municipalities.schemas import MunicipalityProfileSchema
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.models import TenantStatus
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint(
    "municipalities",
    __name__,
    url_prefix="/municipalities",
    description="A municipality's own space (tenant-scoped)",
)


@blueprint.route("/<municipality_code>")
@requires(Permission.TENANT_PROFILE_READ)
@blueprint.response(200, MunicipalityProfileSchema)
def get_profile(municipality_code: MunicipalityCode) -> dict[str, Any]:
    """The municipality's public profile, read from its own schema."""
    profile = found_or_404(
        access_profile(request_session(), signed_in_principal()), NOT_FOUND_DETAIL
    )
    return {
        "code": profile.municipality_code,
        "name_el": profile.display_name_el,
        "name_latin": profile.display_name_latin,
        "status": TenantStatus.ACTIVE.value,  # routing answers 404 for any other status
    }
