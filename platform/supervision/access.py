"""Loaders of derived supervision and of the regional units whose seat is unknown.

Nothing here is personal data; the routes' permissions are checked before these run.
For another module's page (e.g. the municipality overview): :func:`access_supervision`
gives a tenant's supervisor, its name and the basis, and ``BASIS_TEXT`` its Greek wording
(the macro ``supervision_summary`` of ``supervision/summary.html`` renders both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.reference.api import Municipality, RegionalUnit
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.platform.supervision.operations import (
    Basis,
    Supervision,
    supervision_details_query,
    supervision_from_row,
    supervisor_code,
)
from kentra.tenants.models import Tenant

BASIS_TEXT = {
    Basis.OWN_SOCIAL_SERVICE: lazy_gettext(
        "Οι υπηρεσίες του ίδιου του Δήμου (έχει Κοινωνική Υπηρεσία)"
    ),
    Basis.REGIONAL_UNIT_SEAT: lazy_gettext("Ο Δήμος έδρας της Περιφερειακής Ενότητας"),
    Basis.MINISTRY_DECISION: lazy_gettext(
        "Ο Δήμος έδρας της Περιφερειακής Ενότητας, όπως τον όρισε το Υπουργείο"
    ),
    Basis.NOT_DETERMINED: lazy_gettext("Δεν έχει οριστεί"),
}


def access_supervision(
    session: Session, reader: Reader, municipality_code: str
) -> Supervision | None:
    """The derived supervision of an active tenant (None: not an active tenant)."""
    row = session.execute(
        supervision_details_query().where(Tenant.code == municipality_code)
    ).one_or_none()
    return None if row is None else supervision_from_row(row)


def access_supervised(
    session: Session, reader: Reader, supervisor: str | None
) -> list[Supervision]:
    """The active tenants whose supervision ``supervisor`` holds (itself included when it has
    a Social Service), by code; none for no supervisor."""
    if not supervisor:
        return []
    query = supervision_details_query().where(supervisor_code() == supervisor)
    return [supervision_from_row(row) for row in session.execute(query)]


# The lists' order (by code, unique) as their cursors name it (ADR 0040).
CODE_ORDER = "code"


def access_supervised_page(
    session: Session,
    reader: Reader,
    supervisor: str | None,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Supervision]:
    """A page of :func:`access_supervised` (keyset paging, ADR 0040); an empty page for no
    supervisor (a cursor is still checked)."""
    query = supervision_details_query().where(supervisor_code() == supervisor)
    if not supervisor:
        query = query.where(false())
    page = page_of(session, query, cursor=cursor, order=CODE_ORDER, per_page=per_page)
    return Page(
        [supervision_from_row(row) for row in page.items], page.next_cursor, page.previous_cursor
    )


class MunicipalityRef(NamedTuple):
    code: str
    name_el: str


@dataclass(frozen=True)
class SeatDecision:
    """The ministry's decision on a unit's seat (``decided_by``: the decider's subject)."""

    seat_municipality_code: str
    seat_name_el: str
    note: str
    decided_by: str
    decided_at: datetime


@dataclass(frozen=True)
class UnknownSeat:
    """A regional unit whose seat the reference data leaves unknown, and the decision if any."""

    code: str
    name_el: str
    region_code: str
    region_name_el: str
    municipalities: list[MunicipalityRef] = field(default_factory=list)  # by name
    decision: SeatDecision | None = None


def _seat_units() -> Select[RegionalUnit, RegionalUnitSeatDecision]:
    return (
        select(RegionalUnit, RegionalUnitSeatDecision)
        .outerjoin(
            RegionalUnitSeatDecision,
            RegionalUnitSeatDecision.regional_unit_code == RegionalUnit.code,
        )
        .where(RegionalUnit.seat_municipality_code.is_(None))
        .order_by(RegionalUnit.code)
    )


def access_unknown_seats(session: Session, reader: Reader) -> list[UnknownSeat]:
    """Every regional unit with an unknown reference seat, by code, with its municipalities
    and the ministry's decision (two queries)."""
    return _unknown_seats(session, list(session.execute(_seat_units())))


def access_unknown_seats_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[UnknownSeat]:
    """A page of :func:`access_unknown_seats` (keyset paging, ADR 0040): the municipalities
    are read for the page's units only."""
    page = page_of(session, _seat_units(), cursor=cursor, order=CODE_ORDER, per_page=per_page)
    return Page(_unknown_seats(session, page.items), page.next_cursor, page.previous_cursor)


def _unknown_seats(session: Session, rows: Sequence[Any]) -> list[UnknownSeat]:
    units: Sequence[tuple[RegionalUnit, RegionalUnitSeatDecision | None]] = [
        (row[0], row[1]) for row in rows
    ]
    members: dict[str, list[MunicipalityRef]] = {}
    for code, name, unit_code in session.execute(
        select(Municipality.code, Municipality.name_el, Municipality.regional_unit_code)
        .where(Municipality.regional_unit_code.in_([unit.code for unit, _ in units]))
        .order_by(Municipality.name_el, Municipality.code)
    ):
        members.setdefault(unit_code, []).append(MunicipalityRef(code, name))
    found = []
    for unit, decision in units:
        names = dict(members.get(unit.code, []))
        found.append(
            UnknownSeat(
                code=unit.code,
                name_el=unit.name_el,
                region_code=unit.region_code,
                region_name_el=unit.region.name_el,
                municipalities=members.get(unit.code, []),
                decision=None
                if decision is None
                else SeatDecision(
                    seat_municipality_code=decision.seat_municipality_code,
                    seat_name_el=names.get(decision.seat_municipality_code, ""),
                    note=decision.note,
                    decided_by=decision.decided_by,
                    decided_at=decision.decided_at,
                ),
            )
        )
    return found


def access_unknown_seat(
    session: Session, reader: Reader, regional_unit_code: str
) -> UnknownSeat | None:
    """One regional unit of :func:`access_unknown_seats` (None: unknown, or its seat known)."""
    return next(
        (u for u in access_unknown_seats(session, reader) if u.code == regional_unit_code), None
    )
