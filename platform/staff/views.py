"""Web pages of the staff roster (server-rendered, Greek), over the API's schemas, loaders and
operations.

- ``GET /municipalities/<code>/staff``: the roster (``tenant:staff:read``).
- ``GET|POST /municipalities/<code>/staff/new``: add a member (``tenant:staff:write``).
- ``GET /municipalities/<code>/staff/<staff_id>``: a member; the edit form for those who may
  write, the details otherwise. ``POST`` saves the form, which carries the version it was
  made on (a stale one is a 409 with every typed value kept).
- ``POST /municipalities/<code>/staff/<staff_id>/invite``: invite the member as a user.

Refusals re-render the form with an error summary and each field's message: 422 for bad
input, 409 for a second head or a stale form, 400 for a missing or stale CSRF token, 502 when
the identity provider fails. Success redirects (303) to a page that says what happened.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.identity import IdentityAdmin
from kentra.auth.permissions import Permission
from kentra.platform.api.etags import stale_form_version
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.core.models import local_today
from kentra.platform.staff.access import (
    access_roster_units,
    access_staff_member_by_id,
    access_staff_member_for_change,
    access_staff_page,
)
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import (
    create_staff_member,
    has_ended,
    head_profile_name,
    invite_staff_member,
    profile_names,
    update_staff_member,
)
from kentra.platform.staff.schemas import FIELDS, StaffMemberCreateSchema
from kentra.platform.units.api import Unit, UnitKind
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint("staff_pages", __name__, template_folder="templates")

FORM_TEMPLATE = "staff/form.html"
# The form's fields, in its order; the error summary names each by its label.
LABELS: dict[str, Any] = {
    "full_name": lazy_gettext("Ονοματεπώνυμο"),
    "email": lazy_gettext("Διεύθυνση e-mail"),
    "unit_id": lazy_gettext("Μονάδα"),
    "profile_code": lazy_gettext("Επαγγελματικό προφίλ"),
    "start_date": lazy_gettext("Ημερομηνία έναρξης"),
    "end_date": lazy_gettext("Ημερομηνία λήξης"),
    "fte": lazy_gettext("Ποσοστό απασχόλησης (FTE)"),
    "is_head": lazy_gettext("Υπεύθυνος/η του Κέντρου"),
}
KIND_NAMES: dict[UnitKind, Any] = {
    UnitKind.CENTRE: lazy_gettext("Κέντρο"),
    UnitKind.ANNEX: lazy_gettext("Παράρτημα"),
    UnitKind.MOBILE_UNIT: lazy_gettext("Κινητή Μονάδα"),
}


def _roster_url(code: MunicipalityCode) -> str:
    return f"/municipalities/{code.value}/staff"


def _member_url(code: MunicipalityCode, staff_id: int) -> str:
    return f"{_roster_url(code)}/{staff_id}"


def _unit_text(unit: Unit) -> str:
    text = f"{unit.name} ({KIND_NAMES[unit.kind]})"
    return text if unit.is_open else f"{text} — {_('έκλεισε')}"


def _values_of(member: StaffMember) -> dict[str, str]:
    return {
        "full_name": member.full_name,
        "email": member.email,
        "unit_id": str(member.unit_id),
        "profile_code": member.profile_code,
        "start_date": member.start_date.isoformat(),
        "end_date": member.end_date.isoformat() if member.end_date else "",
        "fte": str(member.fte),
        "is_head": "true" if member.is_head else "",
    }


def _typed() -> dict[str, str]:
    return web_forms.form_values(FIELDS)


def _data_of(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API's schema reads it: an unchecked box is false, a decimal comma a
    point, a unit's id a number."""
    data: dict[str, Any] = web_forms.filled(values)
    data["is_head"] = values.get("is_head") in ("true", "on")
    if "fte" in data:
        data["fte"] = data["fte"].strip().replace(",", ".")
    unit_id = data.get("unit_id", "").strip()
    if unit_id:
        data["unit_id"] = int(unit_id) if unit_id.isdigit() else unit_id
    return data


