"""Guarded loaders of units. Each takes the reader (ADR 0041); the unit tree is structure,
read by every role that reaches the tenant, and a unit's workspace (where personal data lives)
is scoped by the reader's units here, one condition per line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Integer, any_, bindparam, func, select, tuple_
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader, SystemPrincipal, UnitPath
from kentra.platform.core.paging import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    Page,
    bad_cursor,
    keyset_cursor,
    keyset_place,
)
from kentra.platform.reference.api import Municipality, fold
from kentra.platform.service_area.api import beyond_area
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


# The list API's pages (ADR 0040), in the tree's order with a unique key: the centre's
# segment, the unit's ('' for the centre itself, so it comes first), the id. Built once, like
# the statements above; the bound values are plain parameters of read_rows.
UNITS_ORDER = "tree"
_UNIT_KEY = (_UNITS.c.centre, func.coalesce(_UNITS.c.unit, ""), _UNITS.c.id)
_PLACE = tuple_(bindparam("centre"), bindparam("unit"), bindparam("id"))
_LIMIT = bindparam("limit", type_=Integer)
_UNIT_PAGE_ROWS = select(_UNITS)
FIRST_UNITS = _UNIT_PAGE_ROWS.order_by(*_UNIT_KEY).limit(_LIMIT)
_UNITS_AFTER = _UNIT_PAGE_ROWS.where(tuple_(*_UNIT_KEY) > _PLACE).order_by(*_UNIT_KEY).limit(_LIMIT)
_UNITS_BEFORE = (
    _UNIT_PAGE_ROWS.where(tuple_(*_UNIT_KEY) < _PLACE)
    .order_by(*(column.desc() for column in _UNIT_KEY))
    .limit(_LIMIT)
)
_CENTRE_IDS = select(_UNITS.c.centre, _UNITS.c.id).where(
    _UNITS.c.unit.is_(None),
    _UNITS.c.centre == any_(bindparam("centres", type_=ARRAY(_UNITS.c.centre.type))),
)
SERVED_OF_UNITS = _SERVED_ROWS.where(
    _SERVED.c.unit_id == any_(bindparam("unit_ids", type_=ARRAY(Integer)))
)
# The ORM's order of the same pages (the units page), for page_of: the same cursors.
UNIT_ORDER_BY = (Unit.centre, func.coalesce(Unit.unit, ""), Unit.id)


def _unit_key(row: Any) -> tuple[str, str, int]:
    return (row.centre, row.unit or "", row.id)


def _unit_place(cursor: str) -> tuple[tuple[str, str, int], bool]:
    key, backwards = keyset_place(UNITS_ORDER, cursor)
    if len(key) != 3 or not isinstance(key[0], str) or not isinstance(key[1], str):
        raise bad_cursor()
    if not isinstance(key[2], int) or isinstance(key[2], bool):
        raise bad_cursor()
    return (key[0], key[1], key[2]), backwards


def access_unit_rows_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Any]:
    """A page of the unit tree (structure: every role that reaches the tenant) as rows of the
    units table with ``centre_id``, in :data:`UNITS_ORDER`, the page ``cursor`` points at (the
    first without one): keyset paging by hand over ``read_rows`` (the list API is the
    hottest read, ADR 0029, 0040), one statement whatever the page, its cursors those
    :func:`~kentra.platform.core.paging.page_of` makes for :data:`UNIT_ORDER_BY`."""
    limit = min(per_page, MAX_PER_PAGE)
    backwards = False
    if cursor is None:
        rows = read_rows(session, FIRST_UNITS, {"limit": limit + 1})
    else:
        (centre, unit, unit_id), backwards = _unit_place(cursor)
        statement = _UNITS_BEFORE if backwards else _UNITS_AFTER
        place = {"centre": centre, "unit": unit, "id": unit_id, "limit": limit + 1}
        rows = read_rows(session, statement, place)
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = bool(rows) and (more if not backwards else True)
    has_previous = bool(rows) and (more if backwards else cursor is not None)
    return Page(
        items=rows,
        next_cursor=keyset_cursor(UNITS_ORDER, _unit_key(rows[-1])) if has_next else None,
        previous_cursor=(
            keyset_cursor(UNITS_ORDER, _unit_key(rows[0]), backwards=True) if has_previous else None
        ),
    )


def access_centre_ids(session: Session, reader: Reader, rows: Sequence[Any]) -> dict[str, int]:
    """The centre id of each centre segment of a page's ``rows``: those of its centres
    without a query, a query for those a page of annexes and mobile units does not hold."""
    found = {row.centre: row.id for row in rows if row.unit is None}
    missing = sorted({row.centre for row in rows} - found.keys())
    if missing:
        found.update(read_rows(session, _CENTRE_IDS, {"centres": missing}))
    return found


def access_served_municipalities_of(
    session: Session, reader: Reader, unit_ids: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """(code, Greek name) of the municipalities each of ``unit_ids`` serves, by unit id, by
    code: one query for a page of the list."""
    served: dict[int, list[tuple[str, str]]] = {}
    for unit_id, code, name in read_rows(session, SERVED_OF_UNITS, {"unit_ids": list(unit_ids)}):
        served.setdefault(unit_id, []).append((code, name))
    return served


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
