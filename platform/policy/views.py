"""The ministry's policy pages (server-rendered, Greek):

- ``GET /ministry/policy``: the version in force, the history, and a form for a new version
  pre-filled from the one in force (bands and profiles as rows of inputs, with spare rows).
- ``POST /ministry/policy`` (CSRF): validated by the API's schema and recorded by the API's
  operation; a refusal re-renders the form with every typed value: 422 bad input, 409 a taken
  date, 400 a missing or stale CSRF token. Success redirects (303) to the job's progress.
- ``GET /ministry/policy/jobs/<job_id>``: the recompute's progress (refreshes itself while
  the job runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import marshmallow as ma
from flask import Blueprint, abort, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.flask import current_principal, current_reader, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.core.models import local_today as today
from kentra.platform.policy.access import (
    access_policy_in_force,
    access_policy_versions_page,
    access_recompute_job_by_id,
)
from kentra.platform.policy.models import PolicyVersion, ServiceArea
from kentra.platform.policy.operations import publish_policy_version
from kentra.platform.policy.recompute import JobStatus
from kentra.platform.policy.schemas import PolicyVersionCreateSchema
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first

blueprint = Blueprint("policy_pages", __name__, template_folder="templates")

PAGE = "/ministry/policy"
MAX_ROWS = 20
REFRESH_SECONDS = 3
SPARE_ROWS = 2
BAND_FIELDS = ("min_population", "max_population", "minimum_staff")
PROFILE_FIELDS = ("code", "name_el", "name_en")
LABELS: dict[str, Any] = {
    "valid_from": lazy_gettext("Ισχύει από"),
    "note": lazy_gettext("Σημείωμα της αλλαγής"),
    "head_profile_code": lazy_gettext("Ειδικότητα του Υπευθύνου Κέντρου (κωδικός)"),
    "bands": lazy_gettext("Ζώνες πληθυσμού"),
    "profiles": lazy_gettext("Ειδικότητες"),
    "mobile_unit_area": lazy_gettext("Πού εξυπηρετούν οι Κινητές Μονάδες"),
}
AREA_OPTIONS: dict[str, Any] = {
    ServiceArea.REGIONAL_UNIT.value: lazy_gettext("Στην Περιφερειακή Ενότητα του Κέντρου τους"),
    ServiceArea.REGION.value: lazy_gettext("Στην Περιφέρεια του Κέντρου τους"),
    ServiceArea.COUNTRY.value: lazy_gettext("Σε όλη τη χώρα"),
}
FIELD_LABELS: dict[str, Any] = {
    "min_population": lazy_gettext("από κατοίκους"),
    "max_population": lazy_gettext("έως κατοίκους"),
    "minimum_staff": lazy_gettext("ελάχιστο προσωπικό"),
    "code": lazy_gettext("κωδικός"),
    "name_el": lazy_gettext("ονομασία (ελληνικά)"),
    "name_en": lazy_gettext("ονομασία (αγγλικά)"),
    "mandatory": lazy_gettext("υποχρεωτική"),
}
STALE_FORM = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε η νέα έκδοση δεν καταχωρίστηκε. "
    "Ελέγξτε τα στοιχεία και πατήστε ξανά «Καταχώριση νέας έκδοσης»."
)
CONFLICT_NOTE = lazy_gettext(
    "Η νέα έκδοση δεν καταχωρίστηκε: υπάρχει ήδη έκδοση με αυτή την ημερομηνία έναρξης. "
    "Επιλέξτε άλλη ημερομηνία."
)
JOB_STATUS: dict[str, Any] = {
    JobStatus.QUEUED.value: lazy_gettext("Σε αναμονή"),
    JobStatus.RUNNING.value: lazy_gettext("Σε εξέλιξη"),
    JobStatus.DONE.value: lazy_gettext("Ολοκληρώθηκε"),
    JobStatus.FAILED.value: lazy_gettext("Ολοκληρώθηκε με σφάλματα"),
}


def _row_label(group: str, index: int, name: str) -> str:
    kind = _("Ζώνη") if group == "bands" else _("Ειδικότητα")
    return f"{kind} {index + 1}: {FIELD_LABELS[name]}"


def form_values(version: PolicyVersion | None) -> dict[str, str]:
    """The form pre-filled from ``version`` (the one in force), valid from today."""
    values = {"valid_from": today().isoformat(), "note": ""}
    if version is None:
        return values
    values["head_profile_code"] = version.head_profile_code
    values["mobile_unit_area"] = version.mobile_unit_area.value
    for i, band in enumerate(version.bands):
        values[f"bands-{i}-min_population"] = str(band.min_population)
        values[f"bands-{i}-max_population"] = (
            "" if band.max_population is None else str(band.max_population)
        )
        values[f"bands-{i}-minimum_staff"] = str(band.minimum_staff)
    for i, profile in enumerate(version.profiles):
        values[f"profiles-{i}-code"] = profile.code
        values[f"profiles-{i}-name_el"] = profile.name_el
        values[f"profiles-{i}-name_en"] = profile.name_en
        if profile.mandatory:
            values[f"profiles-{i}-mandatory"] = "true"
    return values


def _rows(values: Mapping[str, str], group: str, fields: tuple[str, ...]) -> int:
    """How many rows of ``group`` the form shows: the filled ones and spare rows."""
    used = [i for i in range(MAX_ROWS) if any(values.get(f"{group}-{i}-{name}") for name in fields)]
    return min(MAX_ROWS, (max(used) + 1 if used else 0) + SPARE_ROWS)


def posted_values() -> dict[str, str]:
    names = ["valid_from", "note", "head_profile_code", "mobile_unit_area"]
    names += [f"bands-{i}-{name}" for i in range(MAX_ROWS) for name in BAND_FIELDS]
    names += [
        f"profiles-{i}-{name}" for i in range(MAX_ROWS) for name in (*PROFILE_FIELDS, "mandatory")
    ]
    return {name: request.form.get(name, "") for name in names if request.form.get(name)}


def form_data(values: Mapping[str, str]) -> dict[str, Any]:
    """The schema's input from the form: empty rows left out, an empty maximum open-ended."""
    data: dict[str, Any] = {
        name: values[name].strip()
        for name in ("valid_from", "note", "head_profile_code", "mobile_unit_area")
        if values.get(name, "").strip()
    }
    bands: list[dict[str, Any]] = []
    band_rows: list[int] = []
    for i in range(MAX_ROWS):
        row = {name: values.get(f"bands-{i}-{name}", "").strip() for name in BAND_FIELDS}
        if not any(row.values()):
            continue
        band_rows.append(i)
        band: dict[str, Any] = {k: v for k, v in row.items() if v}
        band.setdefault("max_population", None)
        bands.append(band)
    profiles: list[dict[str, Any]] = []
    profile_rows: list[int] = []
    for i in range(MAX_ROWS):
        row = {name: values.get(f"profiles-{i}-{name}", "").strip() for name in PROFILE_FIELDS}
        if not any(row.values()):
            continue
        profile_rows.append(i)
        profile: dict[str, Any] = {k: v for k, v in row.items() if v}
        profile["mandatory"] = values.get(f"profiles-{i}-mandatory") == "true"
        profiles.append(profile)
    data["bands"] = bands
    data["profiles"] = profiles
    data["_rows"] = {"bands": band_rows, "profiles": profile_rows}
    return data


