"""Samples of the Beneficiaries Registry's routes: one person in each municipality, same id,
registered by the unit the matrix's staff member works in (4501's annex), so that every role
allowed to read people reaches them."""

from __future__ import annotations

from sqlalchemy import Engine, delete

from kentra.platform.audit.models import AuditEvent
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from tests.factories import BeneficiaryFactory

BENEFICIARY_ID = 999_000_501
UNITS = {"4501": "own annex", "7101": "other tenant's centre"}


def prepare(engine: Engine, unit_ids: dict[str, int]) -> dict[str, str]:
    for code, unit_key in UNITS.items():
        with tenant_session(engine, parse_municipality_code(code)) as session:
            BeneficiaryFactory(session=session, id=BENEFICIARY_ID, unit_id=unit_ids[unit_key])
    return {"beneficiary_id": str(BENEFICIARY_ID)}


def cleanup(engine: Engine) -> None:
    for code in UNITS:
        with tenant_session(engine, parse_municipality_code(code)) as session:
            session.execute(delete(Beneficiary).where(Beneficiary.id == BENEFICIARY_ID))
            session.execute(delete(AuditEvent).where(AuditEvent.object_type == "beneficiary"))
