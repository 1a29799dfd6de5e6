"""Validation and serialisation of onboarding requests.

The signup form is filled in by municipal staff, so its messages are in Greek. Every field is
checked before anything is written: a request with any invalid field saves nothing.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import phonenumbers
from marshmallow import validate
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.gr import vat

from kentra.auth.flask import current_reader
from kentra.platform.api import Schema
from kentra.platform.core import inputs
from kentra.platform.core.database import request_session
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.onboarding.operations import UNKNOWN_MUNICIPALITY
from kentra.platform.reference.access import access_municipality_by_code

REQUIRED = {
    "required": "Το πεδίο είναι υποχρεωτικό.",
    "null": "Το πεδίο δεν μπορεί να είναι κενό.",
}
TEXT = {**REQUIRED, "invalid": "Το πεδίο πρέπει να είναι κείμενο."}
INVALID_VAT = "Ο ΑΦΜ δεν είναι έγκυρος."
INVALID_PHONE = "Ο αριθμός τηλεφώνου δεν είναι έγκυρος."
INVALID_EMAIL = "Η διεύθυνση ηλεκτρονικού ταχυδρομείου δεν είναι έγκυρη."
INVALID_CODE = "Ο κωδικός Δήμου είναι τετραψήφιος (ΕΛΣΤΑΤ), π.χ. 4501."


def _length(low: int, high: int) -> validate.Length:
    return validate.Length(
        min=low, max=high, error=f"Το κείμενο πρέπει να έχει από {low} έως {high} χαρακτήρες."
    )


class Text(ma.fields.String):
    """A string with surrounding whitespace removed before it is validated."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", TEXT)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


def _documented(kwargs: dict[str, Any], **rules: Any) -> dict[str, Any]:
    """``kwargs`` with the field's rules in its metadata, for the API document (a field's own
    metadata wins)."""
    return {**kwargs, "metadata": {**rules, **kwargs.get("metadata", {})}}


class Vat(Text):
    """A Greek VAT number (ΑΦΜ): "EL"/"GR" prefix, spaces and dots are accepted; the nine
    digits are kept."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            **_documented(
                kwargs,
                pattern=r"^[0-9]{9}$",
                description="ΑΦΜ: 9 digits with a valid check digit (an EL or GR prefix, "
                "spaces and dots are accepted and removed)",
                example="094014201",
            )
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            number: str = vat.validate(raw)
        except StdnumValidationError as exc:
            raise ma.ValidationError(INVALID_VAT) from exc
        return number


class Phone(Text):
    """A telephone number, national (Greek) or international; kept in E.164 (+302101234567)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            **_documented(
                kwargs,
                pattern=r"^\+?[0-9]{7,15}$",
                description="a telephone number that exists in its numbering plan, Greek "
                "(2101234567) or international (+33…), spaces, dots, dashes and brackets "
                "accepted and removed; answered in E.164",
                example="+302101234567",
            )
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            number = phonenumbers.parse(raw, "GR")
        except phonenumbers.NumberParseException as exc:
            raise ma.ValidationError(INVALID_PHONE) from exc
        if not phonenumbers.is_valid_number(number):
            raise ma.ValidationError(INVALID_PHONE)
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class OnboardingRequestCreateSchema(Schema):
    """What a municipality's representative submits."""

    class Meta(Schema.Meta):
        model = OnboardingRequest

    municipality_code = Text(
        required=True,
        validate=validate.Regexp(r"^[0-9]{4}$", error=INVALID_CODE),
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
    body_legal_name = Text(required=True, validate=[_length(2, 300), inputs.NAME])
    body_vat = Vat(
        required=True,
        metadata={"description": "ΑΦΜ of the body: 9 digits; an EL prefix and spaces are fine"},
    )
    contact_name = Text(required=True, validate=[_length(2, 200), inputs.NAME])
    contact_email = ma.fields.Email(
        required=True,
        validate=_length(3, 254),
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
            raise ma.ValidationError(str(UNKNOWN_MUNICIPALITY))


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


class OnboardingRequestQueryArgsSchema(Schema):
    status = ma.fields.String(
        validate=validate.OneOf([s.value for s in RequestStatus]),
        metadata={"description": "only requests in this status"},
    )


class OnboardingDecisionSchema(Schema):
    """An approval: the reason is optional."""

    reason = Text(validate=_length(3, 1000), metadata=inputs.multiline())


class OnboardingRejectionSchema(OnboardingDecisionSchema):
    """A rejection: the reason is required (it is what the municipality is told)."""

    reason = Text(required=True, validate=_length(3, 1000), metadata=inputs.multiline())
