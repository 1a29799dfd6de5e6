"""Validation and serialisation of operating regulations.

The upload is a multipart form (``centre_id``, ``effective_date``, ``change_summary``) with the
PDF in ``file``; the file itself is checked by :func:`kentra.platform.regulations.operations.
check_pdf` (its bytes, not its declared type). Messages are Greek: municipal staff read them.
"""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.fields import REQUIRED, Text
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import MunicipalityRegionFields
from kentra.platform.core import inputs
from kentra.platform.regulations.access import CURRENT_STATUSES
from kentra.platform.regulations.models import RegulationKind, RegulationStatus, RegulationVersion
from kentra.platform.regulations.operations import COMMENT_MAX, COMMENT_MIN, SUMMARY_MAX

INVALID_DATE = "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ, π.χ. 2025-01-31)."
INVALID_CENTRE = "Επιλέξτε ένα Κέντρο του Δήμου."
INVALID_REGION = "Ο κωδικός Περιφέρειας είναι NUTS 2, π.χ. EL30."


class RegulationUploadSchema(Schema):
    """The form fields of an upload (the file is the ``file`` part)."""

    class Meta(Schema.Meta):
        model = RegulationVersion

    centre_id = ma.fields.Integer(
        required=True,
        strict=False,
        error_messages={**REQUIRED, "invalid": INVALID_CENTRE},
        metadata={"description": "the centre (a unit of kind centre, open)"},
    )
    effective_date = ma.fields.Date(
        required=True,
        error_messages={**REQUIRED, "invalid": INVALID_DATE},
        metadata={"description": "the date the version takes effect"},
    )
    change_summary = Text(
        load_default=None,
        validate=validate.Length(
            max=SUMMARY_MAX, error=f"Η περίληψη έχει έως {SUMMARY_MAX} χαρακτήρες."
        ),
        metadata=inputs.multiline(
            description="what changed: required for amendments (every later version)"
        ),
    )
    # Documented here, read from ``request.files`` by the view (webargs' "form" location holds
    # the text fields only): the PDF, at most KENTRA_MAX_UPLOAD_BYTES (10 MiB by default).
    file = Upload(
        load_default=None,
        metadata={"description": "the PDF (required; at most KENTRA_MAX_UPLOAD_BYTES bytes)"},
    )


class RegulationReturnSchema(Schema):
    comment = Text(
        required=True,
        validate=validate.Length(
            min=COMMENT_MIN,
            max=COMMENT_MAX,
            error=f"Τα σχόλια έχουν από {COMMENT_MIN} έως {COMMENT_MAX} χαρακτήρες.",
        ),
        metadata=inputs.multiline(description="what the municipality must change (told to it)"),
    )


class VersionFields(Schema):
    """What a version shows in the tenant's list and in the ministry's list of current
    regulations alike: its centre, kind, effective date, summary and status, its PDF, and the
    ministry's decision on it."""

    centre_id = ma.fields.Integer()
    centre_name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": [k.value for k in RegulationKind]})
    effective_date = ma.fields.Date()
    change_summary = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in RegulationStatus]})
    filename = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    decided_at = ma.fields.DateTime(allow_none=True)
    ministry_comment = ma.fields.String(allow_none=True)


class RegulationSchema(VersionFields):
    id = ma.fields.Integer()
    uploaded_by_name = ma.fields.String(
        allow_none=True, metadata={"description": "who uploaded it, by name"}
    )
    uploaded_by = ma.fields.String(metadata={"description": "token subject of the uploader"})
    uploaded_at = ma.fields.DateTime()
    approved_by = ma.fields.String(allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)
    submitted_by = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(metadata={"description": "the ETag's value"})


class CurrentRegulationSchema(VersionFields, MunicipalityRegionFields):
    """A municipality's current regulation: its municipality and region, then the version's
    fields (its status one of the current ones, in the same place)."""

    status = ma.fields.String(metadata={"enum": [s.value for s in CURRENT_STATUSES]})
    regulation_id = ma.fields.Integer()
    submitted_at = ma.fields.DateTime()


class CurrentRegulationQueryArgsSchema(Schema):
    region = Text(
        validate=validate.Regexp(r"^EL[0-9]{2}$", error=INVALID_REGION),
        metadata={"description": "only municipalities of this region (NUTS 2, e.g. EL30)"},
    )
    status = Text(
        validate=validate.OneOf(
            [s.value for s in CURRENT_STATUSES],
            error="Η κατάσταση είναι μία από: {choices}.",
        ),
        metadata={"description": "only current regulations in this status"},
    )


class CurrentRegulationPageArgsSchema(CurrentRegulationQueryArgsSchema, PageArgsSchema):
    """The list's filters and a page of it (``cursor``, ``per_page``)."""


class RegulationPageArgsSchema(PageArgsSchema):
    """A page of the tenant's versions (``cursor``, ``per_page``)."""
