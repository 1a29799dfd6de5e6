"""Validation and serialisation of policy versions (the ministry's staffing policy)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.api.schemas import FanOutProgressFields
from kentra.platform.core import inputs
from kentra.platform.policy.models import (
    PolicyVersion,
    ProfessionalProfile,
    ServiceArea,
    StaffingBand,
)
from kentra.platform.policy.recompute import JobStatus

Messages = dict[str, str | list[Any] | dict[Any, Any]]
REQUIRED: Messages = {
    "required": "Το πεδίο είναι υποχρεωτικό. This field is required.",
    "null": "Το πεδίο δεν μπορεί να είναι κενό. This field cannot be empty.",
}
WHOLE_NUMBER: Messages = {
    **REQUIRED,
    "invalid": "Δώστε ακέραιο αριθμό. Enter a whole number.",
}
NOT_NEGATIVE = validate.Range(min=0, error="Δώστε αριθμό 0 ή μεγαλύτερο. Enter 0 or more.")
SERVICE_AREAS = [area.value for area in ServiceArea]
SERVICE_AREA_DESCRIPTION = (
    "where the municipalities a mobile unit serves must lie, relative to its centre's "
    "municipality: the same regional unit, the same region (the programme's rule) or anywhere; "
    "beyond it only with a ministry exception"
)
PROFILE_CODE = validate.Regexp(
    r"^[a-z][a-z0-9_]{1,63}$",
    error=(
        "Ο κωδικός έχει λατινικά πεζά, ψηφία και _, π.χ. social_worker. "
        "The code has lower-case Latin letters, digits and _, e.g. social_worker."
    ),
)


def _text(low: int, high: int, *, name: bool = False, multiline: bool = False) -> dict[str, Any]:
    length = validate.Length(
        min=low,
        max=high,
        error=f"Από {low} έως {high} χαρακτήρες. From {low} to {high} characters.",
    )
    return {
        "required": True,
        "error_messages": {**REQUIRED, "invalid": "Δώστε κείμενο. Enter text."},
        "validate": [length, inputs.NAME] if name else length,
        "metadata": inputs.multiline() if multiline else {},
    }


class StaffingBandSchema(Schema):
    class Meta(Schema.Meta):
        model = StaffingBand  # INTEGER columns: populations within 32 bits

    min_population = ma.fields.Integer(
        required=True, validate=NOT_NEGATIVE, error_messages=WHOLE_NUMBER
    )
    max_population = ma.fields.Integer(
        required=True,
        allow_none=True,
        validate=NOT_NEGATIVE,
        error_messages=WHOLE_NUMBER,
        metadata={"description": "null: open-ended (the last band)"},
    )
    minimum_staff = ma.fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=100, error="Από 0 έως 100 άτομα. From 0 to 100 people."),
        error_messages=WHOLE_NUMBER,
        metadata={"description": "0: no centre of its own"},
    )


class ProfessionalProfileSchema(Schema):
    class Meta(Schema.Meta):
        model = ProfessionalProfile

    code = ma.fields.String(required=True, validate=PROFILE_CODE, error_messages=REQUIRED)
    name_el = ma.fields.String(**_text(2, 200, name=True))
    name_en = ma.fields.String(**_text(2, 200, name=True))
    mandatory = ma.fields.Boolean(load_default=False)


class PolicyVersionCreateSchema(Schema):
    class Meta(Schema.Meta):
        model = PolicyVersion

    valid_from = ma.fields.Date(
        required=True,
        error_messages={
            **REQUIRED,
            "invalid": "Δώστε ημερομηνία (ΕΕΕΕ-ΜΜ-ΗΗ). Enter a date (YYYY-MM-DD).",
        },
    )
    note = ma.fields.String(**_text(3, 2000, multiline=True))
    head_profile_code = ma.fields.String(
        required=True, validate=PROFILE_CODE, error_messages=REQUIRED
    )
    bands = ma.fields.List(
        ma.fields.Nested(StaffingBandSchema),
        required=True,
        validate=validate.Length(min=1, max=20, error="Από 1 έως 20 ζώνες. From 1 to 20 bands."),
        error_messages=REQUIRED,
    )
    mobile_unit_area = ma.fields.String(
        validate=validate.OneOf(
            SERVICE_AREAS,
            error="Μία από τις τιμές: {choices}. One of: {choices}.",
        ),
        metadata={
            "description": f"{SERVICE_AREA_DESCRIPTION}; left out: the previous version's",
            "enum": SERVICE_AREAS,
        },
    )
    profiles = ma.fields.List(
        ma.fields.Nested(ProfessionalProfileSchema),
        required=True,
        validate=validate.Length(
            min=1, max=30, error="Από 1 έως 30 ειδικότητες. From 1 to 30 profiles."
        ),
        error_messages=REQUIRED,
    )


class StaffingBandOutSchema(Schema):
    min_population = ma.fields.Integer()
    max_population = ma.fields.Integer(allow_none=True)
    minimum_staff = ma.fields.Integer()


class ProfessionalProfileOutSchema(Schema):
    code = ma.fields.String()
    name_el = ma.fields.String()
    name_en = ma.fields.String()
    mandatory = ma.fields.Boolean()


class PolicyVersionSchema(Schema):
    id = ma.fields.Integer()
    valid_from = ma.fields.Date()
    note = ma.fields.String()
    head_profile_code = ma.fields.String()
    mobile_unit_area = ma.fields.String(
        metadata={"description": SERVICE_AREA_DESCRIPTION, "enum": SERVICE_AREAS}
    )
    created_at = ma.fields.DateTime()
    in_force = ma.fields.Boolean(metadata={"description": "the version applied today"})
    bands = ma.fields.List(ma.fields.Nested(StaffingBandOutSchema))
    profiles = ma.fields.List(ma.fields.Nested(ProfessionalProfileOutSchema))


class RecomputeJobSchema(FanOutProgressFields):
    id = ma.fields.Integer()
    policy_version_id = ma.fields.Integer(allow_none=True)
    status = ma.fields.Enum(JobStatus, by_value=True)
    error = ma.fields.String(allow_none=True)


class PolicyVersionCreatedSchema(PolicyVersionSchema):
    recompute_job = ma.fields.Nested(RecomputeJobSchema)


class PolicyVersionPageArgsSchema(PageArgsSchema):
    """A page of the policy's history (``cursor``, ``per_page``)."""
