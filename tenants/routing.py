"""Per-request tenant resolution for URLs carrying ``<municipality_code>``.

The code in the URL is validated, the tenant looked up in the registry, and the request's
session bound to the tenant schema, before the view runs. A malformed code, an unknown tenant
and a tenant that is not active all answer the same 404, so the answer reveals nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Flask, abort, current_app
from sqlalchemy import Select, bindparam, select

from kentra.auth.flask import authorize_tenant
from kentra.platform.core.database import set_request_session
from kentra.platform.reference.models import Municipality, RegionalUnit
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.platform.supervision.operations import supervisor_code
from kentra.tenants.binding import begin_tenant_session, open_tenant_session, set_current_tenant
from kentra.tenants.codes import InvalidMunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

URL_PARAMETER = "municipality_code"
NOT_FOUND_DETAIL = "There is no municipality with this code on the platform."


@cache
def _tenant_lookup() -> Select[str, str, str | None]:
    """The status, the region and the supervising municipality (derived). Built once: every
    tenant URL runs it, in the statement that sets the transaction's search path."""
    return (
        select(Tenant.status, RegionalUnit.region_code, supervisor_code().label("supervisor"))
        .join(Municipality, Municipality.code == Tenant.code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .outerjoin(
            RegionalUnitSeatDecision,
            RegionalUnitSeatDecision.regional_unit_code == RegionalUnit.code,
        )
        .where(Tenant.code == bindparam("code"))
    )


def _resolve_tenant(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if not values or URL_PARAMETER not in values:
        return
    try:
        code = parse_municipality_code(values[URL_PARAMETER])
    except InvalidMunicipalityCode:
        abort(404, NOT_FOUND_DETAIL)
    session = open_tenant_session(current_app.extensions["kentra"].engine, code)
    set_request_session(session)
    # One round trip: the registry is read in the statement that binds the transaction.
    found = begin_tenant_session(session, _tenant_lookup(), {"code": code.value})
    if found.status != TenantStatus.ACTIVE:
        abort(404, NOT_FOUND_DETAIL)
    # Another municipality's tenant is exactly as absent as one that does not exist.
    authorize_tenant(
        code.value,
        found.region_code,
        not_found=lambda: abort(404, NOT_FOUND_DETAIL),
        tenant_supervisor=found.supervisor,
    )
    set_current_tenant(code)  # cleared in teardown, see _reset_tenant
    values[URL_PARAMETER] = code


def _reset_tenant(_exc: BaseException | None) -> None:
    set_current_tenant(None)


def init_app(app: Flask) -> None:
    app.url_value_preprocessor(_resolve_tenant)
    app.teardown_request(_reset_tenant)
