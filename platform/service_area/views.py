"""The ministry's page on the mobile units' service area (server-rendered, Greek).

- ``GET /ministry/service-area``: the area of the policy in force, the exceptions (each with a
  button to withdraw it) and a form for a new one: the municipality whose mobile units, the
  municipality they may serve, and a reason.
- ``POST /ministry/service-area`` (CSRF-protected): recorded by the API's operation. Success
  redirects (303) back with a message; a refusal re-renders the page with the typed values
  and messages: 422 bad input, 400 a missing or stale CSRF token.
- ``POST /ministry/service-area/<exception_id>/withdraw`` (CSRF-protected): withdraws it and
  redirects back (303); an exception withdrawn meanwhile is a 404.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from flask import Blueprint, abort, flash, redirect
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.policy.api import ServiceArea
from kentra.platform.service_area.access import (
    access_exception,
    access_exceptions_page,
    access_municipality_options,
)
from kentra.platform.service_area.operations import (
    area_in_force,
    record_exception,
    withdraw_exception,
)
from kentra.platform.service_area.schemas import ExceptionInputSchema
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first

blueprint = Blueprint("service_area_pages", __name__, template_folder="templates")

PAGE_URL = "/ministry/service-area"
FIELDS = ("municipality_code", "served_municipality_code", "reason")
LABELS = {
    "municipality_code": lazy_gettext("Δήμος του Κέντρου"),
    "served_municipality_code": lazy_gettext("Δήμος που θα εξυπηρετείται"),
    "reason": lazy_gettext("Αιτιολόγηση"),
}
AREA_NAMES = {
    ServiceArea.REGIONAL_UNIT: lazy_gettext("στην Περιφερειακή Ενότητα του Κέντρου τους"),
    ServiceArea.REGION: lazy_gettext("στην Περιφέρεια του Κέντρου τους"),
    ServiceArea.COUNTRY: lazy_gettext("σε όλη τη χώρα"),
}
STALE_FORM = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε η εξαίρεση δεν καταχωρίστηκε. "
    "Ελέγξτε τα στοιχεία και πατήστε ξανά «Καταχώριση εξαίρεσης»."
)

STALE_WITHDRAWAL = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε η εξαίρεση δεν ανακλήθηκε. "
    "Πατήστε ξανά «Ανάκληση»."
)


def render_page(state: web_forms.FormState | None = None, status: int = 200) -> ResponseReturnValue:
    session = request_session()
    state = state or web_forms.FormState()
    exceptions, paging_errors = page_or_first(
        partial(access_exceptions_page, session, signed_in_principal())
    )
    return web_forms.form_page(
        "service_area/exceptions.html",
        state,
        status,
        labels={name: str(label) for name, label in LABELS.items()},
        area=AREA_NAMES[area_in_force(session)],
        exceptions=exceptions.items,
        page=exceptions,
        paging_errors=paging_errors,
        municipalities=access_municipality_options(session, signed_in_principal()),
    )


@blueprint.get(PAGE_URL)
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
def exceptions_page() -> ResponseReturnValue:
    """The area in force, the exceptions and the form for a new one."""
    return render_page()


def _stale_exception() -> ResponseReturnValue:
    return web_forms.stale_form(web_forms.form_values(FIELDS), render_page, STALE_FORM)


@blueprint.post(PAGE_URL)
@web_forms.on_stale_form(_stale_exception)
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
def record_exception_page() -> ResponseReturnValue:
    """Record the exception as the API does; or show the page again, explained."""
    values = web_forms.form_values(FIELDS)
    session = request_session()
    recorded: list[int] = []

    def record(loaded: dict[str, Any]) -> str:
        exception, _created = record_exception(session, loaded, actor=current_actor())
        recorded.append(exception.id)
        return f"{PAGE_URL}#exception-{exception.id}"

    def saved() -> str:
        found = access_exception(session, signed_in_principal(), recorded[0])
        assert found is not None  # just recorded
        return str(
            _(
                "Η εξαίρεση καταχωρίστηκε: οι Κινητές Μονάδες του %(home)s μπορούν να εξυπηρετούν "
                "τον %(served)s.",
                home=found.municipality_name_el,
                served=found.served_municipality_name_el,
            )
        )

    return web_forms.submit_form(
        values,
        render_page,
        load=lambda: ExceptionInputSchema().load(web_forms.filled(values)),
        run=record,
        saved=saved,
    )


def _stale_withdrawal(exception_id: int) -> ResponseReturnValue:
    return render_page(web_forms.FormState(notice=str(STALE_WITHDRAWAL)), 400)


@blueprint.post(f"{PAGE_URL}/<int:exception_id>/withdraw")
@web_forms.on_stale_form(_stale_withdrawal)
@requires(Permission.NATIONAL_SERVICE_AREA_MANAGE)
def withdraw_exception_page(exception_id: int) -> ResponseReturnValue:
    """Withdraw an exception, then back to the page."""
    try:
        withdraw_exception(request_session(), exception_id, actor=current_actor())
    except DomainError as refusal:  # no such exception (any more)
        abort(refusal.status)
    flash(_("Η εξαίρεση ανακλήθηκε."), "success")
    return redirect(PAGE_URL, 303)
