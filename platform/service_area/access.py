"""Loaders of the service area and its exceptions (reference data and ministry decisions: no
personal data). The routes' permissions are checked before these run; a tenant's own area is
read through its tenant URL, so another tenant's is a 404 there."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, aliased

from kentra.auth.principal import Reader
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.policy.api import ServiceArea
from kentra.platform.reference.api import Municipality, Region, RegionalUnit, fold
from kentra.platform.service_area.models import ServiceAreaException
from kentra.platform.service_area.operations import area_in_force


@dataclass(frozen=True)
class ExceptionView:
    id: int
    municipality_code: str
    municipality_name_el: str
    served_municipality_code: str
    served_municipality_name_el: str
    served_region_name_el: str
    reason: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class TenantServiceArea:
    """The area around a municipality's centre under the policy in force, and its exceptions."""

    municipality_code: str
    area: ServiceArea
    regional_unit_code: str
    regional_unit_name_el: str
    region_code: str
    region_name_el: str
    exceptions: list[ExceptionView] = field(default_factory=list)


def _exceptions(
    municipality_code: str | None, exception_id: int | None
) -> Select[ServiceAreaException, str, str, str]:
    """The exceptions with their municipalities' and region's names, by municipality and
    served name (the id last: unique)."""
    home = aliased(Municipality)
    served = aliased(Municipality)
    served_unit = aliased(RegionalUnit)
    # The names by names of their own, in a subquery: both are a municipality's name_el, and
    # the keyset paginator reads a key's values from the row by the column's name.
    names = (
        select(
            ServiceAreaException.id.label("id"),
            home.name_el.label("home_name"),
            served.name_el.label("served_name"),
            Region.name_el.label("region_name"),
        )
        .join(home, home.code == ServiceAreaException.municipality_code)
        .join(served, served.code == ServiceAreaException.served_municipality_code)
        .join(served_unit, served_unit.code == served.regional_unit_code)
        .join(Region, Region.code == served_unit.region_code)
        .subquery()
    )
    query = (
        select(ServiceAreaException, names.c.home_name, names.c.served_name, names.c.region_name)
        .join(names, names.c.id == ServiceAreaException.id)
        .order_by(names.c.home_name, names.c.served_name, ServiceAreaException.id)
    )
    if municipality_code is not None:
        query = query.where(ServiceAreaException.municipality_code == municipality_code)
    if exception_id is not None:
        query = query.where(ServiceAreaException.id == exception_id)
    return query


def _view(row: Row[ServiceAreaException, str, str, str]) -> ExceptionView:
    exception, home_name, served_name, region_name = row[0], row[1], row[2], row[3]
    return ExceptionView(
        id=exception.id,
        municipality_code=exception.municipality_code,
        municipality_name_el=home_name,
        served_municipality_code=exception.served_municipality_code,
        served_municipality_name_el=served_name,
        served_region_name_el=region_name,
        reason=exception.reason,
        decided_by=exception.decided_by,
        decided_at=exception.decided_at,
    )


def access_exceptions(
    session: Session,
    reader: Reader,
    municipality_code: str | None = None,
    *,
    exception_id: int | None = None,
) -> list[ExceptionView]:
    """Every exception (or ``municipality_code``'s, or one), by municipality and served name;
    one query."""
    return [_view(row) for row in session.execute(_exceptions(municipality_code, exception_id))]


# The exceptions' order (municipality, served municipality) as their cursors name it.
EXCEPTIONS_ORDER = "municipality-served"


def access_exceptions_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    municipality_code: str | None = None,
) -> Page[ExceptionView]:
    """A page of :func:`access_exceptions` (keyset paging, ADR 0040)."""
    page = page_of(
        session,
        _exceptions(municipality_code, None),
        cursor=cursor,
        order=EXCEPTIONS_ORDER,
        per_page=per_page,
    )
    return Page([_view(row) for row in page.items], page.next_cursor, page.previous_cursor)


def access_exception(session: Session, reader: Reader, exception_id: int) -> ExceptionView | None:
    found = access_exceptions(session, reader, exception_id=exception_id)
    return found[0] if found else None


def access_service_area(
    session: Session, reader: Reader, municipality_code: str
) -> TenantServiceArea | None:
    """The tenant's area and exceptions (None: not a municipality of the reference list)."""
    home = session.get(Municipality, municipality_code)
    if home is None:
        return None
    unit = home.regional_unit
    return TenantServiceArea(
        municipality_code=home.code,
        area=area_in_force(session),
        regional_unit_code=unit.code,
        regional_unit_name_el=unit.name_el,
        region_code=unit.region_code,
        region_name_el=unit.region.name_el,
        exceptions=access_exceptions(session, reader, municipality_code),
    )


def access_municipality_options(session: Session, reader: Reader) -> list[tuple[str, str]]:
    """Every municipality of the reference list as (code, "name (code) — region"), by name."""
    rows = session.execute(
        select(Municipality.code, Municipality.name_el, Region.name_el)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .join(Region, Region.code == RegionalUnit.region_code)
    )
    return [
        (code, f"{name} ({code}) — {region}")
        for code, name, region in sorted(rows, key=lambda row: (fold(row[1]), row[0]))
    ]
