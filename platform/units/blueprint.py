"""Units API: ``/api/v1/municipalities/<code>/units``.

Reading the structure needs ``tenant:units:read``; registering the centre, adding annexes and
mobile units, editing and closing need ``tenant:units:write`` (the municipality admin). Edits
and closing carry the unit's ETag in If-Match (428 without, 412 when stale). A unit's
workspace (``…/units/<unit_id>/workspace``) is unit-scoped: only the unit's own people enter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, current_app
from flask_smorest import abort
from sqlalchemy import Row
from sqlalchemy.orm.exc import StaleDataError

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_actor, current_principal, requires, signed_in_principal
from kentra.auth.identity import IdentityAdmin
from kentra.auth.permissions import Permission
from kentra.auth.principal import UnitPath
from kentra.platform.api import Blueprint, found_or_404, json_response
from kentra.platform.api.etags import (
    ETAG_HEADER,
    PRECONDITION_FAILED,
    documents_if_match,
    etag,
    require_if_match,
)
from kentra.platform.api.paging import link_header
from kentra.platform.core.database import request_session
from kentra.platform.units.access import (
    access_centre_id,
    access_centre_ids,
    access_municipality_names,
    access_served_municipalities_of,
    access_unit_by_id,
    access_unit_rows_page,
    access_unit_workspace_by_id,
)
from kentra.platform.units.models import PREMISES_ITEMS, Unit, UnitKind
from kentra.platform.units.operations import (
    add_to_centre,
    close_unit,
    register_centre,
    update_unit,
)
from kentra.platform.units.schemas import (
    AnnexCreateSchema,
    CentreCreateSchema,
    MobileUnitCreateSchema,
    UnitCloseSchema,
    UnitListArgsSchema,
    UnitSchema,
    UnitUpdateSchema,
)
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "units", __name__, url_prefix="/municipalities", description="Centres, annexes, mobile units"
)
UNIT_NOT_FOUND = "There is no such unit, or it is not one of yours."


def unit_document(
    code: MunicipalityCode,
    unit: Unit | Row[Any],
    served: Sequence[tuple[str, str]],
    centre_id: int | None,
) -> dict[str, Any]:
    """A unit as ``UnitSchema`` reads it, from its ORM object or its row of the units table, with
    the (code, Greek name) of the municipalities it serves and its reference centre's id."""
    return {
        "id": unit.id,
        "kind": str(unit.kind),
        "name": unit.name,
        "path": str(UnitPath(code.value, unit.centre, unit.unit)),
        "centre_id": centre_id if unit.unit is not None else None,
        "closed_on": unit.closed_on,
        "opening_date": unit.opening_date,
        "street_address": unit.street_address,
        "postal_code": unit.postal_code,
        "focus_groups": list(unit.focus_groups or []),
        "body_type": str(unit.body_type) if unit.body_type else None,
        "body_legal_name": unit.body_legal_name,
        "body_vat": unit.body_vat,
        "annex_reason": str(unit.annex_reason) if unit.annex_reason else None,
        **{item: bool(getattr(unit, item)) for item in PREMISES_ITEMS},
        "served_municipalities": [{"code": c, "name_el": name} for c, name in served],
        "version": unit.version,
    }


def dump_units(code: MunicipalityCode, units: Sequence[Unit]) -> list[dict[str, Any]]:
    """ORM units (one just changed, a workspace) as ``UnitSchema`` reads them: the served
    municipalities' names in one query, each annex's and mobile unit's centre id in one each."""
    session = request_session()
    served = sorted({s.municipality_code for u in units for s in u.served_municipalities})
    names = access_municipality_names(session, signed_in_principal(), served)
    centre_ids = {
        u.centre: access_centre_id(session, signed_in_principal(), u.centre)
        for u in units
        if u.unit
    }
    return [
        unit_document(
            code,
            unit,
            [
                (s.municipality_code, names.get(s.municipality_code, ""))
                for s in unit.served_municipalities
            ],
            centre_ids.get(unit.centre),
        )
        for unit in units
    ]


def _one(code: MunicipalityCode, unit: Unit) -> tuple[dict[str, Any], dict[str, str]]:
    return dump_units(code, [unit])[0], {"ETag": etag(unit.version)}