def schema_errors(error: ma.ValidationError, rows: Mapping[str, list[int]]) -> dict[str, list[str]]:
    """The schema's messages by form field: ``bands-<row>-<field>`` for a row's input."""
    found: dict[str, list[str]] = {}
    messages = error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
    for name, value in messages.items():
        if isinstance(value, dict):  # a list's items, by position among the filled rows
            for position, fields in value.items():
                row = rows[str(name)][int(position)]
                for field, texts in fields.items():
                    found[f"{name}-{row}-{field}"] = [web_forms.page_message(str(t)) for t in texts]
        else:
            found[str(name)] = [web_forms.page_message(str(t)) for t in value]
    return found


def render_page(state: web_forms.FormState, status: int = 200) -> ResponseReturnValue:
    session = request_session()
    in_force = access_policy_in_force(session, current_reader())
    versions, paging_errors = page_or_first(
        partial(access_policy_versions_page, session, current_reader())
    )
    labels = dict(LABELS)
    band_rows = _rows(state.values, "bands", BAND_FIELDS)
    profile_rows = _rows(state.values, "profiles", PROFILE_FIELDS)
    for i in range(band_rows):
        labels.update({f"bands-{i}-{n}": _row_label("bands", i, n) for n in BAND_FIELDS})
    for i in range(profile_rows):
        labels.update({f"profiles-{i}-{n}": _row_label("profiles", i, n) for n in PROFILE_FIELDS})
    return web_forms.form_page(
        "policy/policy.html",
        state,
        status,
        labels={k: str(v) for k, v in labels.items()},
        in_force=in_force,
        versions=versions.items,
        page=versions,
        paging_errors=paging_errors,
        band_rows=band_rows,
        profile_rows=profile_rows,
        band_fields=BAND_FIELDS,
        profile_fields=PROFILE_FIELDS,
        field_labels=FIELD_LABELS,
        area_options=[(value, str(text)) for value, text in AREA_OPTIONS.items()],
    )


