"""Loaders of operating regulations.

Tenant side: the routes require ``tenant:regulations:read`` (every role that reaches the
municipality: a regulation is a public document of the centre, not personal data) before these
run. Ministry side: :func:`access_current_regulations` reads the shared
``regulation_submissions`` only, never a tenant schema; :func:`regulation_files` opens each
municipality's tenant session for the bundle's files.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy import Engine, Row, Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session, undefer

from kentra.auth.principal import Reader
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.reference.api import Municipality, Region, RegionalUnit
from kentra.platform.regulations.models import (
    RegulationStatus,
    RegulationSubmission,
    RegulationVersion,
)
from kentra.platform.units.api import Unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code

# The versions the ministry holds: a centre's current regulation is one of these.
CURRENT_STATUSES = (RegulationStatus.SUBMITTED, RegulationStatus.ACKNOWLEDGED)


@dataclass(frozen=True)
class VersionRow:
    """A version for the tenant's lists, with its centre's name and its number."""

    version: RegulationVersion
    centre_name: str
    number: int


# A version's number: its place among its centre's versions, in the order they were uploaded
# (withdrawn drafts keep theirs, so that no number is ever given twice).
_NUMBER = (
    func.row_number()
    .over(partition_by=RegulationVersion.centre_id, order_by=RegulationVersion.id)
    .label("number")
)


def _versions(centre_id: int | None) -> Select[Any]:
    """The versions with their centre's name and their number, by centre then newest first
    (the version's id last: unique). The number is computed over each centre's versions in
    a subquery, so that a page (or ``centre_id``) never renumbers them."""
    numbered = select(RegulationVersion.id.label("id"), _NUMBER).subquery()
    query = (
        select(RegulationVersion, Unit.name, numbered.c.number)
        .join(Unit, Unit.id == RegulationVersion.centre_id)
        .join(numbered, numbered.c.id == RegulationVersion.id)
    )
    if centre_id is not None:
        query = query.where(RegulationVersion.centre_id == centre_id)
    return query.order_by(Unit.name, Unit.id, RegulationVersion.id.desc())


def access_versions(
    session: Session, reader: Reader, centre_id: int | None = None
) -> list[VersionRow]:
    """The municipality's versions, by centre then newest first, numbered (the files are not
    loaded)."""
    return [VersionRow(row[0], row[1], row[2]) for row in session.execute(_versions(centre_id))]


# The versions' order (centre name, centre, newest first) as their cursors name it (ADR 0040).
VERSIONS_ORDER = "centre-newest"


def access_versions_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    centre_id: int | None = None,
) -> Page[VersionRow]:
    """A page of :func:`access_versions` (keyset paging, ADR 0040), numbered over each
    centre's versions, not the page's."""
    page = page_of(
        session, _versions(centre_id), cursor=cursor, order=VERSIONS_ORDER, per_page=per_page
    )
    rows = [VersionRow(row[0], row[1], row[2]) for row in page.items]
    return Page(rows, page.next_cursor, page.previous_cursor)


def version_number(session: Session, reader: Reader, version: RegulationVersion) -> int:
    """The number of ``version`` among its centre's versions (see :data:`_NUMBER`)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(RegulationVersion)
            .where(
                RegulationVersion.centre_id == version.centre_id,
                RegulationVersion.id <= version.id,
            )
        )
        or 0
    )


