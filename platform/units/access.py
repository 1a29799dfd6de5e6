"""Guarded loaders of units. Each takes the reader (ADR 0041); the unit tree is structure,
read by every role that reaches the tenant, and a unit's workspace (where personal data lives)
is scoped by the reader's units here, one condition per line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader, SystemPrincipal, UnitPath
from kentra.platform.reference.models import Municipality
from kentra.platform.reference.text import fold
from kentra.platform.service_area.operations import beyond_area
from kentra.platform.units.models import Unit, UnitKind, UnitServedMunicipality
from kentra.platform.units.operations import municipalities_with_centre, open_centre
from kentra.tenants.binding import read_rows


def unit_path(municipality_code: str, unit: Unit) -> UnitPath:
    return UnitPath(municipality_code, unit.centre, unit.unit)


def access_units(session: Session, reader: Reader) -> Sequence[Unit]:
    """The unit tree (structure, no personal data): for every role that reaches the tenant."""
    return session.scalars(select(Unit).order_by(Unit.centre, Unit.unit.nulls_first())).all()


# The list's two statements, built once (the API's most frequent read).
_UNITS = Unit.__table__
_SERVED = UnitServedMunicipality.__table__
_MUNICIPALITIES = Municipality.__table__
_UNIT_ROWS = select(_UNITS).order_by(_UNITS.c.centre, _UNITS.c.unit.nulls_first())
_SERVED_ROWS = (
    select(
        _SERVED.c.unit_id,
        _SERVED.c.municipality_code,
        func.coalesce(_MUNICIPALITIES.c.name_el, ""),
    )
    .outerjoin(_MUNICIPALITIES, _MUNICIPALITIES.c.code == _SERVED.c.municipality_code)
    .order_by(_SERVED.c.unit_id, _SERVED.c.municipality_code)
)


def access_unit_rows(session: Session, reader: Reader) -> list[Any]:
    """The unit tree as rows of the units table, ordered as :func:`access_units`: for reading
    only (the list API), read by the driver without an ORM object per unit (ADR 0029)."""
    return read_rows(session, _UNIT_ROWS)


def access_served_municipalities(
    session: Session, reader: Reader
) -> dict[int, list[tuple[str, str]]]:
    """(code, Greek name) of the municipalities each mobile unit serves, by unit id, by code:
    one query for the whole tree."""
    served: dict[int, list[tuple[str, str]]] = {}
    for unit_id, code, name in read_rows(session, _SERVED_ROWS):
        served.setdefault(unit_id, []).append((code, name))
    return served


def access_centre_id(session: Session, reader: Reader, centre: str) -> int | None:
    """The id of the centre whose group-path segment is ``centre``."""
    return session.scalar(
        select(Unit.id).where(Unit.centre == centre, Unit.kind == UnitKind.CENTRE)
    )


def access_unit_workspace_by_id(
    session: Session, reader: Reader, municipality_code: str, unit_id: int
) -> Unit | None:
    """A unit whose workspace (where personal data lives) the principal may enter.

    None for a unit that does not exist and for one outside the principal's units alike: the
    caller answers 404 in both cases. A centre head's centre covers its annexes and mobile
    units; staff reach the units they belong to; system work reaches every unit.
    """
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    if isinstance(reader, SystemPrincipal):
        return unit
    if not reader.reaches_unit(unit_path(municipality_code, unit)):
        return None
    return unit


def access_unit_by_id(session: Session, reader: Reader, unit_id: int) -> Unit | None:
    """A unit of the tenant, as structure (no personal data): any role that reads units.

    The request's session is bound to the tenant, so another tenant's ids are not found."""
    return session.get(Unit, unit_id)


def access_open_centre(session: Session, reader: Reader) -> Unit | None:
    """The municipality's open centre, if it has one."""
    return open_centre(session)


def access_units_of_centre(session: Session, reader: Reader, centre: Unit) -> Sequence[Unit]:
    """The annexes and mobile units of ``centre``, open first, by name."""
    return session.scalars(
        select(Unit)
        .where(Unit.centre == centre.centre, Unit.unit.is_not(None))
        .order_by(Unit.closed_on.is_not(None), Unit.kind, Unit.name, Unit.id)
    ).all()


def access_servable_municipalities(
    session: Session, reader: Reader, municipality_code: str
) -> list[Municipality]:
    """Municipalities a mobile unit of this tenant may serve: every one of the reference list
    without a centre of its own (and not the tenant itself), within the service area of the
    policy in force or allowed by a ministry exception, by region and name."""
    excluded = municipalities_with_centre(session) | {municipality_code}
    found = session.scalars(select(Municipality).where(Municipality.code.not_in(excluded))).all()
    refused = {m.code for m in beyond_area(session, municipality_code, found)}
    return sorted(
        (m for m in found if m.code not in refused),
        key=lambda m: (fold(m.regional_unit.region.name_el), fold(m.name_el), m.code),
    )


def access_municipality_names(
    session: Session, reader: Reader, codes: Sequence[str]
) -> dict[str, str]:
    """Greek names of the given municipalities (reference data)."""
    if not codes:
        return {}
    rows = session.execute(
        select(Municipality.code, Municipality.name_el).where(Municipality.code.in_(codes))
    )
    return {row.code: row.name_el for row in rows}
