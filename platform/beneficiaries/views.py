"""Web pages of the Beneficiaries Registry (server-rendered, Greek), over the API's schemas,
loaders and operations; only the people of the reader's units, as the API.

- ``GET /municipalities/<code>/beneficiaries``: one search box and the people of the reader's
  units, newest first (``unit:beneficiaries:read``).
- ``GET|POST /municipalities/<code>/beneficiaries/new``: register a person
  (``unit:beneficiaries:write``). A likely duplicate shows the people it is likely to be,
  with links, and asks why the new one is not the same.
- ``GET /municipalities/<code>/beneficiaries/<id>``: a person's record (audited).

Refusals re-render the form with an error summary and each field's message, everything typed
kept; success redirects (303) to the person's page.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.beneficiaries.access import (
    access_beneficiaries_page,
    access_beneficiary_by_id,
    access_likely_matches,
    reachable_unit_ids,
)
from kentra.platform.beneficiaries.models import DocumentType, Sex
from kentra.platform.beneficiaries.operations import register_beneficiary
from kentra.platform.beneficiaries.schemas import BeneficiaryCreateSchema
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.units.api import Unit, access_units
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint("beneficiaries_pages", __name__, template_folder="templates")

# The form's fields, in its order; the error summary names each by its label.
LABELS: dict[str, Any] = {
    "unit_id": lazy_gettext("Μονάδα καταγραφής"),
    "given_name": lazy_gettext("Όνομα"),
    "family_name": lazy_gettext("Επώνυμο"),
    "father_name": lazy_gettext("Όνομα πατέρα"),
    "mother_name": lazy_gettext("Όνομα μητέρας"),
    "given_name_latin": lazy_gettext("Όνομα με λατινικούς χαρακτήρες"),
    "family_name_latin": lazy_gettext("Επώνυμο με λατινικούς χαρακτήρες"),
    "born_on": lazy_gettext("Ημερομηνία γέννησης"),
    "birth_year": lazy_gettext("Έτος γέννησης"),
    "sex": lazy_gettext("Φύλο"),
    "nationality": lazy_gettext("Υπηκοότητα"),
    "phone": lazy_gettext("Τηλέφωνο"),
    "email": lazy_gettext("Διεύθυνση e-mail"),
    "address": lazy_gettext("Διεύθυνση κατοικίας"),
    "residence_municipality_code": lazy_gettext("Δήμος κατοικίας (κωδικός)"),
    "amka": lazy_gettext("ΑΜΚΑ"),
    "vat": lazy_gettext("ΑΦΜ"),
    "document_type": lazy_gettext("Είδος εγγράφου ταυτότητας"),
    "document_number": lazy_gettext("Αριθμός εγγράφου"),
    "interpreter_needed": lazy_gettext("Χρειάζεται διερμηνέα"),
    "duplicate_reason": lazy_gettext("Γιατί δεν είναι το ίδιο πρόσωπο"),
}
SEX_NAMES: dict[Sex, Any] = {
    Sex.FEMALE: lazy_gettext("Γυναίκα"),
    Sex.MALE: lazy_gettext("Άνδρας"),
    Sex.OTHER: lazy_gettext("Άλλο"),
}
DOCUMENT_NAMES: dict[DocumentType, Any] = {
    DocumentType.IDENTITY_CARD: lazy_gettext("Δελτίο ταυτότητας"),
    DocumentType.PASSPORT: lazy_gettext("Διαβατήριο"),
    DocumentType.RESIDENCE_PERMIT: lazy_gettext("Άδεια διαμονής"),
}


def _registry_url(code: MunicipalityCode) -> str:
    return f"/municipalities/{code.value}/beneficiaries"


def _own_units(code: MunicipalityCode) -> dict[int, Unit]:
    """The units whose people the reader sees, by id (the open ones register)."""
    session = request_session()
    reachable = reachable_unit_ids(session, signed_in_principal(), code.value)
    units = access_units(session, signed_in_principal())
    return {u.id: u for u in units if reachable is None or u.id in reachable}


def _data_of(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API's schema reads it: a checked box is true, a unit's id and a year
    are numbers."""
    data: dict[str, Any] = web_forms.filled(values)
    data["interpreter_needed"] = values.get("interpreter_needed") in ("true", "on")
    for name in ("unit_id", "birth_year"):
        text = data.get(name, "").strip()
        if text:
            data[name] = int(text) if text.isdigit() else text
    return data


