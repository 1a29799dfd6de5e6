"""Web pages of a municipality's own space (server-rendered, Greek)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.municipalities.access import access_profile
from kentra.platform.supervision.access import BASIS_TEXT, access_supervision
from kentra.platform.units.access import access_open_centre, access_units_of_centre
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import own_centre_refusal
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint("municipality_pages", __name__, template_folder="templates")


@blueprint.get("/municipalities/<municipality_code>")
@requires(Permission.TENANT_PROFILE_READ)
def profile_page(municipality_code: MunicipalityCode) -> str:
    """The municipality's overview: its name, its sections and a summary of its centre."""
    session = request_session()
    profile = access_profile(session, signed_in_principal())
    if profile is None:
        abort(404, NOT_FOUND_DETAIL)
    centre = access_open_centre(session, signed_in_principal())
    units = (
        access_units_of_centre(session, signed_in_principal(), centre) if centre is not None else []
    )
    open_units = [u for u in units if u.is_open]
    refusal = own_centre_refusal(session, municipality_code.value) if centre is None else None
    return render_template(
        "municipalities/profile.html",
        profile=profile,
        code=municipality_code.value,
        centre=centre,
        annexes=sum(u.kind == UnitKind.ANNEX for u in open_units),
        mobile_units=sum(u.kind == UnitKind.MOBILE_UNIT for u in open_units),
        refusal=refusal,
        supervision=access_supervision(session, signed_in_principal(), municipality_code.value),
        basis_text=BASIS_TEXT,
    )
