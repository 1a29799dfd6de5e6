"""Supervision API (derived, domain.md §10).

- ``GET /api/v1/municipalities/<code>/supervision``: who supervises the municipality and why.
- ``GET /api/v1/supervision/seats``: the regional units whose seat the reference data leaves
  unknown, with the ministry's decision if any (ministry).
- ``PUT /api/v1/supervision/seats/<regional_unit_code>``: the ministry sets such a seat.
- ``GET /api/v1/supervision/supervised``: the municipalities a supervisor supervises.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import abort

from kentra.auth.flask import current_actor, current_principal, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.auth.roles import ROLE_REACH, Reach
from kentra.platform.api import Blueprint
from kentra.platform.core.database import request_session
from kentra.platform.supervision.access import (
    UnknownSeat,
    access_supervised,
    access_supervision,
    access_unknown_seat,
    access_unknown_seats,
)
from kentra.platform.supervision.operations import (
    Supervision,
    set_regional_unit_seat,
)
from kentra.platform.supervision.schemas import (
    SeatDecisionInputSchema,
    SupervisionSchema,
    UnknownSeatSchema,
)
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint(
    "supervision",
    __name__,
    url_prefix="",
    description="Supervision, derived: own directorates or the regional unit's seat",
)


@blueprint.route("/municipalities/<municipality_code>/supervision")
@requires(Permission.TENANT_PROFILE_READ)
@blueprint.response(200, SupervisionSchema)
def get_supervision(municipality_code: MunicipalityCode) -> Supervision:
    """Who supervises the municipality: its own directorates (it has a Social Service), else
    the seat municipality of its regional unit (reference data, else the ministry's decision);
    "not determined" when it has not stated a Social Service or the seat is still unknown."""
    found = access_supervision(request_session(), signed_in_principal(), municipality_code.value)
    if found is None:  # pragma: no cover - routing admits active tenants only
        abort(404, message=NOT_FOUND_DETAIL)
    assert found is not None
    return found


@blueprint.route("/supervision/supervised")
@requires(Permission.REGION_COMPLIANCE_READ)
@blueprint.response(200, SupervisionSchema(many=True))
def list_supervised() -> list[Supervision]:
    """For a supervisor: the municipalities on the platform whose supervision its municipality
    holds (itself included when it has a Social Service). Empty for other roles, whose
    overview is national or regional."""
    principal = current_principal()
    assert principal is not None  # @requires ran
    supervises = any(ROLE_REACH[role] is Reach.SUPERVISION for role in principal.roles)
    return access_supervised(
        request_session(), signed_in_principal(), principal.organization if supervises else None
    )


@blueprint.route("/supervision/seats")
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
@blueprint.response(200, UnknownSeatSchema(many=True))
def list_unknown_seats() -> list[UnknownSeat]:
    """The regional units whose seat the reference data leaves unknown, with the ministry's
    decision if any (until then their municipalities without a Social Service have no
    supervisor: "not determined")."""
    return access_unknown_seats(request_session(), signed_in_principal())


@blueprint.route("/supervision/seats/<regional_unit_code>", methods=["PUT"])
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
@blueprint.arguments(SeatDecisionInputSchema)
@blueprint.response(200, UnknownSeatSchema)
def set_seat(data: dict[str, Any], regional_unit_code: str) -> UnknownSeat:
    """Set (or correct) the seat of a regional unit whose reference seat is unknown: one of
    the unit's municipalities, with a note (audited). A unit whose seat the reference data
    knows is a 409; a municipality outside the unit a 422; an unknown unit a 404."""
    session = request_session()
    set_regional_unit_seat(
        session,
        regional_unit_code,
        data["seat_municipality_code"],
        note=data["note"],
        actor=current_actor(),
    )
    found = access_unknown_seat(session, signed_in_principal(), regional_unit_code)
    assert found is not None  # the decision was just recorded for such a unit
    return found
