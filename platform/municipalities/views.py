"""Web pages of a municipality's own space (server-rendered, Greek)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from kentra.auth.flask import requires
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.municipalities.access import access_profile
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint("municipality_pages", __name__, template_folder="templates")


@blueprint.get("/municipalities/<municipality_code>")
@requires(Permission.TENANT_PROFILE_READ)
def profile_page(municipality_code: MunicipalityCode) -> str:
    """The municipality's profile, for the signed-in user (same rules as the API)."""
    profile = access_profile(request_session())
    if profile is None:
        abort(404, NOT_FOUND_DETAIL)
    return render_template("municipalities/profile.html", profile=profile, code=municipality_code)
