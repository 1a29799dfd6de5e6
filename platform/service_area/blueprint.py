"""Service area API (ADR 0018).

- ``GET /api/v1/municipalities/<code>/service-area``: the area the policy in force draws
  around the municipality's centre (its region by default) and the exceptions the ministry
  allowed it; for every role that reads the municipality's units.
- ``GET /api/v1/service-area/exceptions?municipality_code=``: every exception (ministry).
- ``POST /api/v1/service-area/exceptions``: the ministry allows a municipality's mobile units
  to serve one beyond the area, with a reason (201; an existing pair gets the new reason, 200).
- ``DELETE /api/v1/service-area/exceptions/<exception_id>``: the ministry withdraws one (204).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.service_area.access import (
    ExceptionView,
    TenantServiceArea,
    access_exception,
    access_exceptions_page,
    access_service_area,
)
from kentra.platform.service_area.operations import (
    record_exception,
    withdraw_exception,
)
from kentra.platform.service_area.schemas import (
    ExceptionInputSchema,
    ExceptionSchema,
    ExceptionsQueryArgsSchema,
    ServiceAreaSchema,
)
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint(
    "service_area",
    __name__,
    url_prefix="",
    description="Where mobile units may serve: the policy's area and the ministry's exceptions",
)


@blueprint.route("/municipalities/<municipality_code>/service-area")
@requires(Permission.TENANT_UNITS_READ)
@blueprint.response(200, ServiceAreaSchema)
def get_service_area(municipality_code: MunicipalityCode) -> TenantServiceArea:
    """Where the municipality's mobile units may serve: the area the policy in force draws
    around its centre (its regional unit, its region, or the country) and the municipalities
    beyond it the ministry allows."""
    # None only for a municipality routing does not admit (not a tenant): the same 404.
    found = access_service_area(request_session(), signed_in_principal(), municipality_code.value)
    return found_or_404(found, NOT_FOUND_DETAIL)


@blueprint.route("/service-area/exceptions")
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
@blueprint.paged_list(ExceptionsQueryArgsSchema, ExceptionSchema(many=True))
def list_exceptions(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """Every exception (or one municipality's), by municipality and served municipality; a
    page at a time (``cursor``, ``per_page``; the pages around in ``Link``)."""
    page = access_exceptions_page(request_session(), signed_in_principal(), **args)
    return paged(page.items, page)


@blueprint.route("/service-area/exceptions", methods=["POST"])
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
@blueprint.arguments(ExceptionInputSchema)
@blueprint.response(201, ExceptionSchema)
@blueprint.alt_response(200, schema=ExceptionSchema, description="the pair existed: new reason")
def post_exception(data: dict[str, Any]) -> tuple[ExceptionView, int]:
    """Allow ``municipality_code``'s mobile units to serve ``served_municipality_code``
    beyond the area, for ``reason`` (audited). An unknown municipality, the municipality
    itself or a missing reason: 422."""
    session = request_session()
    exception, created = record_exception(session, data, actor=current_actor())
    found = access_exception(session, signed_in_principal(), exception.id)
    assert found is not None  # just recorded
    return found, 201 if created else 200


@blueprint.route("/service-area/exceptions/<int:exception_id>", methods=["DELETE"])
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
@blueprint.response(204)
def delete_exception(exception_id: int) -> Response:
    """Withdraw an exception (audited): mobile units saved from now on may not serve that
    municipality; those that serve it already keep it until they are edited."""
    withdraw_exception(request_session(), exception_id, actor=current_actor())
    return Response(status=204)
