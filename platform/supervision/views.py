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

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.supervision.access import access_unknown_seats
from kentra.platform.supervision.operations import (
    set_regional_unit_seat,
)
from kentra.platform.supervision.schemas import SeatDecisionInputSchema
from kentra.platform.web import forms as web_forms

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
    states: dict[str, web_forms.FormState] | None = None, status: int = 200
) -> ResponseReturnValue:
    states = states or {}
    units = access_unknown_seats(request_session(), signed_in_principal())
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


def _seat_form(unit_code: str) -> web_forms.Render:
    return lambda state, status: render_page({unit_code: state}, status)


def _stale_seat() -> ResponseReturnValue:
    unit_code = request.form.get("regional_unit_code", "")
    return web_forms.stale_form(web_forms.form_values(FIELDS), _seat_form(unit_code), STALE_FORM)


@blueprint.post(PAGE_URL)
@web_forms.on_stale_form(_stale_seat)
@requires(Permission.NATIONAL_SUPERVISION_MANAGE)
def set_seat_page() -> ResponseReturnValue:
    """Record the decision as the API does; or show the page again, explained."""
    unit_code = request.form.get("regional_unit_code", "")
    values = web_forms.form_values(FIELDS)
    units = {
        unit.code: unit for unit in access_unknown_seats(request_session(), signed_in_principal())
    }
    chosen: list[str] = []

    def decide(loaded: dict[str, Any]) -> str:
        set_regional_unit_seat(
            request_session(),
            unit_code,
            loaded["seat_municipality_code"],
            note=loaded["note"],
            actor=current_actor(),
        )
        chosen.append(loaded["seat_municipality_code"])
        return f"{PAGE_URL}#unit-{unit_code}"

    def saved() -> str:
        unit = units[unit_code]
        seat = dict(unit.municipalities).get(chosen[0], "")
        return str(_("Η έδρα ορίστηκε: %(unit)s — %(seat)s.", unit=unit.name_el, seat=seat))

    return web_forms.submit_form(
        values,
        _seat_form(unit_code),
        # Another reader set its seat meanwhile (or the form was edited): nothing to decide.
        changed_since=unit_code not in units,
        changed_notice=UNKNOWN_UNIT,
        load=lambda: SeatDecisionInputSchema().load(web_forms.filled(values)),
        run=decide,
        saved=saved,
    )