def _add_to_centre(
    kind: UnitKind, code: MunicipalityCode, unit_id: int, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """An annex or a mobile unit (``kind``) added to the open centre ``unit_id``, as the
    answer."""
    _unit_or_404(unit_id)
    session, actor = request_session(), current_actor()
    unit = add_to_centre(
        session, code.value, unit_id, kind, data, actor=actor, identity=_identity()
    )
    return _one(code, unit)


def _change(
    code: MunicipalityCode, unit: Unit, change: Callable[[], object]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Make ``change`` to ``unit`` (whose If-Match the view checked) and answer the unit: one
    that another request changed between our read and our write is a 412 as well."""
    try:
        change()
    except StaleDataError:
        abort(412, message=PRECONDITION_FAILED)
    return _one(code, unit)


def _identity() -> IdentityAdmin:
    kentra = current_app.extensions["kentra"]
    return identity_admin(kentra.settings, kentra.engine)


def _unit_or_404(unit_id: int) -> Unit:
    unit = access_unit_by_id(request_session(), signed_in_principal(), unit_id)
    return found_or_404(unit, UNIT_NOT_FOUND)


@blueprint.route("/<municipality_code>/units")
@requires(Permission.TENANT_UNITS_READ)
@blueprint.paged_list(UnitListArgsSchema, UnitSchema(many=True))
def list_units(args: dict[str, Any], municipality_code: MunicipalityCode) -> Response:
    """The municipality's centres, annexes and mobile units, closed ones included: each
    centre, then its annexes and mobile units by their path; a page at a time."""
    # The API's most frequent read (ADR 0028, 0040): rows, not ORM objects, two queries
    # whatever the page, and documents already in UnitSchema's form (tests hold them equal),
    # so the schema is the list's description but does not dump it again.
    session = request_session()
    reader = signed_in_principal()
    page = access_unit_rows_page(
        session, reader, cursor=args.get("cursor"), per_page=args["per_page"]
    )
    served = access_served_municipalities_of(session, reader, [row.id for row in page.items])
    centres = access_centre_ids(session, reader, page.items)
    response = json_response(
        [
            unit_document(municipality_code, row, served.get(row.id, ()), centres.get(row.centre))
            for row in page.items
        ]
    )
    response.headers.update(link_header(page))
    return response


@blueprint.route("/<municipality_code>/units/<int:unit_id>")
@requires(Permission.TENANT_UNITS_READ)
@blueprint.response(200, UnitSchema, headers=ETAG_HEADER)
def get_unit(
    municipality_code: MunicipalityCode, unit_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """One unit, with its ETag (send it in If-Match to change or close the unit)."""
    return _one(municipality_code, _unit_or_404(unit_id))


@blueprint.route("/<municipality_code>/units/centre", methods=["POST"])
@requires(Permission.TENANT_UNITS_WRITE)
@blueprint.arguments(CentreCreateSchema)
@blueprint.response(201, UnitSchema, headers=ETAG_HEADER)
def create_centre(
    data: dict[str, Any], municipality_code: MunicipalityCode
) -> tuple[dict[str, Any], dict[str, str]]:
    """Register the municipality's centre and its identity group.

    A municipality too small for a centre of its own is a 422 saying why; one with an open
    centre is a 409; a failing identity provider is a 502 and nothing is saved."""
    centre = register_centre(
        request_session(),
        municipality_code.value,
        data,
        actor=current_actor(),
        identity=_identity(),
    )
    return _one(municipality_code, centre)


@blueprint.route("/<municipality_code>/units/<int:unit_id>/annexes", methods=["POST"])
@requires(Permission.TENANT_UNITS_WRITE)
@blueprint.arguments(AnnexCreateSchema)
@blueprint.response(201, UnitSchema, headers=ETAG_HEADER)
def create_annex(
    data: dict[str, Any], municipality_code: MunicipalityCode, unit_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Add an annex to the open centre ``unit_id`` (422 when it is not an open centre)."""
    return _add_to_centre(UnitKind.ANNEX, municipality_code, unit_id, data)


@blueprint.route("/<municipality_code>/units/<int:unit_id>/mobile-units", methods=["POST"])
@requires(Permission.TENANT_UNITS_WRITE)
@blueprint.arguments(MobileUnitCreateSchema)
@blueprint.response(201, UnitSchema, headers=ETAG_HEADER)
def create_mobile_unit(
    data: dict[str, Any], municipality_code: MunicipalityCode, unit_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Add a mobile unit to the open centre ``unit_id``, serving municipalities without a
    centre of their own (422 naming one that has a centre or does not exist)."""
    return _add_to_centre(UnitKind.MOBILE_UNIT, municipality_code, unit_id, data)


@blueprint.route("/<municipality_code>/units/<int:unit_id>", methods=["PATCH"])
@requires(Permission.TENANT_UNITS_WRITE)
@documents_if_match(blueprint)
@blueprint.arguments(UnitUpdateSchema)
@blueprint.response(200, UnitSchema, headers=ETAG_HEADER)
def patch_unit(
    data: dict[str, Any], municipality_code: MunicipalityCode, unit_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Change fields of an open unit (If-Match required; a closed unit is a 409)."""
    unit = _unit_or_404(unit_id)
    require_if_match(unit.version)
    return _change(
        municipality_code,
        unit,
        lambda: update_unit(
            request_session(),
            municipality_code.value,
            unit,
            data,
            actor=current_actor(),
            identity=_identity(),
        ),
    )


@blueprint.route("/<municipality_code>/units/<int:unit_id>/close", methods=["POST"])
@requires(Permission.TENANT_UNITS_WRITE)
@documents_if_match(blueprint)
@blueprint.arguments(UnitCloseSchema)
@blueprint.response(200, UnitSchema, headers=ETAG_HEADER)
def post_close(
    data: dict[str, Any], municipality_code: MunicipalityCode, unit_id: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Close a unit on a date (If-Match required); it stays listed, as closed. A centre with
    open annexes or mobile units, or a closed unit, is a 409."""
    unit = _unit_or_404(unit_id)
    require_if_match(unit.version)
    return _change(
        municipality_code,
        unit,
        lambda: close_unit(request_session(), unit, data["closed_on"], actor=current_actor()),
    )


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
    return dump_units(municipality_code, [found_or_404(unit, UNIT_NOT_FOUND)])[0]
