"""Loading the packaged reference data into the shared schema (idempotent upsert)."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from kentra.platform.core.models import utcnow
from kentra.platform.reference.models import (
    Municipality,
    ReferenceDataset,
    Region,
    RegionalUnit,
)
from kentra.platform.reference.text import fold

DATASET_NAME = "elstat-2021-municipalities"
_FILES = ("municipalities.csv", "regional_units.csv")


@dataclass(frozen=True)
class ReferenceLoadResult:
    loaded: bool
    regions: int
    regional_units: int
    municipalities: int


def _read(name: str) -> bytes:
    return resources.files("kentra.platform.reference").joinpath("data", name).read_bytes()


def _rows(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))


def _seat_flag(raw: str) -> bool | None:
    return {"true": True, "false": False}.get(raw.strip().lower())


def load_reference_data(session: Session, *, force: bool = False) -> ReferenceLoadResult:
    """Upsert regions, regional units and municipalities from the packaged CSV files.

    Skipped cheaply when the files' checksum matches what is loaded. Flushes, never commits.
    """
    raw = {name: _read(name) for name in _FILES}
    digest = hashlib.sha256(b"".join(raw[name] for name in _FILES)).hexdigest()
    current = session.get(ReferenceDataset, DATASET_NAME)
    if current is not None and current.sha256 == digest and not force:
        return ReferenceLoadResult(False, 0, 0, current.rows)

    units = _rows(raw["regional_units.csv"])
    municipalities = _rows(raw["municipalities.csv"])

    regions = {row["nuts3_2021"][:4]: row["region_el"] for row in units}
    stmt = insert(Region).values([{"code": c, "name_el": n} for c, n in sorted(regions.items())])
    session.execute(
        stmt.on_conflict_do_update(index_elements=["code"], set_={"name_el": stmt.excluded.name_el})
    )

    unit_rows = [
        {
            "code": row["ru_code_elstat_prefix"],
            "name_el": row["regional_unit_el"],
            "region_code": row["nuts3_2021"][:4],
            "nuts3": row["nuts3_2021"],
            "seat_town": row["seat_town"] or None,
            "seat_municipality_code": None,  # set below, once the municipalities exist
            "seat_basis": row["seat_basis"],
        }
        for row in units
    ]
    stmt = insert(RegionalUnit).values(unit_rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={
                c: stmt.excluded[c]
                for c in ("name_el", "region_code", "nuts3", "seat_town", "seat_basis")
            },
        )
    )

    municipality_rows = [
        {
            "code": row["code"],
            "name_el": row["name_el"],
            "name_latin": row["name_en_or_translit"],
            "regional_unit_code": row["code"][:2],
            "population": int(row["population"]),
            "population_provisional": "PROVISIONAL" in row["population_source"].upper(),
            "population_source": row["population_source"],
            "is_regional_unit_seat": _seat_flag(row["is_regional_unit_seat"]),
            "search_text": fold(f"{row['name_el']} {row['name_en_or_translit']}"),
        }
        for row in municipalities
    ]
    stmt = insert(Municipality).values(municipality_rows)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["code"],
            set_={c: stmt.excluded[c] for c in municipality_rows[0] if c != "code"},
        )
    )
    for row in units:
        session.execute(
            update(RegionalUnit)
            .where(RegionalUnit.code == row["ru_code_elstat_prefix"])
            .values(seat_municipality_code=row["seat_municipality_code"] or None)
        )

    dataset = current or ReferenceDataset(name=DATASET_NAME)
    dataset.sha256 = digest
    dataset.rows = len(municipality_rows)
    dataset.loaded_at = utcnow()
    if current is None:
        session.add(dataset)
    session.flush()
    return ReferenceLoadResult(True, len(regions), len(unit_rows), len(municipality_rows))


def municipality_exists(session: Session, code: str) -> bool:
    return session.scalar(select(Municipality.code).where(Municipality.code == code)) is not None
