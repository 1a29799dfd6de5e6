"""Operating regulations API.

Municipality (tenant URLs, ``/api/v1/municipalities/<code>/regulations``):

- ``GET`` the versions; ``POST`` (multipart: ``centre_id``, ``effective_date``,
  ``change_summary``, ``file``) uploads a draft: 201; a file that is not a PDF (it must parse,
  open without a password and hold no active content: regulations/pdf.py) 422, too large 413.
- ``GET /<regulation_id>`` (ETag), ``GET /<regulation_id>/file`` (the PDF, as an attachment).
- ``POST /<regulation_id>/approve`` (the head of its centre), ``/submit`` (an approved one),
  ``/acknowledge`` and ``/return`` (the ministry; returning needs ``comment``). Each needs
  ``If-Match`` (428 without, 412 when stale); a version in another state is a 409. A head of
  another centre approving is a 403: the version is readable to them, only the act is not theirs.

Ministry: ``GET /api/v1/regulations?region=&status=`` the current regulation of every centre
(shared schema only), ``GET /api/v1/regulations/bundle.zip?region=&status=`` their PDFs and
``index.csv`` in one zip.
"""

from __future__ import annotations

import io
import keyword
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from flask import Response, current_app, jsonify, request, send_file
from flask_smorest import abort
from werkzeug.datastructures import FileStorage

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint
from kentra.platform.api.etags import (
    ETAG_HEADER,
    documents_if_match,
    require_if_match,
    with_etag,
)
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.core.inputs import accepts_upload
from kentra.platform.core.models import local_today
from kentra.platform.regulations.access import (
    access_current_regulations,
    access_current_regulations_page,
    access_version,
    access_versions_page,
    centre_name,
    region_exists,
    write_bundle,
)
from kentra.platform.regulations.models import RegulationStatus, RegulationVersion
from kentra.platform.regulations.operations import (
    NOT_FOUND,
    UploadedFile,
    approve_regulation,
    decide_regulation,
    submit_regulation,
    upload_regulation,
    withdraw_regulation,
)
from kentra.platform.regulations.schemas import (
    CurrentRegulationPageArgsSchema,
    CurrentRegulationQueryArgsSchema,
    CurrentRegulationSchema,
    RegulationPageArgsSchema,
    RegulationReturnSchema,
    RegulationSchema,
    RegulationUploadSchema,
)
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "regulations", __name__, url_prefix="", description="Operating regulations of the centres"
)
UNKNOWN_REGION = "Δεν υπάρχει Περιφέρεια με αυτόν τον κωδικό. There is no region with this code."
FILE_REQUIRED = "Επιλέξτε το αρχείο PDF του κανονισμού. Choose the regulation's PDF file."
# A bundle is spooled to disk past this size rather than held in memory.
BUNDLE_MEMORY = 32 * 1024 * 1024


def dump(version: RegulationVersion, name: str) -> dict[str, Any]:
    return {
        **{
            field: getattr(version, field)
            for field in RegulationSchema().fields
            if field != "centre_name"
        },
        "centre_name": name,
    }


def _found(regulation_id: int, *, for_update: bool = False) -> RegulationVersion:
    version = access_version(
        request_session(), signed_in_principal(), regulation_id, for_update=for_update
    )
    if version is None:
        abort(404, message=str(NOT_FOUND))
    assert version is not None  # abort() raises
    return version


def _answer(version: RegulationVersion, status: int = 200) -> Response:
    body = RegulationSchema().dump(
        dump(version, centre_name(request_session(), signed_in_principal(), version.centre_id))
    )
    response = jsonify(body)
    response.status_code = status
    return with_etag(response, version.version)


@blueprint.route("/municipalities/<municipality_code>/regulations", methods=["GET"])
@requires(Permission.TENANT_REGULATIONS_READ)
@blueprint.paged_list(RegulationPageArgsSchema, RegulationSchema(many=True))
def list_versions(
    args: dict[str, Any], municipality_code: MunicipalityCode
) -> tuple[Any, int, dict[str, str]]:
    """Every version of the municipality's regulations, by centre, newest first; a page at a
    time (``cursor``, ``per_page``; the pages around in ``Link``)."""
    page = access_versions_page(request_session(), signed_in_principal(), **args)
    return paged([dump(row.version, row.centre_name) for row in page.items], page)


