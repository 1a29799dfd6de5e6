"""Validation and serialisation of onboarding requests.

The signup form is filled in by municipal staff, so its messages are in Greek. Every field is
checked before anything is written: a request with any invalid field saves nothing.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from kentra.auth.flask import current_reader
from kentra.platform.api import Schema
from kentra.platform.api.fields import (
    INVALID_EMAIL,
    REQUIRED,
    MunicipalityCode,
    Phone,
    Text,
    Vat,
    length,
)
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.core import inputs
from kentra.platform.core.database import request_session
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.reference.api import NO_SUCH_MUNICIPALITY, access_municipality_by_code


class OnboardingRequestCreateSchema(Schema):
    """What a municipality's representative submits."""

    class Meta(Schema.Meta):
        model = OnboardingRequest

    municipality_code = MunicipalityCode(
        required=True,
        metadata={"description": "4-digit ELSTAT code, from /api/v1/reference/municipalities"},
    )
    body_type = Text(
        required=True,
        validate=validate.OneOf(
            [b.value for b in BodyType],
            error="Ο φορέας υλοποίησης είναι ένα από: {choices}.",
        ),
        metadata={
            "description": "the implementing body: the municipality itself, a municipal legal "
            "entity of public law (npdd), a municipal public-benefit enterprise, or another "
            "municipal body",
            "enum": [b.value for b in BodyType],
        },
    )
    body_legal_name = Text(required=True, validate=[length(2, 300), inputs.NAME])
    body_vat = Vat(
        required=True,
        metadata={"description": "ΑΦΜ of the body: 9 digits; an EL prefix and spaces are fine"},
    )
    contact_name = Text(required=True, validate=[length(2, 200), inputs.NAME])
    contact_email = ma.fields.Email(
        required=True,
        validate=length(3, 254),
        error_messages={**REQUIRED, "invalid": INVALID_EMAIL},
    )
    contact_phone = Phone(
        required=True, metadata={"description": "Greek or international; stored in E.164"}
    )
    has_social_service = ma.fields.Boolean(
        required=True,
        error_messages={**REQUIRED, "invalid": "Η τιμή πρέπει να είναι true ή false."},
        metadata={"description": "whether the municipality has a Social Service (supervision)"},
    )

    @ma.validates("municipality_code")
    def _municipality_exists(self, value: str, **_kwargs: Any) -> None:
        if access_municipality_by_code(request_session(), current_reader(), value) is None:
            raise ma.ValidationError(str(NO_SUCH_MUNICIPALITY))


class OnboardingRequestSchema(Schema):
    id = ma.fields.Integer()
    municipality_code = ma.fields.String()
    municipality_name_el = ma.fields.String(attribute="municipality.name_el")
    body_type = ma.fields.String()
    body_legal_name = ma.fields.String()
    body_vat = ma.fields.String()
    contact_name = ma.fields.String()
    contact_email = ma.fields.String()
    contact_phone = ma.fields.String()
    has_social_service = ma.fields.Boolean()
    status = ma.fields.String(metadata={"enum": [s.value for s in RequestStatus]})
    submitted_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    decided_by = ma.fields.String(
        allow_none=True, metadata={"description": "the token subject of the decider"}
    )
    decision_reason = ma.fields.String(allow_none=True)


class OnboardingRequestQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(
        validate=validate.OneOf([s.value for s in RequestStatus]),
        metadata={"description": "only requests in this status"},
    )


class OnboardingDecisionSchema(Schema):
    """An approval: the reason is optional."""

    reason = Text(validate=length(3, 1000), metadata=inputs.multiline())


class OnboardingRejectionSchema(OnboardingDecisionSchema):
    """A rejection: the reason is required (it is what the municipality is told)."""

    reason = Text(required=True, validate=length(3, 1000), metadata=inputs.multiline())