def access_version(
    session: Session,
    reader: Reader,
    regulation_id: int,
    *,
    for_update: bool = False,
    with_content: bool = False,
) -> RegulationVersion | None:
    """One version, or None; ``for_update`` locks it until the transaction ends."""
    query = select(RegulationVersion).where(RegulationVersion.id == regulation_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    if with_content:
        query = query.options(undefer(RegulationVersion.content))
    return session.scalars(query).one_or_none()


def centre_name(session: Session, reader: Reader, centre_id: int) -> str:
    return session.scalar(select(Unit.name).where(Unit.id == centre_id)) or ""


@dataclass(frozen=True)
class CurrentRegulation:
    """A centre's current regulation, as the ministry holds it (shared schema)."""

    municipality_code: str
    municipality_name: str
    region_code: str
    region_name: str
    regulation_id: int
    centre_id: int
    centre_name: str
    kind: str
    effective_date: date
    change_summary: str
    status: str
    filename: str
    size_bytes: int
    sha256: str
    submitted_at: datetime
    decided_at: datetime | None
    ministry_comment: str | None


def access_regions(session: Session, reader: Reader) -> Sequence[Region]:
    return session.scalars(select(Region).order_by(Region.name_el)).all()


def region_exists(session: Session, reader: Reader, code: str) -> bool:
    return session.get(Region, code) is not None


def _current_regulations(region: str | None, status: RegulationStatus | None) -> Select[Any]:
    """Per centre of every municipality, its current version, by region, municipality,
    centre (the municipality's code and the centre's id last: unique)."""
    current = (
        select(RegulationSubmission)
        .where(RegulationSubmission.status.in_(CURRENT_STATUSES))
        .order_by(
            RegulationSubmission.municipality_code,
            RegulationSubmission.centre_id,
            RegulationSubmission.effective_date.desc(),
            RegulationSubmission.submitted_at.desc(),
            RegulationSubmission.regulation_id.desc(),
        )
        .ext(distinct_on(RegulationSubmission.municipality_code, RegulationSubmission.centre_id))
        .subquery()
    )
    query = (
        select(
            current,
            Municipality.name_el.label("municipality_name"),
            Region.code.label("region_code"),
            Region.name_el.label("region_name"),
        )
        .join(Municipality, Municipality.code == current.c.municipality_code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .join(Region, Region.code == RegionalUnit.region_code)
        .order_by(
            Region.code,
            Municipality.name_el,
            current.c.centre_name,
            current.c.municipality_code,
            current.c.centre_id,
        )
    )
    if region is not None:
        query = query.where(Region.code == region)
    if status is not None:
        query = query.where(current.c.status == status)
    return query


_CURRENT_FIELDS = {f.name for f in fields(CurrentRegulation)}


def _current(row: Row[Any]) -> CurrentRegulation:
    values = {name: value for name, value in row._mapping.items() if name in _CURRENT_FIELDS}
    values["kind"] = str(values["kind"])
    values["status"] = str(values["status"])
    return CurrentRegulation(**values)


def access_current_regulations(
    session: Session,
    reader: Reader,
    *,
    region: str | None = None,
    status: RegulationStatus | None = None,
) -> list[CurrentRegulation]:
    """Per centre of every municipality, the submitted or acknowledged version with the latest
    effective date (the latest submission breaks a tie); optionally only those of a region
    (NUTS 2) and in ``status``. Ordered by region, municipality, centre."""
    return [_current(row) for row in session.execute(_current_regulations(region, status))]


# The current regulations' order (region, municipality, centre) as their cursors name it.
CURRENT_ORDER = "region-municipality-centre"


def access_current_regulations_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    region: str | None = None,
    status: RegulationStatus | None = None,
) -> Page[CurrentRegulation]:
    """A page of :func:`access_current_regulations` (keyset paging, ADR 0040)."""
    query = _current_regulations(region, status)
    page = page_of(session, query, cursor=cursor, order=CURRENT_ORDER, per_page=per_page)
    return Page([_current(row) for row in page.items], page.next_cursor, page.previous_cursor)


def regulation_files(
    engine: Engine, reader: Reader, regulations: Sequence[CurrentRegulation]
) -> Iterator[tuple[CurrentRegulation, bytes]]:
    """Each regulation's PDF, read from its municipality's tenant schema (one session per
    municipality). A file missing from its tenant is skipped."""
    by_code: dict[str, list[CurrentRegulation]] = {}
    for regulation in regulations:
        by_code.setdefault(regulation.municipality_code, []).append(regulation)
    for code, listed in by_code.items():
        with tenant_session(engine, parse_municipality_code(code)) as session:
            contents = dict(
                session.execute(
                    select(RegulationVersion.id, RegulationVersion.content).where(
                        RegulationVersion.id.in_([r.regulation_id for r in listed])
                    )
                ).all()
            )
            for regulation in listed:
                content = contents.get(regulation.regulation_id)
                if content is not None:
                    yield regulation, content


INDEX_COLUMNS = (
    "municipality_code",
    "municipality_name",
    "region_code",
    "centre_id",
    "centre_name",
    "kind",
    "effective_date",
    "status",
    "submitted_at",
    "file",
    "sha256",
)


def bundle_path(regulation: CurrentRegulation) -> str:
    """Where a regulation's PDF lies in the bundle: one folder per municipality."""
    return (
        f"{regulation.municipality_code}/"
        f"{regulation.centre_id}-{regulation.regulation_id}-{regulation.filename}"
    )


def write_bundle(
    engine: Engine, reader: Reader, regulations: Sequence[CurrentRegulation], target: IO[bytes]
) -> int:
    """A zip of the regulations' PDFs and ``index.csv`` (UTF-8 with a byte-order mark, so that
    spreadsheets read the Greek); returns how many files it holds."""
    rows = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for regulation, content in regulation_files(engine, reader, regulations):
            path = bundle_path(regulation)
            bundle.writestr(path, content)
            rows.append(
                (
                    regulation.municipality_code,
                    regulation.municipality_name,
                    regulation.region_code,
                    regulation.centre_id,
                    regulation.centre_name,
                    regulation.kind,
                    regulation.effective_date.isoformat(),
                    regulation.status,
                    regulation.submitted_at.isoformat(),
                    path,
                    regulation.sha256,
                )
            )
        index = io.StringIO()
        writer = csv.writer(index, lineterminator="\r\n")
        writer.writerow(INDEX_COLUMNS)
        writer.writerows(rows)
        bundle.writestr("index.csv", index.getvalue().encode("utf-8-sig"))
    return len(rows)