@blueprint.get(PAGE)
@requires(Permission.NATIONAL_POLICY_MANAGE)
def policy_page() -> ResponseReturnValue:
    """The policy in force, its history, and the form for a new version."""
    return render_page(
        web_forms.FormState(
            form_values(access_policy_in_force(request_session(), current_reader()))
        )
    )


def _stale_version() -> ResponseReturnValue:
    return render_page(web_forms.FormState(posted_values(), notice=str(STALE_FORM)), 400)


@blueprint.post(PAGE)
@web_forms.on_stale_form(_stale_version)
@requires(Permission.NATIONAL_POLICY_MANAGE)
def create_version_page() -> ResponseReturnValue:
    """Record a new version as the API does, then show the recompute's progress."""
    values = posted_values()
    data = form_data(values)
    rows = data.pop("_rows")
    try:
        loaded = PolicyVersionCreateSchema().load(data)
    except ma.ValidationError as error:
        return render_page(web_forms.FormState(values, errors=schema_errors(error, rows)), 422)
    principal = current_principal()
    assert principal is not None  # @requires ran
    try:
        _version, job = publish_policy_version(
            request_session(), loaded, actor=principal.subject, today=today()
        )
    except DomainError as refusal:
        state, status = web_forms.refusal_state(values, refusal)
        if status == 409:  # the date is taken
            state.notice = str(CONFLICT_NOTE)
        return render_page(state, status)
    return redirect(f"{PAGE}/jobs/{job.id}", 303)


@blueprint.get(f"{PAGE}/jobs/<int:job_id>")
@requires(Permission.NATIONAL_POLICY_MANAGE)
def job_page(job_id: int) -> ResponseReturnValue:
    """A recompute job's progress; the page reloads itself until the job ends."""
    job = access_recompute_job_by_id(request_session(), signed_in_principal(), job_id)
    if job is None:
        abort(404, "Δεν υπάρχει τέτοια εργασία επανυπολογισμού. There is no such recompute job.")
    assert job is not None
    running = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    page = render_template(
        "policy/job.html",
        job=job,
        running=running,
        status_text=JOB_STATUS,
        error=web_forms.greek_part(job.error) if job.error else None,
    )
    headers = {"Refresh": str(REFRESH_SECONDS)} if running else {}
    return page, 200, headers
