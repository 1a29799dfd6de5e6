"""Supervision, derived (domain.md §10, rule 3). Nothing here is stored but the ministry's
decisions on unknown regional-unit seats.

- A municipality with a Social Service is supervised by its own directorates.
- One without is supervised by the directorate of the seat municipality of its regional unit:
  the seat of the reference data, else the ministry's decision, else "not determined" (None).
- A tenant that has not stated whether it has a Social Service (NULL) is "not determined".
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, case, false, func, select
from sqlalchemy.orm import Session

from kentra.platform.reference.models import Municipality, RegionalUnit
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.tenants.models import Tenant, TenantStatus


def regional_unit_seat() -> ColumnElement[str | None]:
    """The seat municipality of ``RegionalUnit`` (reference data, else the ministry's decision).

    For queries that join RegionalUnit and outer-join RegionalUnitSeatDecision on it."""
    return func.coalesce(
        RegionalUnit.seat_municipality_code, RegionalUnitSeatDecision.seat_municipality_code
    )


def supervisor_code() -> ColumnElement[str | None]:
    """The supervising municipality of ``Tenant`` (None: not determined), for queries joining
    Tenant → Municipality → RegionalUnit ⟕ RegionalUnitSeatDecision."""
    return case(
        (Tenant.has_social_service.is_(None), None),
        (Tenant.has_social_service.is_(True), Tenant.code),
        else_=regional_unit_seat(),
    )


def supervision_query() -> Select[str, str | None]:
    """(tenant code, supervisor code) of every active tenant."""
    return (
        select(Tenant.code, supervisor_code().label("supervisor_code"))
        .join(Municipality, Municipality.code == Tenant.code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .outerjoin(
            RegionalUnitSeatDecision,
            RegionalUnitSeatDecision.regional_unit_code == RegionalUnit.code,
        )
        .where(Tenant.status == TenantStatus.ACTIVE)
    )


def supervisor_of(session: Session, municipality_code: str) -> str | None:
    """The municipality whose directorates supervise ``municipality_code``; None when not
    determined (or not an active tenant)."""
    query = supervision_query().where(Tenant.code == municipality_code)
    found = session.execute(query).one_or_none()
    return None if found is None else found.supervisor_code


def supervised_municipality_codes(session: Session, supervisor: str) -> list[str]:
    """The active tenants that ``supervisor``'s directorates supervise (itself included when it
    has a Social Service), sorted."""
    query = supervision_query().where(
        and_(supervisor_code() == supervisor, supervisor_code().is_not(None))
        if supervisor
        else false()
    )
    return sorted(row.code for row in session.execute(query))
