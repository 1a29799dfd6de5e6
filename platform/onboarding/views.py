"""The signup web page (server-rendered, Greek): a municipality's representative requests
onboarding without an account.

- ``GET /onboarding``: the form. Every municipality of the reference data, grouped by region;
  those too small for a centre of their own under the policy in force are marked.
- ``POST /onboarding`` (CSRF-protected): validated by the API's schema and recorded by the
  API's operation (``submit_request``). A refusal re-renders the form with every typed value,
  an error summary and each field's message: 422 for bad input or a municipality too small,
  409 when the municipality is on the platform or already has a request waiting, 400 for a
  missing or stale CSRF token. Success redirects (303) to ``GET /onboarding/sent``.

The reviewers' pages (``platform:onboarding:manage``: platform operators, ministry officers):

- ``GET /onboarding/requests``: every request, those waiting for a decision first.
- ``GET /onboarding/requests/<id>``: one request with its contact (personal data: the read is
  audited, as the API's is) and, while it waits, a form to approve and one to reject.
- ``POST /onboarding/requests/<id>`` (CSRF-protected; ``decision`` is ``approve`` or
  ``reject``): the API's operations. Approval provisions the tenant and its identity
  organization and invites the first admin; a rejection needs a reason. Success redirects
  (303) back to the request with a message; a refusal re-renders it with what was typed: 422
  (no reason), 409 (already decided, or no longer possible), 400 (missing CSRF token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial
from itertools import groupby

import marshmallow as ma
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_number, gettext

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_actor, current_reader, public, requires, signed_in_principal
from kentra.auth.keycloak_admin import KeycloakAdminError
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.onboarding.access import access_request_by_id, access_requests_page
from kentra.platform.onboarding.blueprint import SUBMISSION_SCOPE
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.onboarding.operations import (
    approve_request,
    own_centre_threshold,
    reject_request,
    submit_request,
)
from kentra.platform.onboarding.schemas import (
    OnboardingRejectionSchema,
    OnboardingRequestCreateSchema,
)
from kentra.platform.policy.api import access_policy_in_force, staffing_requirement
from kentra.platform.ratelimits.limits import public_submission_wait
from kentra.platform.reference.api import fold, search_municipalities
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first

blueprint = Blueprint("onboarding_pages", __name__, template_folder="templates")
log = logging.getLogger(__name__)

FORM_TEMPLATE = "onboarding/form.html"
SENT_URL = "/onboarding/sent"

# The schema's fields, in the order of the form; the summary names each by its label.
LABELS = {
    "municipality_code": lazy_gettext("Δήμος"),
    "body_type": lazy_gettext("Φορέας υλοποίησης"),
    "body_legal_name": lazy_gettext("Επωνυμία του φορέα"),
    "body_vat": lazy_gettext("ΑΦΜ του φορέα"),
    "contact_name": lazy_gettext("Ονοματεπώνυμο"),
    "contact_email": lazy_gettext("Διεύθυνση e-mail"),
    "contact_phone": lazy_gettext("Τηλέφωνο"),
    "has_social_service": lazy_gettext("Κοινωνική Υπηρεσία"),
}
BODY_TYPES = (
    (BodyType.MUNICIPALITY.value, lazy_gettext("Ο ίδιος ο Δήμος")),
    (BodyType.NPDD.value, lazy_gettext("Δημοτικό ΝΠΔΔ (Νομικό Πρόσωπο Δημοσίου Δικαίου)")),
    (BodyType.PUBLIC_BENEFIT_ENTERPRISE.value, lazy_gettext("Κοινωφελής δημοτική επιχείρηση")),
    (BodyType.OTHER_MUNICIPAL_BODY.value, lazy_gettext("Άλλος δημοτικός φορέας")),
)
YES_NO = (("true", lazy_gettext("Ναι")), ("false", lazy_gettext("Όχι")))
# Where the summary's links go: the field, or the first option of a group of radio buttons.
ANCHORS: dict[str, str] = {
    **{name: name for name in LABELS},
    "body_type": f"body_type-{BODY_TYPES[0][0]}",
    "has_social_service": f"has_social_service-{YES_NO[0][0]}",
}
TOO_MANY = lazy_gettext(
    "Από αυτή τη σύνδεση στάλθηκαν πολλές αιτήσεις σε λίγο χρόνο, οπότε η αίτηση δεν "
    "καταχωρίστηκε. Τα στοιχεία σας φαίνονται παρακάτω· δοκιμάστε ξανά σε λίγα λεπτά."
)
CONFLICT_NOTE = lazy_gettext(
    "Η αίτηση δεν καταχωρίστηκε. Αν πιστεύετε ότι πρόκειται για λάθος, επικοινωνήστε με το "
    "Υπουργείο ή τον διαχειριστή της πλατφόρμας."
)
STALE_FORM = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε η αίτηση δεν καταχωρίστηκε. "
    "Ελέγξτε τα στοιχεία και πατήστε ξανά «Υποβολή αίτησης»."
)


@dataclass(frozen=True)
class MunicipalityOption:
    code: str
    text: str


def municipality_groups() -> tuple[list[tuple[str, list[MunicipalityOption]]], str | None]:
    """Every municipality by region (both sorted by name, accents ignored), those without a
    centre of their own marked; and the threshold as written in the page's language (None
    without a policy)."""
    session = request_session()
    policy = access_policy_in_force(session, current_reader())
    threshold_text = format_number(own_centre_threshold(policy)) if policy is not None else None
    # Inside an f-string the call would escape the catalog's extraction.
    too_small = " — " + gettext("κάτω από %(threshold)s κατοίκους", threshold=threshold_text)

    def option(municipality_code: str, name: str, population: int) -> MunicipalityOption:
        text = f"{name} ({municipality_code})"
        if policy is not None and not staffing_requirement(policy, population).own_centre_allowed:
            text += too_small
        return MunicipalityOption(municipality_code, text)

    municipalities = sorted(
        search_municipalities(session, current_reader()),
        key=lambda m: (fold(m.regional_unit.region.name_el), fold(m.name_el), m.code),
    )
    groups = [
        (region, [option(m.code, m.name_el, m.population) for m in members])
        for region, members in groupby(municipalities, key=lambda m: m.regional_unit.region.name_el)
    ]
    return groups, threshold_text


def render_form(state: web_forms.FormState, status: int = 200) -> ResponseReturnValue:
    groups, threshold = municipality_groups()
    return web_forms.form_page(
        FORM_TEMPLATE,
        state,
        status,
        labels=LABELS,
        anchors=ANCHORS,
        groups=groups,
        threshold=threshold,
        body_types=BODY_TYPES,
        yes_no=YES_NO,
    )


@blueprint.get("/onboarding")
@public
def form_page() -> ResponseReturnValue:
    """The empty signup form."""
    return render_form(web_forms.FormState())


def _stale_submission() -> ResponseReturnValue:
    return web_forms.stale_form(web_forms.form_values(LABELS), render_form, STALE_FORM)


@blueprint.post("/onboarding")
@web_forms.on_stale_form(_stale_submission)
@public
def submit_page() -> ResponseReturnValue:
    """Validate and record the request, as the API does; or show the form again, explained."""
    values = web_forms.form_values(LABELS)
    try:
        loaded = OnboardingRequestCreateSchema().load(web_forms.filled(values))
    except ma.ValidationError as error:
        messages = web_forms.validation_messages(error)
        return render_form(web_forms.FormState(values, errors=messages), 422)
    wait = public_submission_wait(SUBMISSION_SCOPE)
    if wait is not None:
        response = make_response(
            render_form(web_forms.FormState(values, notice=str(TOO_MANY)), 429)
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        submit_request(request_session(), loaded)
    except DomainError as refusal:  # unknown or too small (422), on the platform or waiting (409)
        state, status = web_forms.refusal_state(values, refusal)
        if status == 409:
            state.notice = str(CONFLICT_NOTE)
        return render_form(state, status)
    return redirect(SENT_URL, 303)


@blueprint.get(SENT_URL)
@public
def sent_page() -> str:
    """The confirmation, and what happens next."""
    return render_template("onboarding/sent.html")


# --- the reviewers' pages ---------------------------------------------------------------------

REQUESTS_URL = "/onboarding/requests"
STATUS_TEXT = {
    RequestStatus.SUBMITTED: _l("Περιμένει απόφαση"),
    RequestStatus.APPROVED: _l("Εγκρίθηκε"),
    RequestStatus.REJECTED: _l("Απορρίφθηκε"),
}
BODY_TYPE_TEXT = dict(BODY_TYPES)
DECISION_LABELS = {"reason": _l("Αιτιολογία απόρριψης")}
DECISION_STALE = _l(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε δεν καταχωρίστηκε απόφαση. "
    "Δοκιμάστε ξανά."
)
UNKNOWN_DECISION = _l("Επιλέξτε έγκριση ή απόρριψη.")
IDENTITY_UNAVAILABLE = _l(
    "Ο πάροχος ταυτότητας δεν ολοκλήρωσε την πρόσκληση, οπότε η αίτηση παραμένει σε αναμονή. "
    "Δοκιμάστε ξανά την έγκριση: ό,τι έγινε ήδη δεν θα επαναληφθεί."
)


@blueprint.get(REQUESTS_URL)
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
def requests_page() -> str:
    """Every request: those waiting for a decision first, then the decided ones, newest first
    (the read is audited, by ids)."""
    page, paging_errors = page_or_first(
        partial(access_requests_page, request_session(), signed_in_principal(), waiting_first=True)
    )
    return render_template(
        "onboarding/requests.html",
        requests=page.items,
        page=page,
        paging_errors=paging_errors,
        status_text=STATUS_TEXT,
        body_type_text=BODY_TYPE_TEXT,
    )


def render_request(
    request_id: int, state: web_forms.FormState | None = None, status: int = 200
) -> ResponseReturnValue:
    found = access_request_by_id(request_session(), signed_in_principal(), request_id)
    if found is None:
        abort(404, "There is no onboarding request with this id.")
    return web_forms.form_page(
        "onboarding/request.html",
        state or web_forms.FormState(),
        status,
        item=found,
        labels=DECISION_LABELS,
        status_text=STATUS_TEXT,
        body_type_text=BODY_TYPE_TEXT,
    )


@blueprint.get(f"{REQUESTS_URL}/<int:request_id>")
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
def request_page(request_id: int) -> ResponseReturnValue:
    """One request with its contact (an audited read) and the two decision forms."""
    return render_request(request_id)


def _stale_decision(request_id: int) -> ResponseReturnValue:
    return web_forms.stale_form(
        web_forms.form_values(["reason"]), partial(render_request, request_id), DECISION_STALE
    )


@blueprint.post(f"{REQUESTS_URL}/<int:request_id>")
@web_forms.on_stale_form(_stale_decision)
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
def decide_page(request_id: int) -> ResponseReturnValue:
    """Approve or reject, with the API's operations; or show the request again, explained."""
    decision = request.form.get("decision", "")
    values = web_forms.form_values(["reason"]) if decision == "reject" else {}
    decided = _decide(request_id, decision, values)
    if not isinstance(decided, OnboardingRequest):  # refused: the page again, explained
        state, status = decided
        return render_request(request_id, state, status)
    message = (
        gettext("Η αίτηση εγκρίθηκε: ο Δήμος ενεργοποιήθηκε και ο διαχειριστής του προσκλήθηκε.")
        if decided.status == RequestStatus.APPROVED
        else gettext("Η αίτηση απορρίφθηκε.")
    )
    flash(message, "success")
    return redirect(f"{REQUESTS_URL}/{request_id}", 303)


