"""Validation and serialisation of the staff roster.

The roster is kept by municipal staff, so field messages are in Greek. The shape of each field
is checked here, all fields together; what needs the database (the unit, the profile of the
policy in force, a second head) is checked by the operations. A member with any invalid field
saves nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma

from kentra.platform.api import Schema
from kentra.platform.api.fields import INVALID_EMAIL, REQUIRED, Text, length
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.core import inputs
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import EDITABLE_FIELDS

INVALID_DATE = "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ)."
INVALID_FTE = (
    "Το ποσοστό απασχόλησης (FTE) είναι αριθμός μεγαλύτερος του 0 και έως 1, "
    "με έως δύο δεκαδικά, π.χ. 0,5."
)
INVALID_UNIT = "Επιλέξτε μία από τις μονάδες του Δήμου."
INVALID_BOOLEAN = "Η τιμή πρέπει να είναι true ή false."
END_BEFORE_START = "Η ημερομηνία λήξης δεν μπορεί να είναι πριν από την ημερομηνία έναρξης."
NO_CHANGE = "Δεν δόθηκε καμία αλλαγή."
HUNDREDTH = Decimal("0.01")
# The form's fields: those a change may set (the operations' list).
FIELDS = EDITABLE_FIELDS


class Fte(ma.fields.Decimal):
    """A full-time equivalent: 0 < FTE ≤ 1, at most two decimals ("0.5", 0.75, "1")."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "error_messages", {**REQUIRED, "invalid": INVALID_FTE, "special": INVALID_FTE}
        )
        kwargs["metadata"] = {
            "exclusiveMinimum": 0,
            "maximum": 1,
            "multipleOf": 0.01,
            "example": 0.5,
            **kwargs.get("metadata", {}),
        }
        super().__init__(as_string=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool):
            raise ma.ValidationError(INVALID_FTE)
        if isinstance(value, float):  # a JSON number: read it as written, not as binary
            value = repr(value)
        number = super()._deserialize(value, attr, data, **kwargs)
        assert isinstance(number, Decimal)
        if not Decimal(0) < number <= Decimal(1) or number != number.quantize(HUNDREDTH):
            raise ma.ValidationError(INVALID_FTE)
        return number.quantize(HUNDREDTH)


def _date(**kwargs: Any) -> ma.fields.Date:
    return ma.fields.Date(
        error_messages={**REQUIRED, "invalid": INVALID_DATE, "format": INVALID_DATE}, **kwargs
    )


class StaffMemberCreateSchema(Schema):
    """A new member of the roster."""

    class Meta(Schema.Meta):
        model = StaffMember

    full_name = Text(required=True, validate=[length(2, 200), inputs.NAME])
    email = ma.fields.Email(
        required=True,
        validate=length(3, 254),
        error_messages={**REQUIRED, "invalid": INVALID_EMAIL},
        metadata={"description": "becomes the username when the member is invited"},
    )
    unit_id = ma.fields.Integer(
        required=True,
        strict=True,
        error_messages={**REQUIRED, "invalid": INVALID_UNIT},
        metadata={"description": "an open centre, annex or mobile unit of the municipality"},
    )
    profile_code = Text(
        required=True,
        validate=length(1, 64),
        metadata={"description": "a professional profile of the staffing policy in force"},
    )
    start_date = _date(required=True)
    end_date = _date(allow_none=True, metadata={"description": "the contract's last day"})
    fte = Fte(required=True, metadata={"description": "0 < FTE ≤ 1, two decimals"})
    is_head = ma.fields.Boolean(
        load_default=False,
        error_messages={**REQUIRED, "invalid": INVALID_BOOLEAN},
        metadata={"description": "head of centre (members of a centre only; one at a time)"},
    )

    @ma.validates_schema(skip_on_field_errors=False)
    def _ends_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        check_dates(data.get("start_date"), data.get("end_date"))


class StaffMemberUpdateSchema(StaffMemberCreateSchema):
    """A change: any of the fields, at least one. Ending a contract is setting ``end_date``."""

    full_name = Text(validate=[length(2, 200), inputs.NAME])
    email = ma.fields.Email(
        validate=length(3, 254), error_messages={**REQUIRED, "invalid": INVALID_EMAIL}
    )
    unit_id = ma.fields.Integer(strict=True, error_messages={**REQUIRED, "invalid": INVALID_UNIT})
    profile_code = Text(validate=length(1, 64))
    start_date = _date()
    fte = Fte()
    is_head = ma.fields.Boolean(error_messages={**REQUIRED, "invalid": INVALID_BOOLEAN})

    @ma.validates_schema
    def _something_changes(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(NO_CHANGE)


def check_dates(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ma.ValidationError(END_BEFORE_START, field_name="end_date")


class StaffMemberSchema(Schema):
    id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    full_name = ma.fields.String()
    email = ma.fields.String()
    profile_code = ma.fields.String()
    start_date = ma.fields.Date()
    end_date = ma.fields.Date(allow_none=True)
    # A number in the answer (as in the request), at most two decimals: 0.5, 1.0.
    fte = ma.fields.Float(
        metadata={
            "description": "0 < FTE ≤ 1, two decimals, e.g. 0.5",
            "exclusiveMinimum": 0,
            "maximum": 1,
        }
    )
    is_head = ma.fields.Boolean()
    current = ma.fields.Boolean(
        metadata={"description": "whether the contract runs today (started, not ended)"}
    )
    identity_user_id = ma.fields.String(
        allow_none=True, metadata={"description": "the identity user, once invited"}
    )
    invited_at = ma.fields.DateTime(allow_none=True)
    version = ma.fields.Integer(metadata={"description": "also sent as the ETag"})


class StaffQueryArgsSchema(PageArgsSchema):
    unit_id = ma.fields.Integer(
        strict=False,
        error_messages={"invalid": INVALID_UNIT},
        metadata={"description": "only members of this unit"},
    )
    current = ma.fields.Boolean(
        error_messages={"invalid": INVALID_BOOLEAN},
        metadata={"description": "true: contracts running today; false: ended or not started"},
    )
