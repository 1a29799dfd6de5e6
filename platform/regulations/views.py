"""Web pages of the operating regulation (server-rendered, Greek).

Municipality (``/municipalities/<code>/regulations``):

- the versions of every centre, with status, effective date and summary; a link to upload;
- ``/new``: the upload form (multipart, CSRF-protected). A refusal re-renders it with every
  typed value (the file must be chosen again: browsers never keep it, and the page says so):
  422 bad input or not a PDF, 413 a file above the limit, 403 another centre's head, 400 a
  missing or stale CSRF token. A body far above the limit is refused before anything is read
  (:func:`kentra.platform.core.inputs.accepts_upload`): that answer is a page of its own (413).
- ``/<regulation_id>``: the details, the download link and the buttons the user's role allows
  (approve; submit; for the ministry acknowledge, or return with comments). Each button's
  form carries the version shown; a stale one is a 409 with a notice. Success redirects (303)
  back with a message.

Ministry: ``/ministry/regulations`` (the current regulation of every centre, filtered by
region and status with a GET form; links to each version) and ``/ministry/regulations/
bundle.zip`` (the same selection as one zip).
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, abort, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api.etags import stale_form_version
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString, lazy_gettext
from kentra.platform.core.inputs import accepts_upload
from kentra.platform.core.paging import Page
from kentra.platform.regulations.access import (
    access_current_regulations_page,
    access_regions,
    access_version,
    access_versions_page,
    centre_name,
    region_exists,
    version_number,
)
from kentra.platform.regulations.blueprint import (
    ACKNOWLEDGE,
    ACTIONS,
    APPROVE,
    RETURN,
    SUBMIT,
    WITHDRAW,
    RegulationAction,
    bundle_response,
    chosen_file,
    max_upload_bytes,
    pdf_response,
    upload_from_request,
)
from kentra.platform.regulations.models import (
    RegulationKind,
    RegulationStatus,
    RegulationVersion,
)
from kentra.platform.regulations.operations import open_centres
from kentra.platform.regulations.schemas import (
    CurrentRegulationQueryArgsSchema,
    RegulationReturnSchema,
    RegulationUploadSchema,
)
from kentra.platform.web import forms as web_forms
from kentra.platform.web.paging import page_or_first
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.routing import NOT_FOUND_DETAIL

blueprint = Blueprint("regulation_pages", __name__, template_folder="templates")

UPLOAD_FIELDS = ("centre_id", "effective_date", "change_summary", "file")
LABELS = {
    "centre_id": lazy_gettext("Κέντρο"),
    "effective_date": lazy_gettext("Ημερομηνία έναρξης ισχύος"),
    "change_summary": lazy_gettext("Περίληψη της αλλαγής"),
    "file": lazy_gettext("Αρχείο του κανονισμού (PDF)"),
}
RETURN_LABELS = {"comment": lazy_gettext("Σχόλια του Υπουργείου")}
FILTER_LABELS = {"region": lazy_gettext("Περιφέρεια"), "status": lazy_gettext("Κατάσταση")}
KIND_TEXT = {
    RegulationKind.INITIAL.value: lazy_gettext("Αρχικός κανονισμός"),
    RegulationKind.AMENDMENT.value: lazy_gettext("Τροποποίηση"),
}
STATUS_TEXT = {
    RegulationStatus.DRAFT.value: lazy_gettext("Σχέδιο"),
    RegulationStatus.APPROVED.value: lazy_gettext("Εγκρίθηκε από τον/την υπεύθυνο/η"),
    RegulationStatus.SUBMITTED.value: lazy_gettext("Υποβλήθηκε στο Υπουργείο"),
    RegulationStatus.ACKNOWLEDGED.value: lazy_gettext("Παραλήφθηκε από το Υπουργείο"),
    RegulationStatus.RETURNED.value: lazy_gettext("Επεστράφη με σχόλια"),
    RegulationStatus.WITHDRAWN.value: lazy_gettext("Αποσύρθηκε"),
}
CHOOSE_FILE_AGAIN = lazy_gettext(
    "Για λόγους ασφαλείας ο browser δεν κρατά το αρχείο που επιλέξατε: επιλέξτε το ξανά "
    "πριν πατήσετε «Ανάρτηση». Τα υπόλοιπα στοιχεία διατηρήθηκαν."
)
# What the page says once each action (blueprint.ACTIONS) is done.
ACTION_DONE = {
    APPROVE: lazy_gettext("Η έκδοση εγκρίθηκε. Μπορεί πλέον να υποβληθεί στο Υπουργείο."),
    WITHDRAW: lazy_gettext("Το σχέδιο αποσύρθηκε· παραμένει στον κατάλογο των εκδόσεων."),
    SUBMIT: lazy_gettext("Η έκδοση υποβλήθηκε στο Υπουργείο."),
    ACKNOWLEDGE: lazy_gettext("Η παραλαβή της έκδοσης καταχωρίστηκε."),
    RETURN: lazy_gettext("Η έκδοση επεστράφη στον Δήμο με τα σχόλιά σας."),
}
STALE_FORM = lazy_gettext(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε δεν έγινε καμία αλλαγή. "
    "Ελέγξτε τα στοιχεία και δοκιμάστε ξανά."
)
STALE_VERSION = lazy_gettext(
    "Η έκδοση άλλαξε από τότε που ανοίξατε τη σελίδα, οπότε δεν έγινε καμία αλλαγή. "
    "Δείτε την τρέχουσα κατάστασή της παρακάτω και δοκιμάστε ξανά αν χρειάζεται."
)


def size_text(size: int) -> str:
    """A size for people: "2,5 MB", "340 KB"."""
    if size >= 1024 * 1024:
        number = f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
        return number.replace(".", ",") + " MB"
    return f"{max(1, round(size / 1024))} KB"


def _base(code: MunicipalityCode) -> str:
    return f"/municipalities/{code.value}/regulations"


@blueprint.app_template_filter("regulation_size")
def _size_filter(size: int) -> str:
    return size_text(size)


# --- the municipality's pages -------------------------------------------------------------


@blueprint.get("/municipalities/<municipality_code>/regulations")
@requires(Permission.TENANT_REGULATIONS_READ)
def list_page(municipality_code: MunicipalityCode) -> str:
    """Every version, grouped by centre, newest first; a page at a time."""
    page, paging_errors = page_or_first(
        partial(access_versions_page, request_session(), signed_in_principal())
    )
    return render_template(
        "regulations/list.html",
        code=municipality_code.value,
        rows=page.items,
        page=page,
        paging_errors=paging_errors,
        centres=open_centres(request_session()),
        kind_text=KIND_TEXT,
        status_text=STATUS_TEXT,
    )


def render_upload(
    code: MunicipalityCode, state: web_forms.FormState, status: int = 200
) -> ResponseReturnValue:
    centres = open_centres(request_session())
    return (
        render_template(
            "regulations/new.html",
            code=code.value,
            state=state,
            labels=LABELS,
            centres=[(str(c.id), c.name) for c in centres],
            max_size=size_text(max_upload_bytes()),
            has_errors=bool(state.errors or state.notice),
        ),
        status,
    )


@blueprint.get("/municipalities/<municipality_code>/regulations/new")
@requires(Permission.TENANT_REGULATIONS_WRITE)
def upload_form(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """The empty upload form; with one open centre it is already chosen."""
    centres = open_centres(request_session())
    values = {"centre_id": str(centres[0].id)} if len(centres) == 1 else {}
    return render_upload(municipality_code, web_forms.FormState(values))


def _typed_upload() -> dict[str, str]:
    return web_forms.form_values(name for name in UPLOAD_FIELDS if name != "file")


def _stale_upload(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    return web_forms.stale_form(
        _typed_upload(), partial(render_upload, municipality_code), STALE_FORM
    )


@blueprint.post("/municipalities/<municipality_code>/regulations/new")
@web_forms.on_stale_form(_stale_upload)
@requires(Permission.TENANT_REGULATIONS_WRITE)
@accepts_upload
def upload_page(municipality_code: MunicipalityCode) -> ResponseReturnValue:
    """Record the draft as the API does; or show the form again, explained."""
    values = _typed_upload()
    again = str(CHOOSE_FILE_AGAIN)
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] = {}
    try:
        loaded = RegulationUploadSchema().load(web_forms.filled(values))
    except ma.ValidationError as error:
        errors = web_forms.validation_messages(error)
    file = chosen_file()
    if file is None:
        errors["file"] = [_("Επιλέξτε το αρχείο PDF του κανονισμού.")]
    if errors:
        return render_upload(municipality_code, web_forms.FormState(values, errors, again), 422)
    assert file is not None
    try:
        version = upload_from_request(municipality_code, loaded, file)
    except DomainError as refusal:  # next to its field, the file's reminder kept as notice
        state = web_forms.FormState(values, refusal.field_messages(), again)
        return render_upload(municipality_code, state, refusal.status)
    flash(_("Η νέα έκδοση αναρτήθηκε ως σχέδιο."), "success")
    return redirect(f"{_base(municipality_code)}/{version.id}", 303)


@blueprint.errorhandler(413)
def too_large_page(_error: Exception) -> ResponseReturnValue:
    """A body far above the limit, refused before it was read: nothing of the form arrived."""
    code = (request.view_args or {}).get("municipality_code")
    back = f"/municipalities/{code}/regulations/new" if code else None
    return (
        render_template(
            "regulations/too_large.html",
            back=back,
            max_size=size_text(max_upload_bytes()),
            has_errors=True,
        ),
        413,
    )


def _version_or_404(regulation_id: int, *, for_update: bool = False) -> RegulationVersion:
    version = access_version(
        request_session(), signed_in_principal(), regulation_id, for_update=for_update
    )
    if version is None:
        abort(404, NOT_FOUND_DETAIL)
    assert version is not None
    return version


def render_details(
    code: MunicipalityCode,
    version: RegulationVersion,
    *,
    notice: str | None = None,
    return_state: web_forms.FormState | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    principal = signed_in_principal()
    permissions = principal.permissions
    state = return_state or web_forms.FormState()
    return (
        render_template(
            "regulations/detail.html",
            code=code.value,
            version=version,
            centre_name=centre_name(request_session(), signed_in_principal(), version.centre_id),
            number=version_number(request_session(), signed_in_principal(), version),
            kind_text=KIND_TEXT,
            status_text=STATUS_TEXT,
            notice=notice,
            state=state,
            labels=RETURN_LABELS,
            offered={
                action.name
                for action in ACTIONS
                if version.status == action.needed and action.permission in permissions
            },
            has_errors=bool(notice or state.errors),
        ),
        status,
    )


@blueprint.get("/municipalities/<municipality_code>/regulations/<int:regulation_id>")
@requires(Permission.TENANT_REGULATIONS_READ)
def detail_page(municipality_code: MunicipalityCode, regulation_id: int) -> ResponseReturnValue:
    """One version: its details, its file, what the user may do with it."""
    return render_details(municipality_code, _version_or_404(regulation_id))


@blueprint.get("/municipalities/<municipality_code>/regulations/<int:regulation_id>/file")
@requires(Permission.TENANT_REGULATIONS_READ)
def file_page(municipality_code: MunicipalityCode, regulation_id: int) -> ResponseReturnValue:
    """The version's PDF, as an attachment."""
    return pdf_response(regulation_id)


