"""Samples of the policy routes: a finished recompute job for ``<job_id>`` — a fan-out run of
the compliance recompute (shared schema, so one row serves both municipalities of the matrix)."""

from __future__ import annotations

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME
from kentra.tasks.models import FanoutRun, RunStatus
from tests.factories import FanoutRunFactory

JOB_ID = 999_000_301


def prepare(engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    with Session(engine) as session, session.begin():
        run = FanoutRunFactory.build(
            id=JOB_ID,
            task_name=RECOMPUTE_TASK_NAME,
            actor="authorization-matrix",
            status=RunStatus.DONE,
            finished=True,
        )
        session.merge(run)
    return {"job_id": str(JOB_ID)}


def cleanup(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(FanoutRun).where(FanoutRun.id == JOB_ID))
