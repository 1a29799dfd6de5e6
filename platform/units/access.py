"""Guarded loaders of units. Unit scope is checked here, one condition per line."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import Principal, UnitPath
from kentra.platform.units.models import Unit


def unit_path(municipality_code: str, unit: Unit) -> UnitPath:
    return UnitPath(municipality_code, unit.centre, unit.unit)


def access_units(session: Session) -> Sequence[Unit]:
    """The unit tree (structure, no personal data): for every role that reaches the tenant."""
    return session.scalars(select(Unit).order_by(Unit.centre, Unit.unit.nulls_first())).all()


def access_unit_workspace_by_id(
    session: Session, principal: Principal, municipality_code: str, unit_id: int
) -> Unit | None:
    """A unit whose workspace (where personal data lives) the principal may enter.

    None for a unit that does not exist and for one outside the principal's units alike: the
    caller answers 404 in both cases. A centre head's centre covers its annexes and mobile
    units; staff reach the units they belong to.
    """
    unit = session.get(Unit, unit_id)
    if unit is None:
        return None
    if not principal.reaches_unit(unit_path(municipality_code, unit)):
        return None
    return unit
