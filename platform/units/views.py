"""Web pages of the municipality's structure (server-rendered, Greek), over the API's schemas,
loaders and operations.

- ``GET /municipalities/<code>/units``: the centre, its annexes and mobile units, closed ones
  included (``tenant:units:read``).
- ``GET|POST …/units/new-centre``: register the centre (``tenant:units:write``); a municipality
  too small for a centre of its own is told why before the form, which is not shown.
- ``GET …/units/<unit_id>``: a unit; for those who may write, its edit form (carrying the
  version it is made on) and the closing form. ``POST`` saves the edit form.
- ``GET|POST …/units/<unit_id>/annexes/new`` and ``…/mobile-units/new``: add a unit to the
  centre ``unit_id``.
- ``POST …/units/<unit_id>/close``: close the unit on a date.

Refusals re-render the form with an error summary and each field's message, every typed value
kept: 422 for bad input, 409 for a state conflict or a stale form (with a notice), 400 for a
missing or stale CSRF token, 502 when the identity provider fails (nothing saved). Success
redirects (303) to the unit's page, which says what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from itertools import groupby
from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.identity import IdentityAdmin
from kentra.auth.permissions import Permission
from kentra.platform.api.etags import stale_form_version
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.reference.api import access_municipality_by_code
from kentra.platform.units.access import (
    access_municipality_names,
    access_open_centre,
    access_servable_municipalities,
    access_unit_by_id,
    access_units,
    unit_path,
)
from kentra.platform.units.models import (
    PREMISES_ITEMS,
    AnnexReason,
    FocusGroup,
    Unit,
    UnitKind,
)
from kentra.platform.units.operations import (
    REQUIRED_BODY,
    add_to_centre,
    body_defaults,
    close_unit,
    own_centre_refusal,
    register_centre,
    update_unit,
)
from kentra.platform.units.schemas import (
    AnnexCreateSchema,
    CentreCreateSchema,
    MobileUnitCreateSchema,
    UnitCloseSchema,
)
from kentra.platform.web import forms as web_forms
from kentra.tenants.codes import InvalidMunicipalityCode, MunicipalityCode, parse_municipality_code

blueprint = Blueprint("unit_pages", __name__, template_folder="templates")

NOT_FOUND = "There is no such unit in this municipality."
KIND_NAMES: dict[UnitKind, Any] = {
    UnitKind.CENTRE: lazy_gettext("Κέντρο Κοινότητας"),
    UnitKind.ANNEX: lazy_gettext("Παράρτημα"),
    UnitKind.MOBILE_UNIT: lazy_gettext("Κινητή Μονάδα"),
}
FOCUS_GROUP_NAMES: dict[str, Any] = {
    FocusGroup.POVERTY: lazy_gettext("Άτομα σε φτώχεια ή κοινωνικό αποκλεισμό"),
    FocusGroup.MIGRANTS: lazy_gettext("Μετανάστες"),
    FocusGroup.DISABILITY: lazy_gettext("Άτομα με αναπηρία (ΑμεΑ)"),
    FocusGroup.ROMA: lazy_gettext("Ρομά"),
    FocusGroup.ELDERLY: lazy_gettext("Ηλικιωμένοι"),
    FocusGroup.CHILDREN_FAMILIES: lazy_gettext("Παιδιά και οικογένειες"),
    FocusGroup.UNEMPLOYED: lazy_gettext("Άνεργοι"),
}
ANNEX_REASON_NAMES: dict[str, Any] = {
    AnnexReason.POVERTY_POCKET: lazy_gettext("Θύλακας φτώχειας"),
    AnnexReason.ROMA: lazy_gettext("Ρομά"),
    AnnexReason.MIGRANTS: lazy_gettext("Μετανάστες"),
    AnnexReason.FORMER_ROMA_CENTRE: lazy_gettext("Πρώην Κέντρο Στήριξης Ρομά και Ευπαθών Ομάδων"),
}
BODY_TYPE_NAMES: dict[str, Any] = {
    "municipality": lazy_gettext("Ο ίδιος ο Δήμος"),
    "npdd": lazy_gettext("Δημοτικό ΝΠΔΔ (Νομικό Πρόσωπο Δημοσίου Δικαίου)"),
    "public_benefit_enterprise": lazy_gettext("Κοινωφελής δημοτική επιχείρηση"),
    "other_municipal_body": lazy_gettext("Άλλος δημοτικός φορέας"),
}
PREMISES_NAMES: dict[str, Any] = {
    "premises_distinct_space": lazy_gettext("Σε αυτοτελή χώρο"),
    "premises_near_social_services": lazy_gettext("Μέσα ή κοντά στις κοινωνικές υπηρεσίες"),
    "premises_near_social_structures": lazy_gettext("Κοντά σε άλλες κοινωνικές δομές"),
    "premises_municipality_owned": lazy_gettext("Σε δημοτικό ακίνητο"),
    "premises_reception_waiting_processing": lazy_gettext(
        "Χώροι υποδοχής, αναμονής και διεκπεραίωσης"
    ),
    "premises_toilets_public_and_staff": lazy_gettext("Τουαλέτες για το κοινό και το προσωπικό"),
    "premises_accessible": lazy_gettext(
        "Όλοι οι χώροι είναι προσβάσιμοι σε άτομα με αναπηρία (υποχρεωτικό για τη συμμόρφωση)"
    ),
}
LABELS: dict[str, Any] = {
    "name": lazy_gettext("Ονομασία"),
    "annex_reason": lazy_gettext("Λόγος ίδρυσης του Παραρτήματος"),
    "street_address": lazy_gettext("Διεύθυνση (οδός και αριθμός)"),
    "postal_code": lazy_gettext("Ταχυδρομικός κώδικας"),
    "opening_date": lazy_gettext("Ημερομηνία έναρξης λειτουργίας"),
    "focus_groups": lazy_gettext("Ομάδες στις οποίες εστιάζει το Κέντρο"),
    "body_type": lazy_gettext("Φορέας υλοποίησης"),
    "body_legal_name": lazy_gettext("Επωνυμία του φορέα"),
    "body_vat": lazy_gettext("ΑΦΜ του φορέα"),
    **PREMISES_NAMES,
    "served_municipalities": lazy_gettext("Δήμοι που εξυπηρετεί"),
    "closed_on": lazy_gettext("Ημερομηνία κλεισίματος"),
}
# Where the error summary's links go for groups: their first option.
ANCHORS: dict[str, str] = {
    "annex_reason": f"annex_reason-{next(iter(AnnexReason)).value}",
    "body_type": "body_type-municipality",
    "focus_groups": f"focus_groups-{next(iter(FocusGroup)).value}",
}
TEXT_FIELDS: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.CENTRE: (
        "name",
        "street_address",
        "postal_code",
        "opening_date",
        "body_type",
        "body_legal_name",
        "body_vat",
        *PREMISES_ITEMS,
    ),
    UnitKind.ANNEX: ("name", "annex_reason", "street_address", "postal_code", "opening_date"),
    UnitKind.MOBILE_UNIT: ("name", "opening_date"),
}
LIST_FIELDS: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.CENTRE: ("focus_groups",),
    UnitKind.ANNEX: (),
    UnitKind.MOBILE_UNIT: ("served_municipalities",),
}
SCHEMAS: dict[UnitKind, type[ma.Schema]] = {
    UnitKind.CENTRE: CentreCreateSchema,
    UnitKind.ANNEX: AnnexCreateSchema,
    UnitKind.MOBILE_UNIT: MobileUnitCreateSchema,
}


class Typed:
    """What a form sent: strings by field, and the lists of multiple choices."""

    def __init__(self, values: dict[str, str], lists: dict[str, list[str]]) -> None:
        self.values = values
        self.lists = lists


def _identity() -> IdentityAdmin:
    kentra = current_app.extensions["kentra"]
    return identity_admin(kentra.settings, kentra.engine)


def _units_url(code: MunicipalityCode) -> str:
    return f"/municipalities/{code.value}/units"


def _unit_url(code: MunicipalityCode, unit_id: int) -> str:
    return f"{_units_url(code)}/{unit_id}"


def _typed(kind: UnitKind) -> Typed:
    return Typed(
        {name: request.form.get(name, "") for name in TEXT_FIELDS[kind]},
        {name: request.form.getlist(name) for name in LIST_FIELDS[kind]},
    )


def _data_of(kind: UnitKind, typed: Typed) -> dict[str, Any]:
    """The form as the API's schema reads it: an unchecked box is false, lists are lists."""
    data: dict[str, Any] = web_forms.filled(typed.values)
    for item in PREMISES_ITEMS:
        if item in typed.values:
            data[item] = typed.values[item] in ("true", "on")
    for name in LIST_FIELDS[kind]:
        data[name] = [v.strip() for v in typed.lists[name] if v.strip()]
    return data


