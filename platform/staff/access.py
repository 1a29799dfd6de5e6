"""Loaders of the staff roster.

The routes require ``tenant:staff:read`` (municipality admin, centre head) or
``tenant:staff:write`` (municipality admin), checked before these run; the tenant is the
request's. The roster is personal data of employees, so every read is audited here, in the
caller's transaction: who read which members, by id and count, never names or e-mails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kentra.platform.audit.operations import record_tenant_event
from kentra.platform.core.models import utcnow
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import OBJECT_TYPE
from kentra.platform.units.models import Unit

READ_ACTION = "staff.read"


def _current_on(day: date) -> ColumnElement[bool]:
    return and_(
        StaffMember.start_date <= day,
        or_(StaffMember.end_date.is_(None), StaffMember.end_date >= day),
    )


def access_staff(
    session: Session,
    *,
    actor: str,
    unit_id: int | None = None,
    current: bool | None = None,
    today: date | None = None,
) -> Sequence[StaffMember]:
    """The roster, by unit then name, optionally one unit's and only current (or only
    not current) contracts; the read is audited."""
    query = select(StaffMember).order_by(StaffMember.unit_id, StaffMember.full_name, StaffMember.id)
    if unit_id is not None:
        query = query.where(StaffMember.unit_id == unit_id)
    if current is not None:
        running = _current_on(today or utcnow().date())
        query = query.where(running if current else not_(running))
    found = session.scalars(query).all()
    record_tenant_event(
        session,
        actor=actor,
        action=READ_ACTION,
        object_type=OBJECT_TYPE,
        details={"staff_ids": [m.id for m in found], "count": len(found)},
    )
    return found


def access_staff_member_by_id(session: Session, staff_id: int, *, actor: str) -> StaffMember | None:
    """One member, or None; a found member's read is audited."""
    found = session.get(StaffMember, staff_id)
    if found is not None:
        record_tenant_event(
            session,
            actor=actor,
            action=READ_ACTION,
            object_type=OBJECT_TYPE,
            object_id=str(found.id),
            details={"staff_ids": [found.id], "count": 1},
        )
    return found


def access_staff_member_for_change(session: Session, staff_id: int) -> StaffMember | None:
    """One member, locked until the transaction ends (edits and invitations queue), or None.
    Not a read of its own: the operation audits the change."""
    return session.get(StaffMember, staff_id, with_for_update=True, populate_existing=True)


def access_roster_units(session: Session) -> dict[int, Unit]:
    """Every unit of the municipality by id, closed ones included (the roster's history
    names them); structure, not personal data."""
    units = session.scalars(select(Unit).order_by(Unit.centre, Unit.unit.nulls_first())).all()
    return {unit.id: unit for unit in units}
