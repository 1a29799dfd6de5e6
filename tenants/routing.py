"""Per-request tenant resolution for URLs carrying ``<municipality_code>``.

The code in the URL is validated, the tenant looked up in the registry, and the request's
session bound to the tenant schema, before the view runs. A malformed code, an unknown tenant
and a tenant that is not active all answer the same 404, so the answer reveals nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app
from sqlalchemy import bindparam, select

from kentra.auth.flask import authorize_tenant, tenant_placement_needed
from kentra.platform.core.database import request_session, set_request_session
from kentra.tenants.binding import (
    AnySelect,
    open_tenant_session,
    read_rows,
    set_current_tenant,
)
from kentra.tenants.codes import InvalidMunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

URL_PARAMETER = "municipality_code"
NOT_FOUND_DETAIL = "There is no municipality with this code on the platform."


# Set by init_app: the registry lookup, built by a module above tenants/ (routing does not
# import the reference data or the supervision rule).
_LOOKUP = "kentra_tenant_lookup"
# What most requests need: the tenant's status alone. The full lookup joins four tables, and
# where prepared statements are off (behind PgBouncer) its planning costs ten times this one's.
_STATUS = select(Tenant.status).where(Tenant.code == bindparam("code"))


def _resolve_tenant(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    if not values or URL_PARAMETER not in values:
        return
    try:
        code = parse_municipality_code(values[URL_PARAMETER])
    except InvalidMunicipalityCode:
        abort(404, NOT_FOUND_DETAIL)
    session = open_tenant_session(current_app.extensions["kentra"].engine, code)
    set_request_session(session)  # closed at the request's end, whatever happens next
    # No transaction yet: it begins with the first statement that needs one, and many tenant
    # reads need none (ADR 0032).
    placed = tenant_placement_needed()
    lookup: AnySelect = current_app.extensions[_LOOKUP] if placed else _STATUS
    found = next(iter(read_rows(session, lookup, {"code": code.value})), None)
    if found is None or found.status != TenantStatus.ACTIVE:
        abort(404, NOT_FOUND_DETAIL)
    # Another municipality's tenant is exactly as absent as one that does not exist.
    authorize_tenant(
        code.value,
        found.region_code if placed else None,
        not_found=lambda: abort(404, NOT_FOUND_DETAIL),
        tenant_supervisor=found.supervisor if placed else None,
    )
    set_current_tenant(code)  # cleared in teardown, see _reset_tenant
    values[URL_PARAMETER] = code


def placement(code: str) -> tuple[str | None, str | None] | None:
    """The region and supervising municipality of the active tenant ``code`` (None: there is
    no such active tenant), read with routing's own lookup: links are decided the way the
    requests they lead to will be (``kentra.platform.web.links``)."""
    lookup: AnySelect = current_app.extensions[_LOOKUP]
    found = next(iter(read_rows(request_session(), lookup, {"code": code})), None)
    if found is None or found.status != TenantStatus.ACTIVE:
        return None
    return found.region_code, found.supervisor


def _reset_tenant(_exc: BaseException | None) -> None:
    set_current_tenant(None)


def init_app(app: Flask, lookup: AnySelect) -> None:
    """Resolve tenant URLs with ``lookup``: a select of one tenant's ``status``, ``region_code``
    and ``supervisor`` (its supervising municipality, NULL when not determined) for the bind
    parameter ``code``, on shared tables only (schema-qualified). It runs in every tenant
    request, as a statement of its own; build it once."""
    app.extensions[_LOOKUP] = lookup
    app.url_value_preprocessor(_resolve_tenant)
    app.teardown_request(_reset_tenant)