def _typed_of(unit: Unit) -> Typed:
    """A unit's current values, as its edit form shows them."""
    values: dict[str, str] = {}
    for name in TEXT_FIELDS[unit.kind]:
        value = getattr(unit, name)
        if name in PREMISES_ITEMS:
            values[name] = "true" if value else ""
        elif value is None:
            values[name] = ""
        elif hasattr(value, "isoformat"):
            values[name] = value.isoformat()
        else:
            values[name] = str(getattr(value, "value", value))
    lists = {
        "focus_groups": list(unit.focus_groups or []),
        "served_municipalities": [s.municipality_code for s in unit.served_municipalities],
    }
    return Typed(values, {name: lists[name] for name in LIST_FIELDS[unit.kind]})


def _is_municipality_code(text: str) -> bool:
    try:
        parse_municipality_code(text)
    except InvalidMunicipalityCode:
        return False
    return True


def _served_groups(
    code: MunicipalityCode, also: list[str]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Municipalities a mobile unit may serve: those of the municipality's own regional unit
    first (the nearest), then the rest by region; those already chosen that are no longer
    servable on top, so that nothing typed is lost."""
    session = request_session()
    reader = signed_in_principal()
    servable = access_servable_municipalities(session, reader, code.value)
    own = access_municipality_by_code(session, reader, code.value)
    nearby = [
        m for m in servable if own is not None and m.regional_unit_code == own.regional_unit_code
    ]
    groups = [
        (region, [(m.code, m.name_el) for m in members])
        for region, members in groupby(
            (m for m in servable if m not in nearby), key=lambda m: m.regional_unit.region.name_el
        )
    ]
    if nearby and own is not None:
        label = _("%(unit)s (του Δήμου σας)", unit=own.regional_unit.name_el)
        groups.insert(0, (str(label), [(m.code, m.name_el) for m in nearby]))
    listed = {m.code for m in servable}
    extra = [c for c in also if c not in listed]
    if extra:
        # What was typed, shown again: only well-formed codes are looked up.
        names = access_municipality_names(
            session, reader, [c for c in extra if _is_municipality_code(c)]
        )
        groups.insert(0, (str(_("Ήδη επιλεγμένοι")), [(c, names.get(c, c)) for c in extra]))
    return groups


def _choices() -> dict[str, Any]:
    return {
        "focus_group_options": list(FOCUS_GROUP_NAMES.items()),
        "annex_reason_options": list(ANNEX_REASON_NAMES.items()),
        "body_type_options": list(BODY_TYPE_NAMES.items()),
        "premises_items": PREMISES_ITEMS,
    }


def _render(
    template: str,
    code: MunicipalityCode,
    state: web_forms.FormState,
    status: int = 200,
    *,
    lists: Mapping[str, list[str]] | None = None,
    **context: Any,
) -> ResponseReturnValue:
    return (
        render_template(
            template,
            code=code.value,
            state=state,
            lists=lists or {},
            labels=LABELS,
            anchors=ANCHORS,
            kind_names=KIND_NAMES,
            has_errors=status >= 400,
            **_choices(),
            **context,
        ),
        status,
    )


def _unit_or_404(unit_id: int) -> Unit:
    unit = access_unit_by_id(request_session(), signed_in_principal(), unit_id)
    if unit is None:
        abort(404, NOT_FOUND)
    return unit


# --- the list ---------------------------------------------------------------------------------


@blueprint.get("/municipalities/<municipality_code>/units")
@requires(Permission.TENANT_UNITS_READ)
def units_page(municipality_code: MunicipalityCode) -> str:
    """The centres with their annexes and mobile units, open first; closed ones marked."""
    session = request_session()
    units = access_units(session, signed_in_principal())
    centres = [u for u in units if u.kind == UnitKind.CENTRE]
    centres.sort(key=lambda c: (not c.is_open, c.id))
    children = {c.centre: [u for u in units if u.centre == c.centre and u.unit] for c in centres}
    served = sorted({s.municipality_code for u in units for s in u.served_municipalities})
    open_centre = access_open_centre(session, signed_in_principal())
    return render_template(
        "units/list.html",
        code=municipality_code.value,
        centres=centres,
        children=children,
        names=access_municipality_names(session, signed_in_principal(), served),
        open_centre=open_centre,
        refusal=None
        if open_centre is not None
        else own_centre_refusal(session, municipality_code.value),
        kind_names=KIND_NAMES,
        annex_reason_names=ANNEX_REASON_NAMES,
        paths={u.id: str(unit_path(municipality_code.value, u)) for u in units},
    )


# --- the centre --------------------------------------------------------------------------------


def _render_new_centre(
    code: MunicipalityCode, state: web_forms.FormState, status: int = 200, lists: Any = None
) -> ResponseReturnValue:
    session = request_session()
    return _render(
        "units/centre_form.html",
        code,
        state,
        status,
        lists=lists or {"focus_groups": []},
        refusal=own_centre_refusal(session, code.value),
        open_centre=access_open_centre(session, signed_in_principal()),
    )


@blueprint.get("/municipalities/<municipality_code>/units/new-centre")
@requires(Permission.TENANT_UNITS_WRITE)
def new_centre_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """The centre's form, its body filled in from the approved onboarding request."""
    values = body_defaults(request_session(), municipality_code.value)
    return _render_new_centre(municipality_code, web_forms.FormState(values))


def _stale_new_centre(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    typed = _typed(UnitKind.CENTRE)
    return web_forms.stale_form(
        typed.values,
        lambda state, status: _render_new_centre(municipality_code, state, status, typed.lists),
    )


def _saved(code: MunicipalityCode, operation: Callable[..., Unit], *args: Any) -> str:
    """Run a write that keeps the identity provider's unit groups in step (registering the
    centre, adding an annex or a mobile unit, an edit) as the API does: in the request's
    session, by the signed-in user, with the identity provider; where the unit's page is."""
    unit = operation(
        request_session(), code.value, *args, actor=current_actor(), identity=_identity()
    )
    return _unit_url(code, unit.id)


@blueprint.post("/municipalities/<municipality_code>/units/new-centre")
@web_forms.on_stale_form(_stale_new_centre)
@requires(Permission.TENANT_UNITS_WRITE)
def create_centre_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """Validate and register the centre, as the API does; or show the form again, explained."""
    typed = _typed(UnitKind.CENTRE)
    return web_forms.submit_form(
        typed.values,
        lambda state, status: _render_new_centre(municipality_code, state, status, typed.lists),
        load=lambda: CentreCreateSchema().load(_data_of(UnitKind.CENTRE, typed)),
        run=lambda data: _saved(municipality_code, register_centre, data),
        saved=_("Το Κέντρο Κοινότητας καταχωρίστηκε."),
    )


# --- annexes and mobile units -----------------------------------------------------------------


# Where a centre's new annex and new mobile unit are added (below the centre's page).
NEW_UNIT_SEGMENTS = {UnitKind.ANNEX: "annexes/new", UnitKind.MOBILE_UNIT: "mobile-units/new"}


def _render_new_unit(
    code: MunicipalityCode,
    centre: Unit,
    kind: UnitKind,
    state: web_forms.FormState,
    *,
    status: int = 200,
    lists: Any = None,
) -> ResponseReturnValue:
    chosen = (lists or {}).get("served_municipalities", [])
    return _render(
        "units/unit_form.html",
        code,
        state,
        status,
        lists=lists or {"served_municipalities": []},
        kind=kind,
        centre=centre,
        unit=None,
        is_reference=centre.kind == UnitKind.CENTRE and centre.is_open,
        served_groups=_served_groups(code, chosen) if kind == UnitKind.MOBILE_UNIT else [],
        action=f"{_unit_url(code, centre.id)}/{NEW_UNIT_SEGMENTS[kind]}",
    )


def _stale_new_unit(
    municipality_code: MunicipalityCode, unit_id: int, kind: UnitKind
) -> ResponseReturnValue:
    typed = _typed(kind)
    return web_forms.stale_form(
        typed.values, _new_unit_form(municipality_code, _unit_or_404(unit_id), kind, typed)
    )


def _new_unit_form(
    code: MunicipalityCode, centre: Unit, kind: UnitKind, typed: Typed
) -> Callable[[web_forms.FormState, int], ResponseReturnValue]:
    """How the new unit's form is shown again, with what was typed (its lists too)."""
    return lambda state, status: _render_new_unit(
        code, centre, kind, state, status=status, lists=typed.lists
    )


def _create_unit_page(
    municipality_code: MunicipalityCode, unit_id: int, kind: UnitKind
) -> ResponseReturnValue:
    """Add the annex or mobile unit, as the API does; or show the form again, explained."""
    centre = _unit_or_404(unit_id)
    typed = _typed(kind)
    return web_forms.submit_form(
        typed.values,
        _new_unit_form(municipality_code, centre, kind, typed),
        load=lambda: SCHEMAS[kind]().load(_data_of(kind, typed)),
        run=lambda data: _saved(municipality_code, add_to_centre, centre.id, kind, data),
        saved=_("Το Παράρτημα προστέθηκε.")
        if kind == UnitKind.ANNEX
        else _("Η Κινητή Μονάδα προστέθηκε."),
    )


def _add_new_unit_pages(kind: UnitKind) -> None:
    """An annex's pages and a mobile unit's are the same pages for another kind: the form of a
    new one of the centre ``unit_id`` (GET) and its POST, at the centre's ``…/annexes/new`` or
    ``…/mobile-units/new`` (endpoints ``new_annex_page``, ``create_annex_page``, …)."""

    @requires(Permission.TENANT_UNITS_WRITE)
    def new_page(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
        centre = _unit_or_404(unit_id)
        return _render_new_unit(municipality_code, centre, kind, web_forms.FormState())

    @web_forms.on_stale_form(partial(_stale_new_unit, kind=kind))
    @requires(Permission.TENANT_UNITS_WRITE)
    def create_page(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
        return _create_unit_page(municipality_code, unit_id, kind)

    rule = f"/municipalities/<municipality_code>/units/<int:unit_id>/{NEW_UNIT_SEGMENTS[kind]}"
    blueprint.add_url_rule(rule, f"new_{kind.value}_page", new_page, methods=["GET"])
    blueprint.add_url_rule(rule, f"create_{kind.value}_page", create_page, methods=["POST"])


for _kind in NEW_UNIT_SEGMENTS:
    _add_new_unit_pages(_kind)


# --- one unit: details, edit, close ------------------------------------------------------------


def _render_unit(
    code: MunicipalityCode,
    unit: Unit,
    state: web_forms.FormState | None = None,
    *,
    status: int = 200,
    lists: Any = None,
    close_state: web_forms.FormState | None = None,
) -> ResponseReturnValue:
    session = request_session()
    current = _typed_of(unit)
    lists = lists if lists is not None else current.lists
    centre = None
    children: list[Unit] = []
    if unit.kind == UnitKind.CENTRE:
        children = [
            u
            for u in access_units(session, signed_in_principal())
            if u.centre == unit.centre and u.unit
        ]
    else:
        centre = next(
            (
                u
                for u in access_units(session, signed_in_principal())
                if u.centre == unit.centre and u.unit is None
            ),
            None,
        )
    served_codes = [s.municipality_code for s in unit.served_municipalities]
    return _render(
        "units/unit.html",
        code,
        state or web_forms.FormState(current.values),
        status,
        lists=lists,
        unit=unit,
        kind=unit.kind,
        path=str(unit_path(code.value, unit)),
        centre=centre,
        children=children,
        served_names=access_municipality_names(session, signed_in_principal(), served_codes),
        served_groups=_served_groups(code, list(lists.get("served_municipalities", [])))
        if unit.kind == UnitKind.MOBILE_UNIT and unit.is_open
        else [],
        close_state=close_state or web_forms.FormState(),
        focus_group_names=FOCUS_GROUP_NAMES,
        annex_reason_names=ANNEX_REASON_NAMES,
        body_type_names=BODY_TYPE_NAMES,
    )


@blueprint.get("/municipalities/<municipality_code>/units/<int:unit_id>")
@requires(Permission.TENANT_UNITS_READ)
def unit_page(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
    """A unit: its details; the edit and closing forms for those who may write."""
    return _render_unit(municipality_code, _unit_or_404(unit_id))


CHANGED_BEFORE_SAVE = lazy_gettext(
    "Κάποιος άλλος άλλαξε τα στοιχεία της μονάδας στο μεταξύ, οπότε οι αλλαγές σας δεν "
    "αποθηκεύτηκαν. Οι τιμές που πληκτρολογήσατε φαίνονται παρακάτω· ελέγξτε τις και "
    "πατήστε ξανά «Αποθήκευση»."
)
CHANGED_BEFORE_CLOSING = lazy_gettext(
    "Κάποιος άλλος άλλαξε τα στοιχεία της μονάδας στο μεταξύ, οπότε η μονάδα δεν "
    "έκλεισε. Ελέγξτε τα στοιχεία της και πατήστε ξανά «Κλείσιμο της μονάδας»."
)


def _changes_of(unit: Unit, typed: Typed) -> dict[str, Any]:
    """The edit form's values as the operation takes them (a ``ValidationError`` otherwise)."""
    changes: dict[str, Any] = SCHEMAS[unit.kind]().load(_data_of(unit.kind, typed))
    if unit.kind != UnitKind.CENTRE:
        changes.setdefault("opening_date", None)  # cleared in the form
        return changes
    missing = [n for n in ("body_type", "body_legal_name", "body_vat") if n not in changes]
    if missing:
        raise ma.ValidationError({n: [str(REQUIRED_BODY)] for n in missing})
    return changes


def _edit_form(
    code: MunicipalityCode, unit_id: int, typed: Typed
) -> Callable[[web_forms.FormState, int], ResponseReturnValue]:
    # Shown again from the unit as it is now (after a concurrent change, its new version).
    return lambda state, status: _render_unit(
        code, _unit_or_404(unit_id), state, status=status, lists=typed.lists
    )


def _stale_edit(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
    typed = _typed(_unit_or_404(unit_id).kind)
    return web_forms.stale_form(typed.values, _edit_form(municipality_code, unit_id, typed))


@blueprint.post("/municipalities/<municipality_code>/units/<int:unit_id>")
@web_forms.on_stale_form(_stale_edit)
@requires(Permission.TENANT_UNITS_WRITE)
def update_unit_page(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
    """Save the edit form, made on the version it carries."""
    unit = _unit_or_404(unit_id)
    typed = _typed(unit.kind)
    return web_forms.submit_form(
        typed.values,
        _edit_form(municipality_code, unit_id, typed),
        changed_since=stale_form_version(request.form.get("version"), unit.version),
        changed_notice=CHANGED_BEFORE_SAVE,
        load=lambda: _changes_of(unit, typed),
        run=lambda changes: _saved(municipality_code, update_unit, unit, changes),
        saved=_("Οι αλλαγές αποθηκεύτηκαν."),
    )


def _close_form(
    code: MunicipalityCode, unit_id: int
) -> Callable[[web_forms.FormState, int], ResponseReturnValue]:
    return lambda state, status: _render_unit(
        code, _unit_or_404(unit_id), close_state=state, status=status
    )


def _stale_close(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
    return web_forms.stale_form(
        web_forms.form_values(["closed_on"]), _close_form(municipality_code, unit_id)
    )


@blueprint.post("/municipalities/<municipality_code>/units/<int:unit_id>/close")
@web_forms.on_stale_form(_stale_close)
@requires(Permission.TENANT_UNITS_WRITE)
def close_unit_page(municipality_code: MunicipalityCode, unit_id: int) -> ResponseReturnValue:
    """Close the unit on the given date; it stays listed, as closed."""
    unit = _unit_or_404(unit_id)
    values = web_forms.form_values(["closed_on"])

    def close(data: dict[str, Any]) -> str:
        close_unit(request_session(), unit, data["closed_on"], actor=current_actor())
        return _unit_url(municipality_code, unit.id)

    return web_forms.submit_form(
        values,
        _close_form(municipality_code, unit_id),
        changed_since=stale_form_version(request.form.get("version"), unit.version),
        changed_notice=CHANGED_BEFORE_CLOSING,
        load=lambda: UnitCloseSchema().load(web_forms.filled(values)),
        run=close,
        saved=_("Η μονάδα έκλεισε· παραμένει στο ιστορικό."),
    )
