"""Validation and serialisation of units.

The forms are filled in by municipal staff, so messages are in Greek. Every field is checked
before anything is written: a request with any invalid field saves nothing.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from kentra.platform.api import Schema
from kentra.platform.api.fields import REQUIRED, MunicipalityCode, Text, Vat, length
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.core import inputs
from kentra.platform.onboarding.api import BodyType
from kentra.platform.units.models import PREMISES_ITEMS, AnnexReason, FocusGroup, Unit, UnitKind

INVALID_POSTAL_CODE = (
    "Ο ταχυδρομικός κώδικας έχει 5 ψηφία, από 10000 έως 85999 (π.χ. 10431). "
    "A postal code has 5 digits, from 10000 to 85999."
)
INVALID_DATE = "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ). The date is not valid (YYYY-MM-DD)."
INVALID_BOOLEAN = "Η τιμή πρέπει να είναι true ή false. The value must be true or false."
DATE_MESSAGES: dict[str, Any] = {**REQUIRED, "invalid": INVALID_DATE}
REQUIRED_MESSAGES: dict[str, Any] = dict(REQUIRED)


def _one_of(values: list[str], what: str) -> validate.OneOf:
    return validate.OneOf(values, error=f"{what} είναι ένα από: {{choices}}.")


class PostalCode(Text):
    """A Greek postal code (ΤΚ): five digits, 10xxx to 85xxx; a space inside is accepted."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {
            "pattern": "^(1[0-9]|[2-7][0-9]|8[0-5])[0-9]{3}$",
            "description": "5 digits, 10000 to 85999 (a space inside is accepted and removed)",
            "example": "10431",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs).replace(" ", "")
        if not (len(raw) == 5 and raw.isascii() and raw.isdigit() and 10 <= int(raw[:2]) <= 85):
            raise ma.ValidationError(INVALID_POSTAL_CODE)
        return raw


def _date(**kwargs: Any) -> ma.fields.Date:
    return ma.fields.Date(error_messages=DATE_MESSAGES, **kwargs)


def _premises(required: bool) -> dict[str, ma.fields.Boolean]:
    extra: dict[str, Any] = {"load_default": False} if required else {}
    return {
        item: ma.fields.Boolean(
            error_messages={**REQUIRED, "invalid": INVALID_BOOLEAN},
            metadata={"description": "premises checklist item (domain.md §7)"},
            **extra,
        )
        for item in PREMISES_ITEMS
    }


FOCUS_GROUPS = [g.value for g in FocusGroup]
BODY_TYPES = [b.value for b in BodyType]
ANNEX_REASONS = [r.value for r in AnnexReason]


def _centre_fields(*, create: bool) -> dict[str, Any]:
    """The centre's fields; on creation the body's may be left out (the onboarding's)."""
    focus_groups = ma.fields.List(
        Text(validate=_one_of(FOCUS_GROUPS, "Η ομάδα εστίασης")),
        metadata={"description": "groups the centre focuses on", "enum": FOCUS_GROUPS},
    )
    if create:
        focus_groups.load_default = list
    return {
        "name": Text(required=create, validate=[length(2, 200), inputs.NAME]),
        "street_address": Text(required=create, validate=length(3, 300)),
        "postal_code": PostalCode(required=create),
        "opening_date": _date(required=create),
        "focus_groups": focus_groups,
        "body_type": Text(
            validate=_one_of(BODY_TYPES, "Ο φορέας υλοποίησης"),
            metadata={
                "description": "default: the approved onboarding request's",
                "enum": BODY_TYPES,
            },
        ),
        "body_legal_name": Text(validate=[length(2, 300), inputs.NAME]),
        "body_vat": Vat(metadata={"description": "ΑΦΜ, 9 digits (validated)"}),
        **_premises(create),
    }


class UnitInputSchema(Schema):
    """The base of the units' input schemas: their fields are stored in ``units``."""

    class Meta(Schema.Meta):
        model = Unit


