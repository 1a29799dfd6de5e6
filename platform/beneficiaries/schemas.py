"""Validation and serialisation of the Beneficiaries Registry.

Each field's shape is checked here, every field at once, with a message naming it: an invalid
ΑΜΚΑ or telephone number refuses the registration and keeps the rest of what was typed. What
needs the database or several fields (the unit, the ΑΜΚΑ against the date of birth, an
identifier already registered) is the operations'.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from babel import Locale

from kentra.platform.api import Schema
from kentra.platform.api.fields import (
    INVALID_EMAIL,
    REQUIRED,
    Amka,
    MunicipalityCode,
    Phone,
    Text,
    Vat,
    length,
)
from kentra.platform.api.paging import PageArgsSchema
from kentra.platform.beneficiaries.models import Beneficiary, DocumentType, Sex
from kentra.platform.beneficiaries.operations import FIELDS
from kentra.platform.core import inputs

INVALID_DATE = "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ)."
INVALID_UNIT = "Επιλέξτε μία από τις μονάδες όπου εργάζεστε."
INVALID_YEAR = "Το έτος γέννησης είναι τετραψήφιος αριθμός από 1900 έως 2100."
INVALID_CHOICE = "Επιλέξτε μία από τις τιμές της λίστας."
INVALID_COUNTRY = "Η υπηκοότητα είναι κωδικός χώρας δύο γραμμάτων (ISO 3166), π.χ. GR."
INVALID_LATIN = "Το όνομα με λατινικούς χαρακτήρες έχει μόνο γράμματα A-Z, κενά, - και '."
INVALID_DOCUMENT = "Ο αριθμός εγγράφου έχει μόνο λατινικά γράμματα και ψηφία (έως 32)."
NO_CHANGE = "Δεν δόθηκε καμία αλλαγή."
# ISO 3166-1 alpha-2, as Babel's CLDR data names the territories (two letters; regions are digits).
COUNTRIES = sorted(
    code for code in map(str, Locale("en").territories) if len(code) == 2 and code.isalpha()
)


def _latin_name(**kwargs: Any) -> Text:
    return Text(
        validate=[
            length(1, 100),
            ma.validate.Regexp(r"^[A-Za-z][A-Za-z '\-]*$", error=INVALID_LATIN),
        ],
        metadata={"description": "ELOT 743 of the Greek name when not given"},
        **kwargs,
    )


def _choice(enum_class: type[Any], **kwargs: Any) -> ma.fields.String:
    values = [member.value for member in enum_class]
    return ma.fields.String(
        validate=ma.validate.OneOf(values, error=INVALID_CHOICE),
        error_messages={**REQUIRED, "invalid": INVALID_CHOICE},
        metadata={"enum": values},
        **kwargs,
    )


class BeneficiaryCreateSchema(Schema):
    """A person to register: the names and the unit are required, everything else optional."""

    class Meta(Schema.Meta):
        model = Beneficiary

    unit_id = ma.fields.Integer(
        required=True,
        strict=True,
        error_messages={**REQUIRED, "invalid": INVALID_UNIT},
        metadata={"description": "the open centre, annex or mobile unit registering the person"},
    )
    given_name = Text(required=True, validate=[length(1, 100), inputs.NAME])
    family_name = Text(required=True, validate=[length(1, 100), inputs.NAME])
    father_name = Text(validate=[length(1, 100), inputs.NAME])
    mother_name = Text(validate=[length(1, 100), inputs.NAME])
    given_name_latin = _latin_name()
    family_name_latin = _latin_name()
    born_on = ma.fields.Date(
        error_messages={**REQUIRED, "invalid": INVALID_DATE, "format": INVALID_DATE}
    )
    birth_year = ma.fields.Integer(
        strict=True,
        validate=ma.validate.Range(1900, 2100, error=INVALID_YEAR),
        error_messages={**REQUIRED, "invalid": INVALID_YEAR},
        metadata={"description": "when only the year of birth is known"},
    )
    sex = _choice(Sex)
    nationality = ma.fields.String(
        validate=ma.validate.OneOf(COUNTRIES, error=INVALID_COUNTRY),
        error_messages={**REQUIRED, "invalid": INVALID_COUNTRY},
        metadata={"description": "ISO 3166-1 alpha-2", "pattern": "^[A-Z]{2}$"},
    )
    interpreter_needed = ma.fields.Boolean(load_default=False)
    residence_municipality_code = MunicipalityCode()
    address = Text(validate=length(1, 300))
    phone = Phone()
    email = ma.fields.Email(
        validate=length(3, 254), error_messages={**REQUIRED, "invalid": INVALID_EMAIL}
    )
    amka = Amka()
    vat = Vat()
    document_type = _choice(DocumentType)
    document_number = Text(
        validate=ma.validate.Regexp(r"^[A-Za-z0-9]{1,32}$", error=INVALID_DOCUMENT)
    )

    duplicate_reason = Text(
        validate=length(5, 500),
        metadata={
            "description": "why the person is not one of the likely matches "
            "(…/beneficiaries/matches) the registration would otherwise be refused for"
        },
    )

    @ma.post_load
    def _document_in_capitals(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if data.get("document_number"):
            data["document_number"] = data["document_number"].upper()
        return data


class BeneficiaryUpdateSchema(BeneficiaryCreateSchema):
    """A correction: any of the fields, at least one; null clears one the record may lack."""

    class Meta(BeneficiaryCreateSchema.Meta):
        exclude = ("duplicate_reason",)

    # Every field but the unit and the names, which a record always has.
    CLEARABLE = frozenset(FIELDS) - {
        "unit_id",
        "given_name",
        "family_name",
        "given_name_latin",
        "family_name_latin",
        "interpreter_needed",
    }

    unit_id = ma.fields.Integer(
        strict=True,
        error_messages={**REQUIRED, "invalid": INVALID_UNIT},
        metadata={"description": "moves the person to another of the caller's open units"},
    )
    given_name = Text(validate=[length(1, 100), inputs.NAME])
    family_name = Text(validate=[length(1, 100), inputs.NAME])
    interpreter_needed = ma.fields.Boolean()

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field[Any]) -> None:
        super().on_bind_field(field_name, field_obj)
        if field_name in self.CLEARABLE:
            field_obj.allow_none = True

    @ma.validates_schema
    def _something_changes(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(NO_CHANGE)


class BeneficiarySchema(Schema):
    """A person as the registry answers them."""

    id = ma.fields.Integer()
    unit_id = ma.fields.Integer()
    registered_on = ma.fields.Date()
    given_name = ma.fields.String()
    family_name = ma.fields.String()
    father_name = ma.fields.String(allow_none=True)
    mother_name = ma.fields.String(allow_none=True)
    given_name_latin = ma.fields.String()
    family_name_latin = ma.fields.String()
    born_on = ma.fields.Date(allow_none=True)
    birth_year = ma.fields.Integer(allow_none=True)
    sex = ma.fields.String(allow_none=True, metadata={"enum": [s.value for s in Sex]})
    nationality = ma.fields.String(allow_none=True)
    interpreter_needed = ma.fields.Boolean()
    residence_municipality_code = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    amka = ma.fields.String(allow_none=True)
    vat = ma.fields.String(allow_none=True)
    document_type = ma.fields.String(
        allow_none=True, metadata={"enum": [d.value for d in DocumentType]}
    )
    document_number = ma.fields.String(allow_none=True)
    restricted_at = ma.fields.DateTime(
        allow_none=True,
        metadata={"description": "since when processing is restricted (GDPR Art. 18), if it is"},
    )
    restriction_reason = ma.fields.String(allow_none=True)


class RestrictionSchema(Schema):
    reason = Text(
        required=True,
        validate=length(5, 1000),
        metadata={"description": "why processing is restricted (kept with the record)"},
    )


class BeneficiaryQueryArgsSchema(PageArgsSchema):
    q = Text(
        validate=length(1, 200),
        metadata={
            "description": "one search box: names in Greek or Latin script (any order, part of "
            "a name, Greeklish spellings), ΑΜΚΑ, ΑΦΜ, document or telephone number"
        },
    )


class MatchQueryArgsSchema(Schema):
    """The person about to be registered, as far as the likely-match check reads them."""

    given_name = Text(validate=length(1, 100))
    family_name = Text(validate=length(1, 100))
    born_on = ma.fields.Date(error_messages={"invalid": INVALID_DATE, "format": INVALID_DATE})
    birth_year = ma.fields.Integer(
        validate=ma.validate.Range(1900, 2100, error=INVALID_YEAR),
        error_messages={"invalid": INVALID_YEAR},
    )


class LikelyMatchSchema(Schema):
    similarity = ma.fields.Integer(metadata={"description": "how alike the names are, 0-100"})
    person = ma.fields.Nested(BeneficiarySchema)


class AccessSchema(Schema):
    at = ma.fields.DateTime()
    actor = ma.fields.String(metadata={"description": "who: the token subject of the user"})
    action = ma.fields.String(
        metadata={"description": "beneficiaries.register, .update, .read, .search, .match…"}
    )


class AccessReportSchema(Schema):
    """A person's right of access (GDPR Art. 15): their record and every access to it."""

    person = ma.fields.Nested(BeneficiarySchema)
    accesses = ma.fields.List(ma.fields.Nested(AccessSchema))
    produced_at = ma.fields.DateTime()
