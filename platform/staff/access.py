"""Loaders of the staff roster.

The routes require ``tenant:staff:read`` (municipality admin, centre head) or
``tenant:staff:write`` (municipality admin), checked before these run; the tenant is the
request's. Least privilege inside the tenant: the municipality admin, who keeps the roster,
reads all of it; a centre head reads the members of the units their groups reach (their
centre, its annexes and mobile units), and another centre's member is "not found". The roster is personal data of employees, so every read is audited here, in the
caller's transaction: who read which members, by id and count, never names or e-mails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Select, and_, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kentra.auth.permissions import Permission
from kentra.auth.principal import Principal, Reader, SystemPrincipal, UnitPath
from kentra.platform.audit.api import record_tenant_event
from kentra.platform.core.models import local_today
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import OBJECT_TYPE
from kentra.platform.units.api import Unit

READ_ACTION = "staff.read"


def _current_on(day: date) -> ColumnElement[bool]:
    return and_(
        StaffMember.start_date <= day,
        or_(StaffMember.end_date.is_(None), StaffMember.end_date >= day),
    )


def _visible_units(session: Session, reader: Reader, municipality_code: str) -> set[int] | None:
    """The ids of the units whose members a person who does not keep the roster may read;
    None for one who keeps it and for system work (every member)."""
    if isinstance(reader, SystemPrincipal):
        return None
    if Permission.TENANT_STAFF_WRITE in reader.permissions:
        return None
    return {
        unit.id
        for unit in session.scalars(select(Unit))
        if reader.reaches_unit(UnitPath(municipality_code, unit.centre, unit.unit))
    }


def _staff(
    session: Session,
    reader: Reader,
    *,
    municipality_code: str,
    unit_id: int | None,
    current: bool | None,
    today: date | None,
) -> Select[StaffMember]:
    """The roster the reader may read, by unit then name then id (unique)."""
    query = select(StaffMember).order_by(StaffMember.unit_id, StaffMember.full_name, StaffMember.id)
    visible = _visible_units(session, reader, municipality_code)
    if visible is not None:
        query = query.where(StaffMember.unit_id.in_(visible))
    if unit_id is not None:
        query = query.where(StaffMember.unit_id == unit_id)
    if current is not None:
        running = _current_on(today or local_today())
        query = query.where(running if current else not_(running))
    return query


def _audit_read(session: Session, reader: Reader, found: Sequence[StaffMember]) -> None:
    record_tenant_event(
        session,
        actor=reader.actor,
        action=READ_ACTION,
        object_type=OBJECT_TYPE,
        details={"staff_ids": [m.id for m in found], "count": len(found)},
    )


def access_staff(
    session: Session,
    reader: Reader,
    *,
    municipality_code: str,
    unit_id: int | None = None,
    current: bool | None = None,
    today: date | None = None,
) -> Sequence[StaffMember]:
    """The roster the reader may read (see the module), by unit then name, optionally one
    unit's and only current (or only not current) contracts; the read is audited as the
    reader's (system work by its reason)."""
    query = _staff(
        session,
        reader,
        municipality_code=municipality_code,
        unit_id=unit_id,
        current=current,
        today=today,
    )
    found = session.scalars(query).all()
    _audit_read(session, reader, found)
    return found


# The roster's order (unit, name, id) as its cursors name it (ADR 0040).
STAFF_ORDER = "unit-name"


def access_staff_page(
    session: Session,
    reader: Reader,
    *,
    municipality_code: str,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    unit_id: int | None = None,
    current: bool | None = None,
    today: date | None = None,
) -> Page[StaffMember]:
    """A page of :func:`access_staff` (keyset paging, ADR 0040); the page's read is audited."""
    query = _staff(
        session,
        reader,
        municipality_code=municipality_code,
        unit_id=unit_id,
        current=current,
        today=today,
    )
    page = page_of(session, query, cursor=cursor, order=STAFF_ORDER, per_page=per_page)
    members = [row[0] for row in page.items]
    _audit_read(session, reader, members)
    return Page(members, page.next_cursor, page.previous_cursor)


def access_staff_member_by_id(
    session: Session, reader: Reader, staff_id: int, *, municipality_code: str
) -> StaffMember | None:
    """One member the reader may read, or None (absent and out of scope alike); a found
    member's read is audited as the reader's."""
    found = session.get(StaffMember, staff_id)
    visible = _visible_units(session, reader, municipality_code)
    if found is not None and visible is not None and found.unit_id not in visible:
        found = None
    if found is not None:
        record_tenant_event(
            session,
            actor=reader.actor,
            action=READ_ACTION,
            object_type=OBJECT_TYPE,
            object_id=str(found.id),
            details={"staff_ids": [found.id], "count": 1},
        )
    return found


def access_staff_member_for_change(
    session: Session, reader: Reader, staff_id: int
) -> StaffMember | None:
    """One member, locked until the transaction ends (edits and invitations queue), or None:
    absent, or a reader who does not keep the roster (only its keepers and system work change
    members). Not a read of its own: the operation audits the change."""
    if isinstance(reader, Principal) and Permission.TENANT_STAFF_WRITE not in reader.permissions:
        return None
    return session.get(StaffMember, staff_id, with_for_update=True, populate_existing=True)


def access_roster_units(session: Session, reader: Reader) -> dict[int, Unit]:
    """Every unit of the municipality by id, closed ones included (the roster's history
    names them); structure, not personal data."""
    units = session.scalars(select(Unit).order_by(Unit.centre, Unit.unit.nulls_first())).all()
    return {unit.id: unit for unit in units}
