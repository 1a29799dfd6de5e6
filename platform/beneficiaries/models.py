"""The person of the Beneficiaries Registry (tenant schema).

A person belongs to the municipality whose centre, annex or mobile unit registered them
(``unit_id``), whatever their municipality of residence (a mobile unit serves municipalities
that are not tenants, domain.md rule 4). The unit decides who may see them.

Names are kept as written in Greek, and in Latin script (proposed by ELOT 743, editable for a
passport that writes them otherwise); ``name_key`` is what search and the duplicate check
compare (``names.match_key`` of both scripts). Each identifier is optional and unique in the
municipality: the database refuses a second person with one already registered, whatever the
code checked first.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CHAR,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from kentra.platform.core.models import CreatedAt, IdentityKey, RowVersion, TenantBase, string_enum
from kentra.platform.reference.api import municipality_ref
from kentra.platform.units.api import Unit


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class DocumentType(enum.StrEnum):
    """An identity document other than the ΑΜΚΑ and ΑΦΜ (type and number go together)."""

    IDENTITY_CARD = "identity_card"
    PASSPORT = "passport"
    RESIDENCE_PERMIT = "residence_permit"


class Beneficiary(TenantBase):
    __tablename__ = "beneficiaries"
    __table_args__ = (
        CheckConstraint(
            "born_on IS NULL OR birth_year = EXTRACT(YEAR FROM born_on)",
            name="birth_year_of_born_on",
        ),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year_in_range"),
        CheckConstraint(
            "(document_type IS NULL) = (document_number IS NULL)", name="document_type_and_number"
        ),
        CheckConstraint("amka ~ '^[0-9]{11}$'", name="amka_digits"),
        CheckConstraint(
            "(restricted_at IS NULL) = (restriction_reason IS NULL)", name="restriction_has_reason"
        ),
        CheckConstraint("vat ~ '^[0-9]{9}$'", name="vat_digits"),
        UniqueConstraint("amka", name="uq_beneficiaries_amka"),
        UniqueConstraint("vat", name="uq_beneficiaries_vat"),
        UniqueConstraint(
            "document_type", "document_number", name="uq_beneficiaries_document_type_number"
        ),
        # The registry's lists: a unit's people, newest first.
        Index("ix_beneficiaries_unit_id_id", "unit_id", "id"),
        # Likely duplicates are looked for among the people born the same year.
        Index("ix_beneficiaries_birth_year", "birth_year"),
    )

    id: Mapped[IdentityKey]
    unit_id: Mapped[int] = mapped_column(ForeignKey(Unit.id))
    registered_on: Mapped[date] = mapped_column(Date)

    given_name: Mapped[str] = mapped_column(Text)
    family_name: Mapped[str] = mapped_column(Text)
    father_name: Mapped[str | None] = mapped_column(Text)
    mother_name: Mapped[str | None] = mapped_column(Text)
    given_name_latin: Mapped[str] = mapped_column(Text)
    family_name_latin: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(Text)

    born_on: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    sex: Mapped[Sex | None] = mapped_column(string_enum(Sex, "beneficiary_sex", 16))
    nationality: Mapped[str | None] = mapped_column(CHAR(2))  # ISO 3166-1 alpha-2
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, server_default=false())

    residence_municipality_code: Mapped[str | None] = municipality_ref()
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(16))  # E.164
    email: Mapped[str | None] = mapped_column(Text)

    amka: Mapped[str | None] = mapped_column(CHAR(11))
    vat: Mapped[str | None] = mapped_column(CHAR(9))
    document_type: Mapped[DocumentType | None] = mapped_column(
        string_enum(DocumentType, "beneficiary_document_type", 32)
    )
    document_number: Mapped[str | None] = mapped_column(String(32))

    # Restriction of processing (GDPR Art. 18): kept, read only by id, never changed, listed,
    # searched or matched until it is lifted.
    restricted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restriction_reason: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[CreatedAt]
    version: Mapped[RowVersion] = mapped_column()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