@blueprint.route("/municipalities/<municipality_code>/regulations", methods=["POST"])
@requires(Permission.TENANT_REGULATIONS_WRITE)
@accepts_upload
@blueprint.arguments(RegulationUploadSchema, location="form", content_type="multipart/form-data")
@blueprint.response(201, RegulationSchema, headers=ETAG_HEADER)
@blueprint.alt_response(413, description="the file is larger than KENTRA_MAX_UPLOAD_BYTES")
def upload(form: dict[str, Any], municipality_code: MunicipalityCode) -> Response:
    """Upload a draft version (PDF in ``file``): the first of a centre is its initial
    regulation, later ones amendments (``change_summary`` required). Not a PDF (by name and
    content, whatever its declared type: it must parse as a PDF, open without a password and
    hold no JavaScript, launch or submit actions, embedded files, XFA or multimedia): 422;
    above the limit: 413."""
    file = chosen_file()
    if file is None:
        abort(422, message=FILE_REQUIRED, errors={"files": {"file": [FILE_REQUIRED]}})
    assert file is not None
    return _answer(upload_from_request(municipality_code, form, file), 201)


def max_upload_bytes() -> int:
    limit: int = current_app.extensions["kentra"].settings.max_upload_bytes
    return limit


def chosen_file() -> FileStorage | None:
    """The request's ``file``, if one was chosen (a form without one sends an empty name)."""
    file = request.files.get("file")
    return file if file is not None and file.filename else None


def upload_from_request(
    municipality_code: MunicipalityCode, form: Mapping[str, Any], file: FileStorage
) -> RegulationVersion:
    """Record the draft (``form`` as ``RegulationUploadSchema`` loads it), by the signed-in
    user: the API's upload and the pages' form both end here. One byte past the limit is read,
    so that a larger file is refused as too large."""
    limit = max_upload_bytes()
    return upload_regulation(
        request_session(),
        principal=signed_in_principal(),
        municipality_code=municipality_code.value,
        centre_id=form["centre_id"],
        effective_date=form["effective_date"],
        change_summary=form.get("change_summary"),
        upload=UploadedFile(file.filename or "", file.read(limit + 1)),
        max_bytes=limit,
    )


@blueprint.route("/municipalities/<municipality_code>/regulations/<int:regulation_id>")
@requires(Permission.TENANT_REGULATIONS_READ)
@blueprint.response(200, RegulationSchema, headers=ETAG_HEADER)
def get_version(municipality_code: MunicipalityCode, regulation_id: int) -> Response:
    """One version, with its ETag (send it in If-Match to act on it)."""
    return _answer(_found(regulation_id))


@blueprint.route("/municipalities/<municipality_code>/regulations/<int:regulation_id>/file")
@requires(Permission.TENANT_REGULATIONS_READ)
@blueprint.response(200, content_type="application/pdf")
def download(municipality_code: MunicipalityCode, regulation_id: int) -> Response:
    """The version's PDF, as an attachment."""
    return pdf_response(regulation_id)