Refused = tuple[web_forms.FormState, int]


def _decide(request_id: int, decision: str, values: dict[str, str]) -> OnboardingRequest | Refused:
    """Carry out the decision: the decided request, or the page's state and status."""
    session = request_session()
    try:
        if decision == "approve":
            kentra = current_app.extensions["kentra"]
            return approve_request(
                session,
                request_id,
                actor=current_actor(),
                engine=kentra.engine,
                identity=identity_admin(kentra.settings, kentra.engine),
            )
        if decision == "reject":
            try:
                loaded = OnboardingRejectionSchema().load(web_forms.filled(values))
            except ma.ValidationError as error:
                messages = web_forms.validation_messages(error)
                return web_forms.FormState(values, errors=messages), 422
            return reject_request(
                session, request_id, actor=current_actor(), reason=loaded["reason"]
            )
    except (KeycloakAdminError, ConnectionError) as error:
        # The request stays submitted; approving again completes the work (see operations).
        log.warning("onboarding approval failed at the identity provider: %s", type(error).__name__)
        return web_forms.FormState(values, notice=str(IDENTITY_UNAVAILABLE)), 502
    except DomainError as error:
        if error.status == 404:
            abort(404, error.detail)
        return web_forms.FormState(values, notice=error.detail), error.status
    return web_forms.FormState(values, notice=str(UNKNOWN_DECISION)), 422
