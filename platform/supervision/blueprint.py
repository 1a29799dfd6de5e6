"""Supervision API (derived, domain.md §10).

- ``GET /api/v1/municipalities/<code>/supervision``: who supervises the municipality and why.
- ``GET /api/v1/supervision/seats``: the regional units whose seat the reference data leaves
  unknown, with the ministry's decision if any (ministry).
- ``PUT /api/v1/supervision/seats/<regional_unit_code>``: the ministry sets such a seat.
- ``GET /api/v1/supervision/supervised``: the municipalities a supervisor supervises.
"""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import current_actor, current_principal, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.auth.roles import ROLE_REACH, Reach
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.supervision.access import (
    UnknownSeat,
    access_supervised_page,
    access_supervision,
    access_unknown_seat,
    access_unknown_seats_page,
)
from kentra.platform.supervision.operations import (
    Supervision,
    set_regional_unit_seat,
)
from kentra.platform.supervision.schemas import (
    SeatDecisionInputSchema,
    SupervisionPageArgsSchema,
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
    # None only for a municipality routing does not admit (not an active tenant): the same 404.
    found = access_supervision(request_session(), signed_in_principal(), municipality_code.value)
    return found_or_404(found, NOT_FOUND_DETAIL)


@blueprint.route("/supervision/supervised")
@requires(Permission.REGION_COMPLIANCE_READ)
@blueprint.paged_list(SupervisionPageArgsSchema, SupervisionSchema(many=True))
def list_supervised(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """For a supervisor: the municipalities on the platform whose supervision its municipality
    holds (itself included when it has a Social Service). Empty for other roles, whose
    overview is national or regional. A page at a time (``cursor``, ``per_page``; the pages
    around in ``Link``), by code."""
    principal = current_principal()
    assert principal is not None  # @requires ran
    supervises = any(ROLE_REACH[role] is Reach.SUPERVISION for role in principal.roles)
    page = access_supervised_page(
        request_session(),
        signed_in_principal(),
        principal.organization if supervises else None,
        **args,
    )
    return paged(page.items, page)


@blueprint.route("/supervision/seats")
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
@blueprint.paged_list(SupervisionPageArgsSchema, UnknownSeatSchema(many=True))
def list_unknown_seats(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """The regional units whose seat the reference data leaves unknown, with the ministry's
    decision if any (until then their municipalities without a Social Service have no
    supervisor: "not determined"). A page at a time, by code (``cursor``, ``per_page``; the
    pages around in ``Link``)."""
    page = access_unknown_seats_page(request_session(), signed_in_principal(), **args)
    return paged(page.items, page)


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
