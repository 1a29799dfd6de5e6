"""Reference API: ``/api/v1/reference/municipalities``."""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import current_reader, public
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.reference.access import (
    access_municipality_by_code,
    search_municipalities_page,
    with_staffing,
)
from kentra.platform.reference.models import Municipality
from kentra.platform.reference.schemas import MunicipalityQueryArgsSchema, MunicipalitySchema

blueprint = Blueprint(
    "reference",
    __name__,
    url_prefix="/reference",
    description="Public reference data (ELSTAT 2021)",
)


@blueprint.route("/municipalities")
@public
@blueprint.paged_list(MunicipalityQueryArgsSchema, MunicipalitySchema(many=True))
def list_municipalities(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """List municipalities by code, filtered by region, regional unit or name; a page at a
    time (``cursor``, ``per_page``; the pages around in ``Link``)."""
    session = request_session()
    page = search_municipalities_page(session, current_reader(), **args)
    return paged(with_staffing(session, current_reader(), page.items), page)


@blueprint.route("/municipalities/<string:code>")
@public
@blueprint.response(200, MunicipalitySchema)
def get_municipality(code: str) -> Municipality:
    """One municipality by its ELSTAT code."""
    municipality = found_or_404(
        access_municipality_by_code(request_session(), current_reader(), code),
        "There is no municipality with this code in the reference data.",
    )
    return with_staffing(request_session(), current_reader(), [municipality])[0]
