"""Loaders of compliance results: a municipality's centres, and the overview across
municipalities within the principal's reach. Both read ``shared.centre_compliance`` (kept
current by the recompute task and its fan-out runs) joined to reference data: never a tenant
schema other than the request's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.principal import Reader, SystemPrincipal
from kentra.auth.roles import ROLE_REACH, Reach
from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.compliance.operations import ADVISORY_PREMISES
from kentra.platform.core.paging import page_of
from kentra.platform.reference.api import Municipality, Region, RegionalUnit
from kentra.platform.supervision.api import supervised_municipality_codes
from kentra.platform.units.api import Unit


@dataclass(frozen=True)
class CentreRow:
    municipality_code: str
    municipality_name: str
    region_code: str
    region_name: str
    centre_id: int
    centre_name: str
    status: ComplianceStatus
    unmet: list[str]
    staff_count: int
    required_staff: int
    policy_version_id: int
    computed_at: datetime
    advisory: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Overview:
    centres: list[CentreRow]
    counts: dict[str, int]
    # When paged: the cursors of the pages after and before (None at either end).
    next_cursor: str | None = None
    previous_cursor: str | None = None


# The overview's orders: the columns each sorts by, before the row's own key (unique, so that
# keyset paging never repeats or skips a centre).
OVERVIEW_ORDERS: dict[str, tuple[InstrumentedAttribute[Any], ...]] = {
    "region": (Region.name_el, Municipality.name_el, CentreCompliance.centre_name),
    "municipality": (Municipality.name_el, CentreCompliance.centre_name),
    "centre": (CentreCompliance.centre_name, Municipality.name_el),
    "status": (CentreCompliance.status, Region.name_el, Municipality.name_el),
    "staff": (CentreCompliance.staff_count, Municipality.name_el),
}
_CENTRE_KEY = (CentreCompliance.municipality_code, CentreCompliance.centre_id)


@dataclass(frozen=True)
class OverviewReach:
    """What part of the country a principal's overview covers: all of it, or regions and
    municipalities (the union over the principal's roles)."""

    national: bool = False
    regions: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()


def overview_reach(session: Session, reader: Reader) -> OverviewReach:
    """National roles: the country; regional officers: their region (``principal.region``);
    supervisors: the municipalities their organization supervises (derived); system work: the
    country."""
    if isinstance(reader, SystemPrincipal):
        return OverviewReach(national=True)
    principal = reader
    national = False
    regions: set[str] = set()
    municipalities: set[str] = set()
    for role in principal.roles:
        if Permission.REGION_COMPLIANCE_READ not in ROLE_PERMISSIONS[role]:
            continue
        reach = ROLE_REACH[role]
        if reach is Reach.NATIONAL:
            national = True
        elif reach is Reach.REGION and principal.region:
            regions.add(principal.region)
        elif reach is not Reach.REGION and principal.organization:
            # Supervisors: what their organization's directorates supervise (domain.md §10).
            municipalities.update(supervised_municipality_codes(session, principal.organization))
    return OverviewReach(national, frozenset(regions), frozenset(municipalities))


def _within(reach: OverviewReach) -> ColumnElement[bool]:
    if reach.national:
        return true()
    conditions = []
    if reach.regions:
        conditions.append(RegionalUnit.region_code.in_(sorted(reach.regions)))
    if reach.municipalities:
        conditions.append(CentreCompliance.municipality_code.in_(sorted(reach.municipalities)))
    return or_(*conditions) if conditions else false()


_Found = Row[CentreCompliance, str, str, str]


def _row(found: _Found, advisory: Sequence[str] = ()) -> CentreRow:
    result, municipality_name, region_code, region_name = found
    return CentreRow(
        municipality_code=result.municipality_code,
        municipality_name=municipality_name,
        region_code=region_code,
        region_name=region_name,
        centre_id=result.centre_id,
        centre_name=result.centre_name,
        status=result.status,
        unmet=list(result.unmet),
        staff_count=result.staff_count,
        required_staff=result.required_staff,
        policy_version_id=result.policy_version_id,
        computed_at=result.computed_at,
        advisory=list(advisory),
    )


def _query() -> Select[CentreCompliance, str, str, str]:
    return (
        select(
            CentreCompliance,
            Municipality.name_el.label("municipality_name"),
            RegionalUnit.region_code.label("region_code"),
            Region.name_el.label("region_name"),
        )
        .join(Municipality, Municipality.code == CentreCompliance.municipality_code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .join(Region, Region.code == RegionalUnit.region_code)
    )


def access_overview(
    session: Session,
    reader: Reader,
    *,
    region: str | None = None,
    status: ComplianceStatus | None = None,
    order: str = "region",
    descending: bool = False,
    per_page: int | None = None,
    cursor: str | None = None,
) -> Overview:
    """Centres within the reader's reach, optionally of one region and one status, in
    ``order`` (a key of :data:`OVERVIEW_ORDERS`); all of them, or the page ``cursor`` points
    at when ``per_page`` is given. The counts by status cover the reach and the region filter
    (not the status filter).

    Filters narrow what the principal may see, never widen it: a regional officer asking for
    another region gets an empty overview, not that region."""
    reach = overview_reach(session, reader)
    scope = [_within(reach)]
    if region is not None:
        scope.append(RegionalUnit.region_code == region)
    counted = dict(
        session.execute(
            select(CentreCompliance.status, func.count())
            .join(Municipality, Municipality.code == CentreCompliance.municipality_code)
            .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
            .where(*scope)
            .group_by(CentreCompliance.status)
        ).all()
    )
    counts = {s.value: int(counted.get(s, 0)) for s in ComplianceStatus}
    counts["total"] = sum(counts.values())
    query = _query().where(*scope)
    if status is not None:
        query = query.where(CentreCompliance.status == status)
    columns = (*OVERVIEW_ORDERS[order], *_CENTRE_KEY)
    query = query.order_by(*(c.desc() if descending else c.asc() for c in columns))
    if per_page is None:
        return Overview([_row(found) for found in session.execute(query)], counts)
    page = page_of(
        session,
        query,
        cursor=cursor,
        order=f"{order}:{'desc' if descending else 'asc'}",
        per_page=per_page,
    )
    return Overview(
        [_row(found) for found in page.items], counts, page.next_cursor, page.previous_cursor
    )


def access_municipality_compliance(
    session: Session, reader: Reader, municipality_code: str
) -> list[CentreRow]:
    """The tenant's open centres with their stored result and the advisory premises items
    they do not meet. ``session`` is the tenant's (routing checked the caller's reach)."""
    found = session.execute(
        _query()
        .where(CentreCompliance.municipality_code == municipality_code)
        .order_by(CentreCompliance.centre_id)
    ).all()
    centres = {
        unit.id: unit
        for unit in session.scalars(
            select(Unit).where(Unit.id.in_([f[0].centre_id for f in found]))
        )
    }
    rows = []
    for item in found:
        centre = centres.get(item[0].centre_id)
        advisory = [a for a in ADVISORY_PREMISES if centre is not None and not getattr(centre, a)]
        rows.append(_row(item, advisory))
    return rows


def access_population(session: Session, reader: Reader, municipality_code: str) -> int | None:
    return session.scalar(
        select(Municipality.population).where(Municipality.code == municipality_code)
    )


def access_regions(session: Session, reader: Reader) -> list[Region]:
    """The regions the reader's overview can be filtered by."""
    reach = overview_reach(session, reader)
    query = select(Region).order_by(Region.name_el)
    if not reach.national:
        codes = set(reach.regions)
        if reach.municipalities:
            codes.update(
                session.scalars(
                    select(RegionalUnit.region_code)
                    .join(Municipality, Municipality.regional_unit_code == RegionalUnit.code)
                    .where(Municipality.code.in_(sorted(reach.municipalities)))
                )
            )
        query = query.where(Region.code.in_(sorted(codes)))
    return list(session.scalars(query))
