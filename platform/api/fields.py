"""Marshmallow fields and messages the modules' schemas share (moved from onboarding's schemas,
ADR 0043, so that no module imports another's schemas for them): trimmed text, a text's length,
a municipality's code, the Greek VAT number and social security number, a telephone number, and
the Greek messages of a required field and a bad e-mail."""

from __future__ import annotations

from typing import Any, ClassVar

import marshmallow as ma
import phonenumbers
from marshmallow import validate
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.gr import amka, vat

REQUIRED = {
    "required": "Το πεδίο είναι υποχρεωτικό.",
    "null": "Το πεδίο δεν μπορεί να είναι κενό.",
}
TEXT = {**REQUIRED, "invalid": "Το πεδίο πρέπει να είναι κείμενο."}
INVALID_VAT = "Ο ΑΦΜ δεν είναι έγκυρος."
INVALID_AMKA = "Ο ΑΜΚΑ δεν είναι έγκυρος: 11 ψηφία, τα 6 πρώτα η ημερομηνία γέννησης (ΗΗΜΜΕΕ)."
INVALID_PHONE = "Ο αριθμός τηλεφώνου δεν είναι έγκυρος."
INVALID_EMAIL = "Η διεύθυνση ηλεκτρονικού ταχυδρομείου δεν είναι έγκυρη."
INVALID_MUNICIPALITY_CODE = "Ο κωδικός Δήμου είναι τετραψήφιος (ΕΛΣΤΑΤ), π.χ. 4501."


def length(low: int, high: int) -> validate.Length:
    """A text of ``low`` to ``high`` characters, with the Greek message the forms show."""
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


class MunicipalityCode(Text):
    """A municipality's 4-digit ELSTAT code, as typed: its shape only (whether the municipality
    exists is the schema's or the operation's to check). The pattern is in the API document
    through the validator."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            validate=validate.Regexp(r"^[0-9]{4}$", error=INVALID_MUNICIPALITY_CODE), **kwargs
        )


def _documented(kwargs: dict[str, Any], **rules: Any) -> dict[str, Any]:
    """``kwargs`` with the field's rules in its metadata, for the API document (a field's own
    metadata wins)."""
    return {**kwargs, "metadata": {**rules, **kwargs.get("metadata", {})}}


class _CheckedNumber(Text):
    """A number python-stdnum checks (``checker.validate`` answers it without separators or
    refuses it), documented by ``rules`` (pattern, description, example); ``invalid`` is
    the refusal's message."""

    checker: ClassVar[Any]
    invalid: ClassVar[str]
    rules: ClassVar[dict[str, str]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_documented(kwargs, **self.rules))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            number: str = self.checker.validate(raw)
        except StdnumValidationError as exc:
            raise ma.ValidationError(self.invalid) from exc
        return number


class Vat(_CheckedNumber):
    """A Greek VAT number (ΑΦΜ): "EL"/"GR" prefix, spaces and dots are accepted; the nine
    digits are kept."""

    checker: ClassVar[Any] = vat
    invalid: ClassVar[str] = INVALID_VAT
    rules: ClassVar[dict[str, str]] = {
        "pattern": r"^[0-9]{9}$",
        "description": "ΑΦΜ: 9 digits with a valid check digit (an EL or GR prefix, spaces and "
        "dots are accepted and removed)",
        "example": "094014201",
    }


class Amka(_CheckedNumber):
    """A Greek social security number (ΑΜΚΑ): eleven digits, the first six the date of birth
    (DDMMYY) and the last a Luhn check digit; spaces and dashes are accepted. Whether it agrees
    with a person's date of birth is the person's module's to check."""

    checker: ClassVar[Any] = amka
    invalid: ClassVar[str] = INVALID_AMKA
    rules: ClassVar[dict[str, str]] = {
        "pattern": r"^[0-9]{11}$",
        "description": "ΑΜΚΑ: 11 digits, the first six a date (DDMMYY), a valid check digit "
        "(spaces and dashes are accepted and removed)",
        "example": "15038501233",
    }


def e164(raw: str) -> str | None:
    """``raw`` as a telephone number in E.164 (+302101234567), read as Greek unless it says
    otherwise; None unless it exists in its numbering plan."""
    try:
        number = phonenumbers.parse(raw, "GR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
        number = e164(super()._deserialize(value, attr, data, **kwargs))
        if number is None:
            raise ma.ValidationError(INVALID_PHONE)
        return number
