"""The daily recompute: scheduled once a day, and by hand with `kentra compliance recompute`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from kentra.platform.app.cli import main
from kentra.platform.compliance.models import JobStatus, RecomputeJob
from kentra.tasks.celery_app import celery
from kentra.tenants.models import Tenant, TenantStatus


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
        job = session.scalars(select(RecomputeJob).where(RecomputeJob.requested_by == "cli")).one()
        active = session.scalars(select(Tenant.code).where(Tenant.status == TenantStatus.ACTIVE))
        try:
            assert job.status == JobStatus.DONE
            assert job.total == job.done == len(list(active))
            assert job.failed == 0
            assert f"{job.done} of {job.total} municipalities recomputed, 0 failed" in result.output
        finally:
            session.execute(delete(RecomputeJob).where(RecomputeJob.id == job.id))
            session.commit()


@pytest.mark.usefixtures("engine")
def test_the_daily_task_creates_its_own_job(engine: Engine) -> None:
    from kentra.platform.compliance.tasks import recompute_daily

    outcome = recompute_daily.apply().get()
    with Session(engine) as session:
        job = session.get(RecomputeJob, outcome["job_id"])
        assert job is not None
        try:
            assert (job.requested_by, job.status, job.policy_version_id) == (
                "schedule",
                JobStatus.DONE,
                None,
            )
        finally:
            session.delete(job)
            session.commit()