def _details_again(code: MunicipalityCode, regulation_id: int) -> web_forms.Render:
    """The details shown again after a button's form was refused: the notice above them, the
    typed comments (the return form's) kept with their messages."""

    def render(state: web_forms.FormState, status: int) -> ResponseReturnValue:
        kept = web_forms.FormState(state.values, state.errors)
        version = _version_or_404(regulation_id)
        return render_details(code, version, notice=state.notice, return_state=kept, status=status)

    return render


def _stale_action(municipality_code: MunicipalityCode, regulation_id: int) -> ResponseReturnValue:
    render = _details_again(municipality_code, regulation_id)
    return web_forms.stale_form(web_forms.form_values(["comment"]), render, STALE_FORM)


def _act(
    action: RegulationAction, done: str, code: MunicipalityCode, regulation_id: int
) -> ResponseReturnValue:
    """Run a state change from a button's form, on the version shown."""
    version = _version_or_404(regulation_id, for_update=True)
    comment = request.form.get("comment", "")

    def run(_data: Any) -> str:
        action.run(version, code, comment)
        return f"{_base(code)}/{regulation_id}"

    return web_forms.submit_form(
        web_forms.form_values(["comment"]),
        _details_again(code, regulation_id),
        changed_since=stale_form_version(request.form.get("version"), version.version),
        changed_notice=STALE_VERSION,
        # The comment is checked as the API's body is, next to its field.
        load=lambda: (
            RegulationReturnSchema().load(web_forms.filled({"comment": comment}))
            if action.takes_comment
            else None
        ),
        run=run,
        saved=done,
    )


