"""Samples of the service-area routes: one ministry exception (Heraklion's mobile units may
serve Δωρίδα, 3102) under a fixed id. The ministry's DELETE in the matrix withdraws it (an
allowed write); nothing else reads it afterwards. The tenant route needs no sample."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert

from kentra.platform.service_area.models import ServiceAreaException

EXCEPTION_ID = 999_000_601


def prepare(engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    with engine.begin() as conn:
        conn.execute(
            insert(ServiceAreaException).values(
                id=EXCEPTION_ID,
                municipality_code="7101",
                served_municipality_code="3102",
                reason="authorization matrix sample",
                decided_by="test",
            )
        )
    return {"exception_id": str(EXCEPTION_ID)}


def cleanup(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ServiceAreaException).where(ServiceAreaException.id == EXCEPTION_ID))