CentreCreateSchema = UnitInputSchema.from_dict(
    _centre_fields(create=True), name="CentreCreateSchema"
)
CentreCreateSchema.__doc__ = "A centre: details, implementing body, premises checklist."


class AnnexCreateSchema(UnitInputSchema):
    """An annex of a centre (domain.md §9)."""

    name = Text(required=True, validate=[length(2, 200), inputs.NAME])
    annex_reason = Text(
        required=True,
        validate=_one_of(ANNEX_REASONS, "Ο λόγος του Παραρτήματος"),
        metadata={"enum": ANNEX_REASONS},
    )
    street_address = Text(required=True, validate=length(3, 300))
    postal_code = PostalCode(required=True)
    opening_date = _date()


class MobileUnitCreateSchema(UnitInputSchema):
    """A mobile unit of a centre and the municipalities it serves (domain.md §9, rule 4)."""

    name = Text(required=True, validate=[length(2, 200), inputs.NAME])
    served_municipalities = ma.fields.List(
        MunicipalityCode(),
        required=True,
        validate=validate.Length(min=1, error="Επιλέξτε τουλάχιστον έναν Δήμο."),
        error_messages=REQUIRED_MESSAGES,
        metadata={"description": "ELSTAT codes of municipalities without a centre of their own"},
    )
    opening_date = _date()


UnitUpdateSchema = UnitInputSchema.from_dict(
    {
        **_centre_fields(create=False),
        "annex_reason": Text(
            validate=_one_of(ANNEX_REASONS, "Ο λόγος του Παραρτήματος"),
            metadata={"enum": ANNEX_REASONS},
        ),
        "served_municipalities": ma.fields.List(
            MunicipalityCode(),
            validate=validate.Length(min=1, error="Επιλέξτε τουλάχιστον έναν Δήμο."),
        ),
    },
    name="UnitUpdateSchema",
)
UnitUpdateSchema.__doc__ = "Fields to change; each must apply to the unit's kind (422 otherwise)."


class UnitCloseSchema(UnitInputSchema):
    closed_on = _date(required=True, metadata={"description": "the last day of operation"})


class ServedMunicipalitySchema(Schema):
    code = ma.fields.String()
    name_el = ma.fields.String()


# A unit as answered; the premises checklist is one flag per item of PREMISES_ITEMS, in the
# table's order (built from a dict, like the input schemas above, to keep the fields' order).
UnitSchema = Schema.from_dict(
    {
        "id": ma.fields.Integer(),
        "kind": ma.fields.String(metadata={"enum": [k.value for k in UnitKind]}),
        "name": ma.fields.String(),
        "path": ma.fields.String(metadata={"description": "the identity group path of the unit"}),
        "centre_id": ma.fields.Integer(
            allow_none=True,
            metadata={"description": "the reference centre (annexes, mobile units)"},
        ),
        "closed_on": ma.fields.Date(allow_none=True),
        "opening_date": ma.fields.Date(allow_none=True),
        "street_address": ma.fields.String(allow_none=True),
        "postal_code": ma.fields.String(allow_none=True),
        "focus_groups": ma.fields.List(ma.fields.String()),
        "body_type": ma.fields.String(allow_none=True),
        "body_legal_name": ma.fields.String(allow_none=True),
        "body_vat": ma.fields.String(allow_none=True),
        "annex_reason": ma.fields.String(allow_none=True),
        **{item: ma.fields.Boolean() for item in PREMISES_ITEMS},
        # The item that counts for compliance (the others are advisory): described, in its place.
        "premises_accessible": ma.fields.Boolean(
            metadata={"description": "every space accessible: mandatory for compliance"}
        ),
        "served_municipalities": ma.fields.List(ma.fields.Nested(ServedMunicipalitySchema)),
        "version": ma.fields.Integer(metadata={"description": "also the ETag"}),
    },
    name="UnitSchema",
)


class UnitListArgsSchema(PageArgsSchema):
    """A page of the unit tree (``cursor``, ``per_page``): each centre, then its annexes and
    mobile units by their path segment; the order is fixed (unique: the unit's id last)."""
