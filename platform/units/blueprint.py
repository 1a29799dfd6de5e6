"""Units API: ``/api/v1/municipalities/<code>/units``."""

from __future__ import annotations

from typing import Any

from flask_smorest import abort

from kentra.auth.flask import current_principal, requires
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint
from kentra.platform.core.database import request_session
from kentra.platform.units.access import access_unit_workspace_by_id, access_units, unit_path
from kentra.platform.units.models import Unit
from kentra.platform.units.schemas import UnitSchema
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "units", __name__, url_prefix="/municipalities", description="Centres, annexes, mobile units"
)
UNIT_NOT_FOUND = "There is no such unit, or it is not one of yours."


def _dump(code: MunicipalityCode, unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "kind": str(unit.kind),
        "name": unit.name,
        "path": str(unit_path(code.value, unit)),
        "closed_on": unit.closed_on,
    }


@blueprint.route("/<municipality_code>/units")
@requires(Permission.TENANT_UNITS_READ)
@blueprint.response(200, UnitSchema(many=True))
def list_units(municipality_code: MunicipalityCode) -> list[dict[str, Any]]:
    """The municipality's centres, annexes and mobile units."""
    return [_dump(municipality_code, unit) for unit in access_units(request_session())]


@blueprint.route("/<municipality_code>/units/<int:unit_id>/workspace")
@requires(Permission.UNIT_WORKSPACE_READ)
@blueprint.response(200, UnitSchema)
def get_unit_workspace(municipality_code: MunicipalityCode, unit_id: int) -> dict[str, Any]:
    """Enter a unit's workspace (where its people's records live): own units only."""
    principal = current_principal()
    assert principal is not None  # @requires ran
    unit = access_unit_workspace_by_id(
        request_session(), principal, municipality_code.value, unit_id
    )
    if unit is None:
        abort(404, message=UNIT_NOT_FOUND)
    assert unit is not None  # abort() raises
    return _dump(municipality_code, unit)
