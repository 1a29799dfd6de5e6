"""The daily offboarding: accounts of contracts that ended (end dates set in advance) are
disabled through the identity provider — a fan-out (ADR 0036) of the tenant task
``kentra.staff.disable_ended_accounts_of_tenant`` over every active tenant, one transaction
each; a tenant that fails is retried (bounded), then recorded failed and tried again the next
day."""

from __future__ import annotations

from typing import Any

from celery import Task
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.auth.adapters import identity_admin
from kentra.platform.core.config import Settings
from kentra.platform.core.database import get_engine
from kentra.platform.core.models import local_today
from kentra.platform.staff.operations import OFFBOARDING_TASK_NAME, disable_ended_accounts
from kentra.tasks.base import TenantTask
from kentra.tasks.celery_app import celery
from kentra.tasks.fanout import run_here, start_fanout

DAILY_TASK_NAME = "kentra.staff.disable_ended_accounts"
TENANT_TASK_NAME = OFFBOARDING_TASK_NAME


@celery.task(base=TenantTask, bind=True, name=TENANT_TASK_NAME)
def disable_ended_accounts_of_tenant(self: TenantTask) -> int:
    """The task's tenant: disable the accounts of ended contracts; how many."""
    settings: Settings = self.app.settings  # type: ignore[attr-defined]
    identity = identity_admin(settings, get_engine(settings))
    return disable_ended_accounts(self.session, identity, today=local_today(), actor="schedule")


@celery.task(bind=True, name=DAILY_TASK_NAME)
def disable_ended_accounts_daily(self: Task) -> dict[str, Any]:  # type: ignore[type-arg]
    """The daily run (Celery beat): a fan-out over every active tenant."""
    engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
    with Session(engine) as session, session.begin():
        run = start_fanout(session, TENANT_TASK_NAME, actor="schedule")
        return {"run_id": run.id, "tenants": run.total}


def offboard_all(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Every active tenant in this process (a fan-out run driven here); its counts."""
    del settings  # the tenant task reads the app's settings, as on a worker
    with Session(engine) as session, session.begin():
        run_id = start_fanout(session, TENANT_TASK_NAME, actor="schedule", send=False).id
    run = run_here(engine, run_id)
    return {"run_id": run.id, "tenants": run.total, "done": run.done, "failed": run.failed}
