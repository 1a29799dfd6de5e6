"""Reference data in the shared schema, loaded from the packaged CSV files (see docs/reference-data.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CHAR, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, MappedColumn, mapped_column, relationship

from kentra.platform.core.models import CreatedAt, SharedBase


class Region(SharedBase):
    """One of the 13 regions (Περιφέρειες), keyed by its NUTS 2 code (e.g. EL30)."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(4), primary_key=True)
    name_el: Mapped[str] = mapped_column(Text)


class RegionalUnit(SharedBase):
    """One of the 74 regional units, keyed by the two-digit ELSTAT prefix of its municipalities."""

    __tablename__ = "regional_units"

    code: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    name_el: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str] = mapped_column(ForeignKey("shared.regions.code"), index=True)
    nuts3: Mapped[str] = mapped_column(String(5))
    # The seat is unknown for three units: kept NULL and shown as "not determined", never guessed.
    seat_town: Mapped[str | None] = mapped_column(Text)
    seat_municipality_code: Mapped[str | None] = mapped_column(CHAR(4))
    seat_basis: Mapped[str] = mapped_column(Text)

    region: Mapped[Region] = relationship(lazy="joined")


class Municipality(SharedBase):
    """A municipality (Δήμος), keyed by its 4-digit ELSTAT code, text with a meaningful leading zero."""

    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(CHAR(4), primary_key=True)
    name_el: Mapped[str] = mapped_column(Text)
    name_latin: Mapped[str] = mapped_column(Text)
    regional_unit_code: Mapped[str] = mapped_column(
        ForeignKey("shared.regional_units.code"), index=True
    )
    population: Mapped[int] = mapped_column(Integer)
    population_provisional: Mapped[bool] = mapped_column(Boolean)
    population_source: Mapped[str] = mapped_column(Text)
    # NULL where the source does not confirm whether it is the seat of its regional unit.
    is_regional_unit_seat: Mapped[bool | None] = mapped_column(Boolean)
    # Accent- and case-folded Greek and Latin names, for search (kentra.platform.reference.text).
    search_text: Mapped[str] = mapped_column(Text)

    regional_unit: Mapped[RegionalUnit] = relationship(lazy="joined")


class ReferenceDataset(SharedBase):
    """Which version of each packaged file is loaded: provenance and a cheap "nothing changed" test."""

    __tablename__ = "reference_datasets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(CHAR(64))
    rows: Mapped[int] = mapped_column(Integer)
    loaded_at: Mapped[CreatedAt]


def municipality_ref(**options: Any) -> MappedColumn[str]:
    """A column naming a municipality by its code, in a shared or a tenant table; ``options``
    as for ``mapped_column`` (``primary_key``, ``index``…).

    A function, not an ``Annotated`` type: its foreign key names the Column object, not a
    string, since a tenant table lives in another MetaData than the reference table, and
    SQLAlchemy would copy an annotated column's foreign key as a string.
    """
    return mapped_column(CHAR(4), ForeignKey(Municipality.code), **options)