def pdf_response(regulation_id: int) -> Response:
    version = access_version(
        request_session(), signed_in_principal(), regulation_id, with_content=True
    )
    if version is None:
        abort(404, message=str(NOT_FOUND))
    assert version is not None
    response = send_file(
        io.BytesIO(version.content),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=version.filename,
        etag=version.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@dataclass(frozen=True)
class RegulationAction:
    """A state change of a version, declared once for the API's routes below and the pages'
    buttons (views.py): its URL segment, the permission its route requires, the state its
    operation accepts (any other is a 409; the pages offer the button only then) and the
    operation, which both call alike with the request's principal (:meth:`run`). Each
    action's route is made from it (:func:`_route_action`)."""

    name: str
    permission: Permission
    needed: RegulationStatus
    operation: Callable[..., RegulationVersion]
    description: str  # the route's, in the API document
    takes_comment: bool = False  # the ministry's comment, required when returning

    @property
    def endpoint(self) -> str:
        """The route's endpoint name (``return`` is a keyword: ``return_``)."""
        return f"{self.name}_" if keyword.iskeyword(self.name) else self.name

    def run(
        self,
        version: RegulationVersion,
        municipality_code: MunicipalityCode,
        comment: str | None = None,
    ) -> RegulationVersion:
        """The change, by the signed-in user, in the request's transaction."""
        extra = {"comment": comment} if self.takes_comment else {}
        return self.operation(
            request_session(),
            version,
            principal=signed_in_principal(),
            municipality_code=municipality_code.value,
            **extra,
        )


APPROVE = RegulationAction(
    "approve",
    Permission.TENANT_REGULATIONS_APPROVE,
    RegulationStatus.DRAFT,
    approve_regulation,
    "The head of the version's centre approves a draft (another centre's head: 403).",
)
WITHDRAW = RegulationAction(
    "withdraw",
    Permission.TENANT_REGULATIONS_WRITE,
    RegulationStatus.DRAFT,
    withdraw_regulation,
    "Withdraw a draft before it is approved (another state: 409); it stays listed.",
)
SUBMIT = RegulationAction(
    "submit",
    Permission.TENANT_REGULATIONS_WRITE,
    RegulationStatus.APPROVED,
    submit_regulation,
    "Submit an approved version to the ministry (a draft or a submitted one: 409).",
)
ACKNOWLEDGE = RegulationAction(
    "acknowledge",
    Permission.NATIONAL_REGULATIONS_MANAGE,
    RegulationStatus.SUBMITTED,
    partial(decide_regulation, acknowledge=True),
    "The ministry acknowledges a submitted version.",
)
RETURN = RegulationAction(
    "return",
    Permission.NATIONAL_REGULATIONS_MANAGE,
    RegulationStatus.SUBMITTED,
    partial(decide_regulation, acknowledge=False),
    "The ministry returns a submitted version with comments (required); it stays returned "
    "and the municipality uploads a new draft.",
    takes_comment=True,
)
ACTIONS = (APPROVE, WITHDRAW, SUBMIT, ACKNOWLEDGE, RETURN)


def _act(
    action: RegulationAction,
    municipality_code: MunicipalityCode,
    regulation_id: int,
    comment: str | None = None,
) -> Response:
    version = _found(regulation_id, for_update=True)
    require_if_match(version.version)
    return _answer(action.run(version, municipality_code, comment))


def _route_action(action: RegulationAction) -> None:
    """The action's route: ``POST …/regulations/<id>/<action>`` with If-Match, answering the
    changed version (the action's own state only: another is a 409)."""

    def act(
        *body: dict[str, Any], municipality_code: MunicipalityCode, regulation_id: int
    ) -> Response:
        comment = body[0]["comment"] if action.takes_comment else None
        return _act(action, municipality_code, regulation_id, comment)

    act.__name__ = act.__qualname__ = action.endpoint
    act.__doc__ = action.description
    view = blueprint.response(200, RegulationSchema, headers=ETAG_HEADER)(act)
    if action.takes_comment:
        view = blueprint.arguments(RegulationReturnSchema)(view)
    view = requires(action.permission)(documents_if_match(blueprint)(view))
    blueprint.route(
        f"/municipalities/<municipality_code>/regulations/<int:regulation_id>/{action.name}",
        methods=["POST"],
    )(view)


for _action in ACTIONS:
    _route_action(_action)


def _filters(args: dict[str, Any]) -> tuple[str | None, RegulationStatus | None]:
    region = args.get("region")
    if region is not None and not region_exists(request_session(), signed_in_principal(), region):
        abort(422, message=UNKNOWN_REGION, errors={"query": {"region": [UNKNOWN_REGION]}})
    status = args.get("status")
    return region, RegulationStatus(status) if status else None


@blueprint.route("/regulations", methods=["GET"])
@requires(Permission.NATIONAL_REGULATIONS_MANAGE)
@blueprint.paged_list(CurrentRegulationPageArgsSchema, CurrentRegulationSchema(many=True))
def current_regulations(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """The current regulation of every centre of every municipality: per centre, the submitted
    or acknowledged version with the latest effective date. Optionally one region's
    (``region``, NUTS 2) and one status; a page at a time (``cursor``, ``per_page``; the
    pages around in ``Link``)."""
    region, status = _filters(args)
    page = access_current_regulations_page(
        request_session(),
        signed_in_principal(),
        region=region,
        status=status,
        cursor=args.get("cursor"),
        per_page=args["per_page"],
    )
    return paged(page.items, page)


@blueprint.route("/regulations/bundle.zip", methods=["GET"])
@requires(Permission.NATIONAL_REGULATIONS_MANAGE)
@blueprint.arguments(CurrentRegulationQueryArgsSchema, location="query")
@blueprint.response(200, content_type="application/zip")
def bundle(args: dict[str, Any]) -> Response:
    """The current regulations (same filters as the list) as one zip: each PDF under its
    municipality's folder, and ``index.csv``."""
    region, status = _filters(args)
    return bundle_response(region, status)


def bundle_response(region: str | None, status: RegulationStatus | None) -> Response:
    regulations = access_current_regulations(
        request_session(), signed_in_principal(), region=region, status=status
    )
    target = tempfile.SpooledTemporaryFile(max_size=BUNDLE_MEMORY)  # noqa: SIM115 - send_file closes it
    write_bundle(
        current_app.extensions["kentra"].engine, signed_in_principal(), regulations, target
    )
    target.seek(0)
    name = f"regulations-{region or 'all'}-{local_today().isoformat()}.zip"
    return send_file(target, mimetype="application/zip", as_attachment=True, download_name=name)
