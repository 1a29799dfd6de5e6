"""The ministry's page on regional-unit seats (server-rendered, Greek).

- ``GET /ministry/supervision``: the regional units whose seat the reference data leaves
  unknown; each shows the ministry's decision ("Δεν έχει οριστεί" until there is one) and a
  form to set it: one of the unit's municipalities and a note.
- ``POST /ministry/supervision`` (CSRF-protected; the form names its unit): recorded by the
  API's operation. Success redirects (303) back with a message; a refusal re-renders the page
  with that unit's typed values and messages: 422 bad input, 409 a unit whose seat is known,
  400 a missing or stale CSRF token.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from kentra.auth.flask import current_principal, requires
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.supervision.access import access_unknown_seats
from kentra.platform.supervision.operations import (
    set_regional_unit_seat,
)
from kentra.platform.supervision.schemas import SeatDecisionInputSchema
from kentra.platform.web.forms import (
    FormState,
    filled,
    on_stale_form,
    refusal_state,
    validation_messages,
)

blueprint = Blueprint("supervision_pages", __name__, template_folder="templates")

PAGE_URL = "/ministry/supervision"
FIELDS = ("seat_municipality_code", "note")
LABELS = {
    "seat_municipality_code": lazy_gettext("Δήμος έδρας"),
    "note": lazy_gettext("Αιτιολόγηση"),
}
STALE_FORM = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε η απόφαση δεν καταχωρίστηκε. "
    "Ελέγξτε τα στοιχεία και πατήστε ξανά «Ορισμός έδρας»."
)
UNKNOWN_UNIT = lazy_gettext("Η Περιφερειακή Ενότητα δεν είναι μία από αυτές με άγνωστη έδρα.")


def render_page(
    states: dict[str, FormState] | None = None, status: int = 200
) -> ResponseReturnValue:
    states = states or {}
    units = access_unknown_seats(request_session())
    return (
        render_template(
            "supervision/seats.html",
            units=units,
            states=states,
            labels=LABELS,
            has_errors=any(s.errors or s.notice for s in states.values()),
        ),
        status,
    )


@blueprint.get(PAGE_URL)
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
def seats_page() -> ResponseReturnValue:
    """The units with an unknown seat and a form for each."""
    return render_page()


def _stale_seat() -> ResponseReturnValue:
    unit_code = request.form.get("regional_unit_code", "")
    values = {name: request.form.get(name, "") for name in FIELDS}
    return render_page({unit_code: FormState(values, notice=str(STALE_FORM))}, 400)


@blueprint.post(PAGE_URL)
@on_stale_form(_stale_seat)
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
def set_seat_page() -> ResponseReturnValue:
    """Record the decision as the API does; or show the page again, explained."""
    unit_code = request.form.get("regional_unit_code", "")
    values = {name: request.form.get(name, "") for name in FIELDS}
    units = {unit.code: unit for unit in access_unknown_seats(request_session())}
    if unit_code not in units:
        return render_page({unit_code: FormState(values, notice=str(UNKNOWN_UNIT))}, 409)
    try:
        loaded = SeatDecisionInputSchema().load(filled(values))
    except ma.ValidationError as error:
        return render_page({unit_code: FormState(values, errors=validation_messages(error))}, 422)
    principal = current_principal()
    assert principal is not None  # @requires ran
    try:
        set_regional_unit_seat(
            request_session(),
            unit_code,
            loaded["seat_municipality_code"],
            note=loaded["note"],
            actor=principal.subject,
        )
    except DomainError as refusal:
        state, status = refusal_state(values, refusal)
        return render_page({unit_code: state}, status)
    unit = units[unit_code]
    seat = dict(unit.municipalities).get(loaded["seat_municipality_code"], "")
    flash(_("Η έδρα ορίστηκε: %(unit)s — %(seat)s.", unit=unit.name_el, seat=seat), "success")
    return redirect(f"{PAGE_URL}#unit-{unit_code}", 303)
