"""The daily recompute: scheduled once a day, and by hand with `kentra compliance recompute`;
both are fan-out runs of the tenant recompute (ADR 0036), visible as jobs."""

from __future__ import annotations

import subprocess

from click.testing import CliRunner
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from kentra.platform.app.cli import main
from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME
from kentra.tasks.celery_app import celery
from kentra.tasks.models import FanoutRun, FanoutTenant, RunStatus, TenantState
from kentra.tenants.models import Tenant, TenantStatus
from tests.worker_support import delivered, wait_for_run


def test_beat_runs_the_daily_recompute_once_a_day() -> None:
    entry = celery.conf.beat_schedule["compliance-daily"]
    assert entry["task"] == "kentra.compliance.recompute_daily"
    celery.loader.import_default_modules()  # what a worker or beat does at start
    assert entry["task"] in celery.tasks
    assert entry["schedule"].hour == {0}
    assert entry["schedule"].minute == {30}


def test_the_cli_recomputes_every_active_tenant_as_a_visible_job(engine: Engine) -> None:
    result = CliRunner().invoke(main, ["compliance", "recompute"])
    assert result.exit_code == 0, result.output
    with Session(engine) as session:
        job = session.scalars(select(FanoutRun).where(FanoutRun.actor == "cli")).one()
        active = list(
            session.scalars(select(Tenant.code).where(Tenant.status == TenantStatus.ACTIVE))
        )
        try:
            assert (job.task_name, job.status) == (RECOMPUTE_TASK_NAME, RunStatus.DONE)
            assert job.total == job.done == len(active)
            assert job.failed == job.retried == 0
            assert job.duration is not None
            assert job.duration == job.finished_at - job.started_at  # type: ignore[operator]
            states = session.scalars(
                select(FanoutTenant.state).where(FanoutTenant.run_id == job.id)
            ).all()
            assert states == [TenantState.DONE] * len(active)
            assert f"{job.done} of {job.total} municipalities recomputed, 0 failed" in result.output
        finally:
            session.execute(delete(FanoutRun).where(FanoutRun.id == job.id))
            session.commit()


def test_the_daily_task_fans_out_through_the_worker(
    engine: Engine, worker: subprocess.Popen[bytes]
) -> None:
    from kentra.platform.compliance.tasks import recompute_daily

    with delivered():
        outcome = recompute_daily.apply().get()
    run = wait_for_run(engine, outcome["job_id"])
    try:
        assert (run.actor, run.task_name, run.details) == ("schedule", RECOMPUTE_TASK_NAME, {})
        assert (run.status, run.failed) == (RunStatus.DONE, 0)
        assert run.done == run.total == outcome["total"] >= 2
    finally:
        with engine.begin() as conn:
            conn.execute(delete(FanoutRun).where(FanoutRun.id == run.id))
