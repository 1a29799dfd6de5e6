"""Operations on units. They flush, never commit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.platform.units.models import Unit, UnitKind


def ensure_unit(
    session: Session, *, centre: str, unit: str | None, kind: UnitKind, name: str
) -> Unit:
    """The unit at ``centre[/unit]``, created if missing (idempotent)."""
    found = session.scalars(
        select(Unit).where(Unit.centre == centre, Unit.unit.is_not_distinct_from(unit))
    ).one_or_none()
    if found is not None:
        return found
    created = Unit(centre=centre, unit=unit, kind=kind, name=name)
    session.add(created)
    session.flush()
    return created
