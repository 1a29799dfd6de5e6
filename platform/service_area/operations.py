"""The mobile units' service area (ADR 0018). They flush, never commit.

A mobile unit serves municipalities near its centre: the policy in force says how near
(``PolicyVersion.mobile_unit_area``: the centre's regional unit, its region — the programme's
rule — or anywhere). A municipality beyond that may be served only under a ministry exception
for the pair (the centre's municipality, the served one), recorded with a reason and audited
in the platform log by codes and ids. A centre lies in its tenant's municipality, so the area
is drawn around the tenant's municipality.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Boolean, Row, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from kentra.platform.audit.api import record_platform_event
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import utcnow
from kentra.platform.policy.api import ServiceArea, policy_in_force
from kentra.platform.reference.api import NO_SUCH_MUNICIPALITY, Municipality
from kentra.platform.service_area.models import ServiceAreaException

EXCEPTION_RECORDED = "service_area.exception_recorded"
EXCEPTION_WITHDRAWN = "service_area.exception_withdrawn"
# The area, as "beyond ..." phrases (Greek, English). COUNTRY has no beyond.
AREA_TEXT: dict[ServiceArea, LazyString] = {
    ServiceArea.REGIONAL_UNIT: _l("της Περιφερειακής Ενότητας του Κέντρου"),
    ServiceArea.REGION: _l("της Περιφέρειας του Κέντρου"),
}


SAME_MUNICIPALITY = _l(
    "Ο Δήμος εξυπηρετείται ήδη από το δικό του Κέντρο· η εξαίρεση αφορά άλλον Δήμο."
)
REASON_REQUIRED = _l("Η αιτιολόγηση είναι υποχρεωτική.")
NOT_FOUND = _l("Δεν υπάρχει τέτοια εξαίρεση εξυπηρέτησης.")


def area_in_force(session: Session) -> ServiceArea:
    """The area of the policy in force (the programme's rule, the region, without one)."""
    policy = policy_in_force(session)
    return ServiceArea.REGION if policy is None else policy.mobile_unit_area


def within(area: ServiceArea, home: Municipality, other: Municipality) -> bool:
    """Whether ``other`` lies in ``area`` around ``home``."""
    if area is ServiceArea.COUNTRY:
        return True
    if area is ServiceArea.REGIONAL_UNIT:
        return other.regional_unit_code == home.regional_unit_code
    return other.regional_unit.region_code == home.regional_unit.region_code


def excepted_codes(session: Session, municipality_code: str) -> set[str]:
    """The municipalities beyond the area that ``municipality_code``'s mobile units may serve."""
    return set(
        session.scalars(
            select(ServiceAreaException.served_municipality_code).where(
                ServiceAreaException.municipality_code == municipality_code
            )
        )
    )


def beyond_area(
    session: Session, municipality_code: str, candidates: Sequence[Municipality]
) -> list[Municipality]:
    """Those of ``candidates`` that ``municipality_code``'s mobile units may not serve: beyond
    the area in force and without an exception, in the given order."""
    home = session.get(Municipality, municipality_code)
    if home is None:  # pragma: no cover - a tenant is a municipality of the reference list
        raise RuntimeError("the tenant is not a municipality of the reference list")
    area = area_in_force(session)
    beyond = [m for m in candidates if not within(area, home, m)]
    if not beyond:
        return []
    allowed = excepted_codes(session, municipality_code)
    return [m for m in beyond if m.code not in allowed]


def outside_area_message(session: Session, municipality: Municipality) -> LazyString:
    """Why ``municipality`` may not be served (translated when shown)."""
    return _l(
        "Ο %(name)s (%(code)s) βρίσκεται εκτός %(area)s: μια Κινητή Μονάδα εξυπηρετεί Δήμους "
        "εκτός αυτής μόνο με εξαίρεση που έχει εγκρίνει το Υπουργείο.",
        name=municipality.name_el,
        code=municipality.code,
        area=AREA_TEXT[area_in_force(session)],
    )


def record_exception(
    session: Session, data: Mapping[str, Any], *, actor: str
) -> tuple[ServiceAreaException, bool]:
    """Allow ``municipality_code``'s mobile units to serve ``served_municipality_code`` (or
    correct the reason of that exception), ``data`` validated by ``ExceptionInputSchema``;
    audited by codes and id. Returns the exception and whether it is new.

    Refused (422, naming the field): an unknown municipality, the same municipality twice, an
    empty reason."""
    municipality_code = data["municipality_code"]
    served_municipality_code = data["served_municipality_code"]
    for field, code in (
        ("municipality_code", municipality_code),
        ("served_municipality_code", served_municipality_code),
    ):
        if session.get(Municipality, code) is None:
            raise DomainError(
                "service_area.no_such_municipality", 422, NO_SUCH_MUNICIPALITY, field=field
            )
    if municipality_code == served_municipality_code:
        raise DomainError(
            "service_area.same_municipality",
            422,
            SAME_MUNICIPALITY,
            field="served_municipality_code",
        )
    text = data["reason"].strip()
    if not text:
        raise DomainError("service_area.reason_required", 422, REASON_REQUIRED, field="reason")
    values = {"reason": text, "decided_by": actor, "decided_at": utcnow()}
    statement = insert(ServiceAreaException).values(
        municipality_code=municipality_code,
        served_municipality_code=served_municipality_code,
        **values,
    )
    # xmax = 0 only for a row this statement inserted (not one it updated).
    row: Row[int, bool] = session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                ServiceAreaException.municipality_code,
                ServiceAreaException.served_municipality_code,
            ],
            set_=values,
        ).returning(ServiceAreaException.id, literal_column("xmax = 0", Boolean))
    ).one()
    exception_id, created = row[0], bool(row[1])
    record_platform_event(
        session,
        actor=actor,
        action=EXCEPTION_RECORDED,
        tenant_code=municipality_code,
        details={
            "exception_id": exception_id,
            "municipality_code": municipality_code,
            "served_municipality_code": served_municipality_code,
            "created": created,
        },
    )
    exception = session.get(ServiceAreaException, exception_id, populate_existing=True)
    assert exception is not None
    return exception, created


def withdraw_exception(session: Session, exception_id: int, *, actor: str) -> None:
    """Withdraw an exception: from now on a mobile unit saved with that municipality is
    refused (units that serve it already keep it until they are edited). Audited."""
    exception = session.get(ServiceAreaException, exception_id, with_for_update=True)
    if exception is None:
        raise DomainError("service_area.not_found", 404, NOT_FOUND)
    municipality_code = exception.municipality_code
    details = {
        "exception_id": exception.id,
        "municipality_code": municipality_code,
        "served_municipality_code": exception.served_municipality_code,
    }
    session.delete(exception)
    session.flush()
    record_platform_event(
        session,
        actor=actor,
        action=EXCEPTION_WITHDRAWN,
        tenant_code=municipality_code,
        details=details,
    )