def _render_form(
    code: MunicipalityCode,
    state: web_forms.FormState,
    status: int = 200,
    member: StaffMember | None = None,
) -> ResponseReturnValue:
    """The add form (``member`` None) or a member's page."""
    session = request_session()
    units = access_roster_units(session, signed_in_principal())
    unit_options = [
        (str(unit.id), _unit_text(unit))
        for unit in units.values()
        if unit.is_open or (member is not None and unit.id == member.unit_id)
    ]
    profiles = profile_names(session, str(get_locale()))
    profile_options = list(profiles.items())
    if member is not None and member.profile_code not in profiles:
        profile_options.append((member.profile_code, member.profile_code))
    return (
        render_template(
            FORM_TEMPLATE,
            code=code.value,
            state=state,
            labels=LABELS,
            member=member,
            unit=units.get(member.unit_id) if member is not None else None,
            unit_text=_unit_text(units[member.unit_id]) if member is not None else None,
            profile_text=profiles.get(member.profile_code, member.profile_code)
            if member is not None
            else None,
            unit_options=unit_options,
            profile_options=profile_options,
            head_profile=head_profile_name(session, str(get_locale())),
            ended=has_ended(member) if member is not None else False,
            has_errors=status >= 400,
        ),
        status,
    )


# --- the roster -------------------------------------------------------------------------------


@blueprint.get("/municipalities/<municipality_code>/staff")
@requires(Permission.TENANT_STAFF_READ)
def roster_page(municipality_code: MunicipalityCode) -> str:
    """The roster: every member, current and past, by unit; a page at a time."""
    session = request_session()
    page, paging_errors = page_or_first(
        partial(
            access_staff_page,
            session,
            signed_in_principal(),
            municipality_code=municipality_code.value,
        )
    )
    members = page.items
    units = access_roster_units(session, signed_in_principal())
    profiles = profile_names(session, str(get_locale()))
    today = local_today()
    rows = [
        {
            "member": member,
            "unit": _unit_text(units[member.unit_id]),
            "profile": profiles.get(member.profile_code, member.profile_code),
            "fte": _greek_decimal(member.fte),
            "current": member.is_current(today),
            "ended": has_ended(member, today),
        }
        for member in members
    ]
    return render_template(
        "staff/roster.html",
        code=municipality_code.value,
        rows=rows,
        page=page,
        paging_errors=paging_errors,
        head_profile=head_profile_name(session, str(get_locale())),
    )


def _greek_decimal(number: Decimal) -> str:
    return f"{number:.2f}".replace(".", ",")


# --- adding a member --------------------------------------------------------------------------


@blueprint.get("/municipalities/<municipality_code>/staff/new")
@requires(Permission.TENANT_STAFF_WRITE)
def new_member_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """The empty form (today as the start date, full time)."""
    values = {"start_date": local_today().isoformat(), "fte": "1"}
    return _render_form(municipality_code, web_forms.FormState(values))


