"""Validation and serialisation of operating regulations.

The upload is a multipart form (``centre_id``, ``effective_date``, ``change_summary``) with the
PDF in ``file``; the file itself is checked by :func:`kentra.platform.regulations.operations.
check_pdf` (its bytes, not its declared type). Messages are Greek: municipal staff read them.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.core import inputs
from kentra.platform.regulations.access import CURRENT_STATUSES
from kentra.platform.regulations.models import RegulationKind, RegulationStatus, RegulationVersion
from kentra.platform.regulations.operations import COMMENT_MAX, COMMENT_MIN, SUMMARY_MAX

REQUIRED = {
    "required": "Το πεδίο είναι υποχρεωτικό.",
    "null": "Το πεδίο δεν μπορεί να είναι κενό.",
}
INVALID_DATE = "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ, π.χ. 2025-01-31)."
INVALID_CENTRE = "Επιλέξτε ένα Κέντρο του Δήμου."
INVALID_REGION = "Ο κωδικός Περιφέρειας είναι NUTS 2, π.χ. EL30."


class Text(ma.fields.String):
    """A string with surrounding whitespace removed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages", {**REQUIRED, "invalid": "Το πεδίο πρέπει να είναι κείμενο."}
        )
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


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


class RegulationSchema(Schema):
    id = ma.fields.Integer()
    centre_id = ma.fields.Integer()
    centre_name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": [k.value for k in RegulationKind]})
    effective_date = ma.fields.Date()
    change_summary = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in RegulationStatus]})
    uploaded_by_name = ma.fields.String(
        allow_none=True, metadata={"description": "who uploaded it, by name"}
    )
    filename = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    uploaded_by = ma.fields.String(metadata={"description": "token subject of the uploader"})
    uploaded_at = ma.fields.DateTime()
    approved_by = ma.fields.String(allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)
    submitted_by = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.String(allow_none=True)
    decided_at = ma.fields.DateTime(allow_none=True)
    ministry_comment = ma.fields.String(allow_none=True)
    version = ma.fields.Integer(metadata={"description": "the ETag's value"})


class CurrentRegulationSchema(Schema):
    municipality_code = ma.fields.String()
    municipality_name = ma.fields.String()
    region_code = ma.fields.String()
    region_name = ma.fields.String()
    regulation_id = ma.fields.Integer()
    centre_id = ma.fields.Integer()
    centre_name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": [k.value for k in RegulationKind]})
    effective_date = ma.fields.Date()
    change_summary = ma.fields.String()
    status = ma.fields.String(metadata={"enum": [s.value for s in CURRENT_STATUSES]})
    filename = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    ministry_comment = ma.fields.String(allow_none=True)


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
