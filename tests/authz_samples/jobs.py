"""Samples of the jobs routes: a finished fan-out run for ``<run_id>`` with one failed
municipality (shared schema: one row serves both municipalities of the matrix)."""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.tasks.models import FanoutRun, FanoutTenant, RunStatus, TenantState
from tests.factories import FanoutRunFactory

RUN_ID = 999_000_701


def prepare(engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    with Session(engine) as session, session.begin():
        run = FanoutRunFactory.build(
            id=RUN_ID,
            task_name="kentra.compliance.recompute_tenant",
            actor="authorization-matrix",
            status=RunStatus.FAILED,
            finished=True,
            total=1,
            failed=1,
            retried=2,
        )
        session.merge(run)
        session.flush()
        session.merge(
            FanoutTenant(
                run_id=RUN_ID,
                municipality_code="7101",
                state=TenantState.FAILED,
                attempts=3,
                error_type="OperationalError",
            )
        )
    return {"run_id": str(RUN_ID)}


def cleanup(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(FanoutRun).where(FanoutRun.id == RUN_ID))