def _stale_new_member(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    return web_forms.stale_form(_typed(), partial(_render_form, municipality_code))


@blueprint.post("/municipalities/<municipality_code>/staff/new")
@web_forms.on_stale_form(_stale_new_member)
@requires(Permission.TENANT_STAFF_WRITE)
def create_member_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """Validate and add the member, as the API does; or show the form again, explained."""
    values = _typed()

    def create(data: dict[str, Any]) -> str:
        member = create_staff_member(request_session(), data, actor=current_actor())
        return _member_url(municipality_code, member.id)

    return web_forms.submit_form(
        values,
        partial(_render_form, municipality_code),
        load=lambda: StaffMemberCreateSchema().load(_data_of(values)),
        run=create,
        saved=_("Το μέλος προστέθηκε στο προσωπικό."),
    )


# --- one member -------------------------------------------------------------------------------


def _member_or_404(code: MunicipalityCode, staff_id: int) -> StaffMember:
    member = access_staff_member_by_id(
        request_session(),
        signed_in_principal(),
        staff_id,
        municipality_code=code.value,
    )
    if member is None:
        abort(404, "There is no such staff member in this municipality.")
    return member


def _member_for_change_or_404(staff_id: int) -> StaffMember:
    member = access_staff_member_for_change(request_session(), signed_in_principal(), staff_id)
    if member is None:
        abort(404, "There is no such staff member in this municipality.")
    return member


@blueprint.get("/municipalities/<municipality_code>/staff/<int:staff_id>")
@requires(Permission.TENANT_STAFF_READ)
def member_page(municipality_code: MunicipalityCode, staff_id: int) -> ResponseReturnValue:
    """A member: the edit form and the invitation, or the details for a reader."""
    member = _member_or_404(municipality_code, staff_id)
    return _render_form(municipality_code, web_forms.FormState(_values_of(member)), member=member)


CHANGED_BEFORE_SAVE = lazy_gettext(
    "Κάποιος άλλος άλλαξε τα στοιχεία του μέλους στο μεταξύ, οπότε οι αλλαγές σας δεν "
    "αποθηκεύτηκαν. Οι τιμές που πληκτρολογήσατε φαίνονται παρακάτω· ελέγξτε τις και "
    "πατήστε ξανά «Αποθήκευση»."
)
STALE_INVITATION = lazy_gettext(
    "Η σελίδα έληξε ή το αίτημα δεν στάλθηκε από αυτή, οπότε η πρόσκληση δεν στάλθηκε. "
    "Πατήστε ξανά «Αποστολή πρόσκλησης»."
)


def _identity() -> IdentityAdmin:
    kentra = current_app.extensions["kentra"]
    return identity_admin(kentra.settings, kentra.engine)


def _stale_edit(municipality_code: MunicipalityCode, staff_id: int) -> ResponseReturnValue:
    member = _member_for_change_or_404(staff_id)
    return web_forms.stale_form(_typed(), partial(_render_form, municipality_code, member=member))


@blueprint.post("/municipalities/<municipality_code>/staff/<int:staff_id>")
@web_forms.on_stale_form(_stale_edit)
@requires(Permission.TENANT_STAFF_WRITE)
def update_member_page(municipality_code: MunicipalityCode, staff_id: int) -> ResponseReturnValue:
    """Save the edit form, made on the version it carries."""
    member = _member_for_change_or_404(staff_id)
    values = _typed()

    def load() -> dict[str, Any]:
        changes: dict[str, Any] = StaffMemberCreateSchema().load(_data_of(values))
        changes.setdefault("end_date", None)  # cleared in the form
        return changes

    def update(changes: dict[str, Any]) -> str:
        update_staff_member(
            request_session(), member, changes, actor=current_actor(), identity=_identity()
        )
        return _member_url(municipality_code, member.id)

    return web_forms.submit_form(
        values,
        partial(_render_form, municipality_code, member=member),
        changed_since=stale_form_version(request.form.get("version"), member.version),
        changed_notice=CHANGED_BEFORE_SAVE,
        load=load,
        run=update,
        saved=_("Οι αλλαγές αποθηκεύτηκαν."),
    )


def _stale_invitation(municipality_code: MunicipalityCode, staff_id: int) -> ResponseReturnValue:
    member = _member_for_change_or_404(staff_id)
    render = partial(_render_form, municipality_code, member=member)
    return web_forms.stale_form(_values_of(member), render, STALE_INVITATION)


@blueprint.post("/municipalities/<municipality_code>/staff/<int:staff_id>/invite")
@web_forms.on_stale_form(_stale_invitation)
@requires(Permission.TENANT_STAFF_WRITE)
def invite_member_page(municipality_code: MunicipalityCode, staff_id: int) -> ResponseReturnValue:
    """Invite the member as a user of the platform."""
    member = _member_for_change_or_404(staff_id)

    def invite(_nothing: None) -> str:
        invite_staff_member(
            request_session(),
            member,
            municipality_code=municipality_code.value,
            identity=_identity(),
            actor=current_actor(),
        )
        return _member_url(municipality_code, member.id)

    return web_forms.submit_form(
        _values_of(member),
        partial(_render_form, municipality_code, member=member),
        load=lambda: None,
        run=invite,
        saved=_("Η πρόσκληση στάλθηκε στη διεύθυνση e-mail του μέλους."),
    )
