"""Compliance API: a municipality's centres (``/api/v1/municipalities/<code>/compliance``)
and the overview across municipalities (``/api/v1/compliance``). Both read the summary in the
shared schema, which is kept current in the same transaction as every change."""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import current_principal, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint
from kentra.platform.api.paging import paged
from kentra.platform.compliance.access import (
    access_municipality_compliance,
    access_overview,
    access_population,
)
from kentra.platform.compliance.schemas import (
    ComplianceOverviewPageArgsSchema,
    ComplianceOverviewSchema,
    MunicipalityComplianceSchema,
)
from kentra.platform.core.database import request_session
from kentra.platform.core.paging import Page
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "compliance", __name__, url_prefix="", description="Computed compliance of the centres"
)


@blueprint.route("/municipalities/<municipality_code>/compliance")
@requires(Permission.TENANT_COMPLIANCE_READ)
@blueprint.response(200, MunicipalityComplianceSchema)
def get_municipality_compliance(municipality_code: MunicipalityCode) -> dict[str, Any]:
    """The compliance of each open centre: status, unmet items (fixed order), staff."""
    session = request_session()
    return {
        "municipality_code": municipality_code.value,
        "population": access_population(session, signed_in_principal(), municipality_code.value),
        "centres": access_municipality_compliance(
            session, signed_in_principal(), municipality_code.value
        ),
    }


@blueprint.route("/compliance")
@requires(Permission.REGION_COMPLIANCE_READ)
@blueprint.paged_list(ComplianceOverviewPageArgsSchema, ComplianceOverviewSchema)
def get_overview(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """Centres across municipalities within the caller's reach, with counts by status.

    The ministry sees the country; a regional officer their region; a supervisor the
    municipalities their organization supervises. ``region`` and ``status`` narrow that, never
    widen it: another region than one's own gives an empty list, not a refusal.

    The centres a page at a time in ``order`` (``cursor``, ``per_page``; the pages around in
    ``Link``); the counts cover every page."""
    principal = current_principal()
    assert principal is not None  # @requires ran
    overview = access_overview(
        request_session(),
        principal,
        region=args.get("region"),
        status=args.get("status"),
        order=args["order"],
        descending=args["descending"],
        per_page=args["per_page"],
        cursor=args.get("cursor"),
    )
    return paged(overview, Page(overview.centres, overview.next_cursor, overview.previous_cursor))
