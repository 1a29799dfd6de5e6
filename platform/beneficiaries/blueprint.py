"""Beneficiaries API: ``/api/v1/municipalities/<code>/beneficiaries``.

Personal data: the routes need ``unit:beneficiaries:…``, which only the people who work in the
municipality's units hold (centre heads, staff), and each answers only about the people of the
units the caller works in: anyone else's person is a 404, as is a person of another
municipality. Every read and search is audited (``access.py``).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import abort
from sqlalchemy.orm.exc import StaleDataError

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.etags import (
    ETAG_HEADER,
    PRECONDITION_FAILED,
    documents_if_match,
    etag,
    require_if_match,
)
from kentra.platform.api.paging import paged
from kentra.platform.beneficiaries.access import (
    AccessReport,
    LikelyMatch,
    access_beneficiaries_page,
    access_beneficiary_by_id,
    access_beneficiary_for_change,
    access_likely_matches,
    access_report,
)
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.beneficiaries.operations import (
    lift_restriction,
    register_beneficiary,
    restrict_beneficiary,
    update_beneficiary,
)
from kentra.platform.beneficiaries.schemas import (
    AccessReportSchema,
    BeneficiaryCreateSchema,
    BeneficiaryQueryArgsSchema,
    BeneficiarySchema,
    BeneficiaryUpdateSchema,
    LikelyMatchSchema,
    MatchQueryArgsSchema,
    RestrictionSchema,
)
from kentra.platform.core.database import request_session
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "beneficiaries",
    __name__,
    url_prefix="/municipalities",
    description="The Beneficiaries Registry: the people the municipality's units register",
)
PERSON_NOT_FOUND = "There is no such person, or not in one of your units."
# A person and the version their ETag names (send it in If-Match to correct them).
Answer = tuple[Beneficiary, dict[str, str]]


def _answer(person: Beneficiary) -> Answer:
    return person, {"ETag": etag(person.version)}


def _for_change(code: MunicipalityCode, beneficiary_id: int) -> Beneficiary:
    """The person to change, locked, whose ETag the request carries in If-Match."""
    person = access_beneficiary_for_change(
        request_session(), signed_in_principal(), beneficiary_id, municipality_code=code.value
    )
    person = found_or_404(person, PERSON_NOT_FOUND)
    require_if_match(person.version)
    return person


@blueprint.route("/<municipality_code>/beneficiaries", methods=["GET"])
@requires(Permission.UNIT_BENEFICIARIES_READ)
@blueprint.paged_list(BeneficiaryQueryArgsSchema, BeneficiarySchema(many=True))
def list_beneficiaries(
    args: dict[str, Any], municipality_code: MunicipalityCode
) -> tuple[Any, int, dict[str, str]]:
    """The people of the caller's units, newest registration first, or those matching ``q``;
    a page at a time. Audited (a search with its terms and count)."""
    page = access_beneficiaries_page(
        request_session(),
        signed_in_principal(),
        municipality_code=municipality_code.value,
        terms=args.get("q"),
        cursor=args.get("cursor"),
        per_page=args["per_page"],
    )
    return paged(page.items, page)


@blueprint.route("/<municipality_code>/beneficiaries", methods=["POST"])
@requires(Permission.UNIT_BENEFICIARIES_WRITE)
@blueprint.arguments(BeneficiaryCreateSchema)
@blueprint.response(201, BeneficiarySchema, headers=ETAG_HEADER)
def create_beneficiary(data: dict[str, Any], municipality_code: MunicipalityCode) -> Answer:
    """Register a person in one of the caller's open units. An identifier another person
    already holds is a 409 naming it; an ΑΜΚΑ that disagrees with the date of birth a 422;
    a person likely one the caller already sees (…/matches) a 409, unless
    ``duplicate_reason`` says why not (kept in the audit trail)."""
    person = register_beneficiary(
        request_session(), signed_in_principal(), municipality_code.value, data
    )
    return _answer(person)


@blueprint.route("/<municipality_code>/beneficiaries/matches", methods=["GET"])
@requires(Permission.UNIT_BENEFICIARIES_READ)
@blueprint.arguments(MatchQueryArgsSchema, location="query")
@blueprint.response(200, LikelyMatchSchema(many=True))
def list_likely_matches(
    args: dict[str, Any], municipality_code: MunicipalityCode
) -> list[LikelyMatch]:
    """Before registering: the caller's people likely the same as the one described (born the
    same year, names alike in either script), the most alike first. Needs both names and the
    date or year of birth; without them, none. Audited as a search."""
    born_on = args.get("born_on")
    birth_year = born_on.year if born_on else args.get("birth_year")
    if not (args.get("given_name") and args.get("family_name") and birth_year):
        return []
    return access_likely_matches(
        request_session(),
        signed_in_principal(),
        municipality_code=municipality_code.value,
        given_name=args["given_name"],
        family_name=args["family_name"],
        birth_year=birth_year,
    )


@blueprint.route("/<municipality_code>/beneficiaries/<int:beneficiary_id>", methods=["GET"])
@requires(Permission.UNIT_BENEFICIARIES_READ)
@blueprint.response(200, BeneficiarySchema, headers=ETAG_HEADER)
def get_beneficiary(municipality_code: MunicipalityCode, beneficiary_id: int) -> Answer:
    """One person of the caller's units (audited), with the ETag to correct them with."""
    person = access_beneficiary_by_id(
        request_session(),
        signed_in_principal(),
        beneficiary_id,
        municipality_code=municipality_code.value,
    )
    return _answer(found_or_404(person, PERSON_NOT_FOUND))


