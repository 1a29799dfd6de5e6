"""Samples of the staff roster's routes: one member in each municipality, same id.

The member's contract has ended, so an allowed role's POST to invite changes nothing (409) and
never reaches the identity provider.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete

from kentra.platform.audit.models import AuditEvent
from kentra.platform.staff.models import StaffMember
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from tests.factories import StaffMemberFactory

STAFF_ID = 999_000_401
UNITS = {"4501": "own centre", "7101": "other tenant's centre"}


def prepare(engine: Engine, unit_ids: dict[str, int]) -> dict[str, str]:
    for code, unit_key in UNITS.items():
        with tenant_session(engine, parse_municipality_code(code)) as session:
            StaffMemberFactory(
                session=session,
                id=STAFF_ID,
                unit_id=unit_ids[unit_key],
                full_name="Δείγμα Πίνακα",
                email="matrix-staff@example.invalid",
                ended=True,
            )
    return {"staff_id": str(STAFF_ID)}


def cleanup(engine: Engine) -> None:
    for code in UNITS:
        with tenant_session(engine, parse_municipality_code(code)) as session:
            session.execute(delete(StaffMember).where(StaffMember.id == STAFF_ID))
            session.execute(delete(AuditEvent).where(AuditEvent.object_type == "staff_member"))
