"""Supervision, derived (domain.md §10, rule 3). Nothing here is stored but the ministry's
decisions on unknown regional-unit seats.

- A municipality with a Social Service is supervised by its own directorates.
- One without is supervised by the directorate of the seat municipality of its regional unit:
  the seat of the reference data, else the ministry's decision, else "not determined" (None).
- A tenant that has not stated whether it has a Social Service (NULL) is "not determined".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, false, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from kentra.platform.audit.api import record_platform_event
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import utcnow
from kentra.platform.reference.api import Municipality, RegionalUnit
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.tenants.models import Tenant, TenantStatus

SEAT_DECIDED = "supervision.seat_decided"


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


@cache
def tenant_route_lookup() -> Select[str, str, str | None]:
    """The tenant's status, region and supervising municipality (derived) for the bind
    parameter ``code``: the lookup tenant routing runs in every tenant request
    (``kentra.tenants.routing.init_app``). Built once."""
    return (
        select(Tenant.status, RegionalUnit.region_code, supervisor_code().label("supervisor"))
        .join(Municipality, Municipality.code == Tenant.code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .outerjoin(
            RegionalUnitSeatDecision,
            RegionalUnitSeatDecision.regional_unit_code == RegionalUnit.code,
        )
        .where(Tenant.code == bindparam("code"))
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


class Basis(enum.StrEnum):
    """Why a municipality is supervised by whom it is."""

    OWN_SOCIAL_SERVICE = "own_social_service"
    REGIONAL_UNIT_SEAT = "regional_unit_seat"  # the seat of the reference data
    MINISTRY_DECISION = "ministry_decision"  # the seat the ministry set (unknown in the data)
    NOT_DETERMINED = "not_determined"  # Social Service not stated, or the seat still unknown


@dataclass(frozen=True)
class Supervision:
    """A tenant's derived supervision: who, and on what basis (supervisor None: not determined)."""

    municipality_code: str
    municipality_name_el: str
    supervisor_code: str | None
    supervisor_name_el: str | None
    basis: Basis


def _basis(
    has_social_service: bool | None, reference_seat: str | None, supervisor: str | None
) -> Basis:
    if supervisor is None:
        return Basis.NOT_DETERMINED
    if has_social_service:
        return Basis.OWN_SOCIAL_SERVICE
    if reference_seat is not None:
        return Basis.REGIONAL_UNIT_SEAT
    return Basis.MINISTRY_DECISION


def supervision_details_query() -> Select[str, str, bool | None, str | None, str | None, str]:
    """Every active tenant's supervision with its basis and names (one query; filter it)."""
    supervisor = aliased(Municipality)
    derived = supervisor_code()
    return (
        select(
            Tenant.code,
            Municipality.name_el,
            Tenant.has_social_service,
            RegionalUnit.seat_municipality_code.label("reference_seat"),
            derived.label("supervisor_code"),
            supervisor.name_el.label("supervisor_name_el"),
        )
        .join(Municipality, Municipality.code == Tenant.code)
        .join(RegionalUnit, RegionalUnit.code == Municipality.regional_unit_code)
        .outerjoin(
            RegionalUnitSeatDecision,
            RegionalUnitSeatDecision.regional_unit_code == RegionalUnit.code,
        )
        .outerjoin(supervisor, supervisor.code == derived)
        .where(Tenant.status == TenantStatus.ACTIVE)
        .order_by(Tenant.code)
    )


def supervision_from_row(row: Any) -> Supervision:
    return Supervision(
        municipality_code=row.code,
        municipality_name_el=row.name_el,
        supervisor_code=row.supervisor_code,
        supervisor_name_el=row.supervisor_name_el,
        basis=_basis(row.has_social_service, row.reference_seat, row.supervisor_code),
    )


NO_REGIONAL_UNIT = _l("Δεν υπάρχει Περιφερειακή Ενότητα με αυτόν τον κωδικό.")
SEAT_KNOWN = _l(
    "Η έδρα αυτής της Περιφερειακής Ενότητας είναι γνωστή από τα δεδομένα αναφοράς και δεν "
    "ορίζεται με απόφαση."
)
SEAT_OUTSIDE_UNIT = _l("Ο Δήμος δεν ανήκει σε αυτή την Περιφερειακή Ενότητα.")
NOTE_REQUIRED = _l("Η αιτιολόγηση είναι υποχρεωτική.")


def set_regional_unit_seat(
    session: Session, regional_unit_code: str, seat_municipality_code: str, *, note: str, actor: str
) -> RegionalUnitSeatDecision:
    """Record (or correct) the ministry's decision on the seat of a regional unit whose seat
    the reference data leaves unknown; audited (ids only). ``actor``: the decider's subject.

    Refused: unknown unit (404); a unit whose seat is known (409); a seat outside the unit or
    an empty note (422)."""
    unit = session.get(RegionalUnit, regional_unit_code)
    if unit is None:
        raise DomainError("supervision.no_such_regional_unit", 404, NO_REGIONAL_UNIT)
    if unit.seat_municipality_code is not None:
        raise DomainError("supervision.seat_known", 409, SEAT_KNOWN)
    seat = session.get(Municipality, seat_municipality_code)
    if seat is None or seat.regional_unit_code != unit.code:
        raise DomainError(
            "supervision.seat_outside_unit",
            422,
            SEAT_OUTSIDE_UNIT,
            field="seat_municipality_code",
        )
    if not note.strip():
        raise DomainError("supervision.note_required", 422, NOTE_REQUIRED, field="note")
    previous = session.scalar(
        select(RegionalUnitSeatDecision.seat_municipality_code)
        .where(RegionalUnitSeatDecision.regional_unit_code == unit.code)
        .with_for_update()
    )
    values = {
        "seat_municipality_code": seat.code,
        "note": note.strip(),
        "decided_by": actor,
        "decided_at": utcnow(),
    }
    statement = insert(RegionalUnitSeatDecision).values(regional_unit_code=unit.code, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[RegionalUnitSeatDecision.regional_unit_code], set_=values
        )
    )
    record_platform_event(
        session,
        actor=actor,
        action=SEAT_DECIDED,
        details={
            "regional_unit_code": unit.code,
            "seat_municipality_code": seat.code,
            "previous_seat_municipality_code": previous,
        },
    )
    decision = session.get(RegionalUnitSeatDecision, unit.code, populate_existing=True)
    assert decision is not None
    return decision