@blueprint.route("/<municipality_code>/beneficiaries/<int:beneficiary_id>", methods=["PATCH"])
@requires(Permission.UNIT_BENEFICIARIES_WRITE)
@documents_if_match(blueprint)
@blueprint.arguments(BeneficiaryUpdateSchema)
@blueprint.response(200, BeneficiarySchema, headers=ETAG_HEADER)
def correct_beneficiary(
    changes: dict[str, Any], municipality_code: MunicipalityCode, beneficiary_id: int
) -> Answer:
    """Correct a person's record (GDPR Art. 16; If-Match required), checked as a registration
    is; null clears an optional field. Audited by the names of the fields changed."""
    person = _for_change(municipality_code, beneficiary_id)
    try:
        update_beneficiary(
            request_session(), signed_in_principal(), municipality_code.value, person, changes
        )
    except StaleDataError:
        abort(412, message=PRECONDITION_FAILED)
    return _answer(person)


@blueprint.route(
    "/<municipality_code>/beneficiaries/<int:beneficiary_id>/access-report", methods=["GET"]
)
@requires(Permission.UNIT_BENEFICIARY_RIGHTS_MANAGE)
@blueprint.response(200, AccessReportSchema)
def get_access_report(municipality_code: MunicipalityCode, beneficiary_id: int) -> AccessReport:
    """A person's right of access (GDPR Art. 15; the centre head): everything the registry
    holds about them and every access to it (when, by whom, what), oldest first. Producing it
    is audited."""
    report = access_report(
        request_session(),
        signed_in_principal(),
        beneficiary_id,
        municipality_code=municipality_code.value,
    )
    return found_or_404(report, PERSON_NOT_FOUND)


RESTRICTION = "/<municipality_code>/beneficiaries/<int:beneficiary_id>/restriction"


@blueprint.route(RESTRICTION, methods=["PUT"])
@requires(Permission.UNIT_BENEFICIARY_RIGHTS_MANAGE)
@documents_if_match(blueprint)
@blueprint.arguments(RestrictionSchema)
@blueprint.response(200, BeneficiarySchema, headers=ETAG_HEADER)
def restrict(
    data: dict[str, Any], municipality_code: MunicipalityCode, beneficiary_id: int
) -> Answer:
    """Restrict the processing of a person's data (GDPR Art. 18; the centre head; If-Match):
    kept and read by id, never changed, listed, searched or matched until lifted. Already
    restricted: 409."""
    person = _for_change(municipality_code, beneficiary_id)
    restrict_beneficiary(request_session(), signed_in_principal(), person, data["reason"])
    return _answer(person)


@blueprint.route(RESTRICTION, methods=["DELETE"])
@requires(Permission.UNIT_BENEFICIARY_RIGHTS_MANAGE)
@documents_if_match(blueprint)
@blueprint.response(200, BeneficiarySchema, headers=ETAG_HEADER)
def lift(municipality_code: MunicipalityCode, beneficiary_id: int) -> Answer:
    """Lift the restriction (the centre head; If-Match): the record is processed again. Not
    restricted: 409."""
    person = _for_change(municipality_code, beneficiary_id)
    lift_restriction(request_session(), signed_in_principal(), person)
    return _answer(person)