def _render_form(
    code: MunicipalityCode,
    state: web_forms.FormState,
    status: int = 200,
    likely: list[Any] | None = None,
) -> ResponseReturnValue:
    units = _own_units(code)
    return (
        render_template(
            "beneficiaries/form.html",
            code=code.value,
            state=state,
            labels=LABELS,
            unit_options=[(str(u.id), u.name) for u in units.values() if u.is_open],
            sex_options=[(s.value, str(name)) for s, name in SEX_NAMES.items()],
            document_options=[(d.value, str(name)) for d, name in DOCUMENT_NAMES.items()],
            likely=likely or [],
            asks_reason=bool(likely) or "duplicate_reason" in state.values,
        ),
        status,
    )


@blueprint.get("/municipalities/<municipality_code>/beneficiaries")
@requires(Permission.UNIT_BENEFICIARIES_READ)
def registry_page(municipality_code: MunicipalityCode) -> str:
    """The people of the reader's units, newest first, or those the search box finds."""
    terms = (request.args.get("q") or "").strip()[:200] or None
    page, paging_errors = page_or_first(
        partial(
            access_beneficiaries_page,
            request_session(),
            signed_in_principal(),
            municipality_code=municipality_code.value,
            terms=terms,
        )
    )
    units = _own_units(municipality_code)
    return render_template(
        "beneficiaries/registry.html",
        code=municipality_code.value,
        people=page.items,
        page=page,
        paging_errors=paging_errors,
        terms=terms or "",
        unit_names={unit_id: unit.name for unit_id, unit in units.items()},
    )


@blueprint.get("/municipalities/<municipality_code>/beneficiaries/new")
@requires(Permission.UNIT_BENEFICIARIES_WRITE)
def new_person_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """The empty registration form (the only open unit chosen when there is one)."""
    open_units = [u for u in _own_units(municipality_code).values() if u.is_open]
    values = {"unit_id": str(open_units[0].id)} if len(open_units) == 1 else {}
    return _render_form(municipality_code, web_forms.FormState(values))


def _stale_new_person(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    return web_forms.stale_form(
        web_forms.form_values(LABELS), partial(_render_form, municipality_code)
    )


@blueprint.post("/municipalities/<municipality_code>/beneficiaries/new")
@web_forms.on_stale_form(_stale_new_person)
@requires(Permission.UNIT_BENEFICIARIES_WRITE)
def register_person_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """Validate and register the person, as the API does; or show the form again, explained
    (with the likely same people, when that is the refusal)."""
    values = web_forms.form_values(LABELS)
    session = request_session()
    principal = signed_in_principal()

    def register(data: dict[str, Any]) -> str:
        person = register_beneficiary(session, principal, municipality_code.value, data)
        return f"{_registry_url(municipality_code)}/{person.id}"

    def render(state: web_forms.FormState, status: int = 200) -> ResponseReturnValue:
        likely = None
        if status == 409 and "duplicate_reason" in state.errors:
            # The refusal came after the schema accepted the form: read it as it did.
            data = BeneficiaryCreateSchema().load(_data_of(values))
            born_on = data.get("born_on")
            likely = access_likely_matches(
                session,
                principal,
                municipality_code=municipality_code.value,
                given_name=data["given_name"],
                family_name=data["family_name"],
                birth_year=born_on.year if born_on else data["birth_year"],
            )
        return _render_form(municipality_code, state, status, likely)

    return web_forms.submit_form(
        values,
        render,
        load=lambda: BeneficiaryCreateSchema().load(_data_of(values)),
        run=register,
        saved=_("Το πρόσωπο καταγράφηκε στο μητρώο."),
    )


@blueprint.get("/municipalities/<municipality_code>/beneficiaries/<int:beneficiary_id>")
@requires(Permission.UNIT_BENEFICIARIES_READ)
def person_page(municipality_code: MunicipalityCode, beneficiary_id: int) -> str:
    """A person's record (the read is audited)."""
    person = access_beneficiary_by_id(
        request_session(),
        signed_in_principal(),
        beneficiary_id,
        municipality_code=municipality_code.value,
    )
    if person is None:
        abort(404)
    units = _own_units(municipality_code)
    return render_template(
        "beneficiaries/person.html",
        code=municipality_code.value,
        person=person,
        labels=LABELS,
        unit_name=units[person.unit_id].name if person.unit_id in units else "",
        sex=SEX_NAMES.get(person.sex) if person.sex else None,
        document=DOCUMENT_NAMES.get(person.document_type) if person.document_type else None,
    )