def _action_page(action: RegulationAction, done: LazyString) -> None:
    """The POST route of one action's button: its permission is the endpoint's own, checked
    before the view, and a refused CSRF token shows the details again."""

    def page(municipality_code: MunicipalityCode, regulation_id: int) -> ResponseReturnValue:
        return _act(action, str(done), municipality_code, regulation_id)

    name = f"{action.name}_page"
    page.__name__ = page.__qualname__ = name
    blueprint.post(
        f"/municipalities/<municipality_code>/regulations/<int:regulation_id>/{action.name}",
        endpoint=name,
    )(web_forms.on_stale_form(_stale_action)(requires(action.permission)(page)))


for _action in ACTIONS:
    _action_page(_action, ACTION_DONE[_action])


# --- the ministry's pages -----------------------------------------------------------------


@blueprint.get("/ministry/regulations")
@requires(Permission.NATIONAL_REGULATIONS_MANAGE)
def ministry_page() -> ResponseReturnValue:
    """The current regulation of every centre, filtered by region and status."""
    values = {name: request.args.get(name, "") for name in FILTER_LABELS}
    state = web_forms.FormState(values)
    regulations: list[Any] = []
    page: Page[Any] | None = None
    paging_errors: list[str] = []
    status_code = 200
    try:
        loaded = CurrentRegulationQueryArgsSchema().load(web_forms.filled(values))
    except ma.ValidationError as error:
        state.errors = web_forms.validation_messages(error)
        loaded = {}
    region = loaded.get("region")
    if region is not None and not region_exists(request_session(), signed_in_principal(), region):
        state.errors["region"] = [_("Δεν υπάρχει Περιφέρεια με αυτόν τον κωδικό.")]
    if state.errors:
        status_code = 422
    else:
        status = loaded.get("status")
        found, paging_errors = page_or_first(
            partial(
                access_current_regulations_page,
                request_session(),
                signed_in_principal(),
                region=region,
                status=RegulationStatus(status) if status else None,
            )
        )
        page, regulations = found, list(found.items)
    query = urlencode(web_forms.filled(values))
    return (
        render_template(
            "regulations/ministry.html",
            state=state,
            labels=FILTER_LABELS,
            regions=[
                (r.code, f"{r.name_el} ({r.code})")
                for r in access_regions(request_session(), signed_in_principal())
            ],
            statuses=[
                (s.value, STATUS_TEXT[s.value])
                for s in (RegulationStatus.SUBMITTED, RegulationStatus.ACKNOWLEDGED)
            ],
            regulations=regulations,
            page=page,
            paging_errors=paging_errors,
            kind_text=KIND_TEXT,
            status_text=STATUS_TEXT,
            bundle_url="/ministry/regulations/bundle.zip" + (f"?{query}" if query else ""),
            has_errors=bool(state.errors),
        ),
        status_code,
    )


@blueprint.get("/ministry/regulations/bundle.zip")
@requires(Permission.NATIONAL_REGULATIONS_MANAGE)
def ministry_bundle() -> ResponseReturnValue:
    """The current regulations of the page's selection, as one zip with ``index.csv``."""
    values = {name: request.args.get(name, "") for name in FILTER_LABELS}
    try:
        loaded = CurrentRegulationQueryArgsSchema().load(web_forms.filled(values))
    except ma.ValidationError:
        return redirect("/ministry/regulations", 303)
    region = loaded.get("region")
    if region is not None and not region_exists(request_session(), signed_in_principal(), region):
        return redirect("/ministry/regulations", 303)
    status = loaded.get("status")
    return bundle_response(region, RegulationStatus(status) if status else None)
