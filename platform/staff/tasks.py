"""The daily offboarding: accounts of contracts that ended (end dates set in advance) are
disabled, one tenant per transaction, through the identity provider."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kentra.auth.adapters import identity_admin
from kentra.platform.core.config import Settings
from kentra.platform.core.database import get_engine
from kentra.platform.core.models import local_today
from kentra.platform.staff.operations import disable_ended_accounts
from kentra.tasks.celery_app import celery
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

log = logging.getLogger(__name__)
DAILY_TASK_NAME = "kentra.staff.disable_ended_accounts"


@celery.task(bind=True, name=DAILY_TASK_NAME)
def disable_ended_accounts_daily(self: Task) -> dict[str, Any]:  # type: ignore[type-arg]
    settings: Settings = self.app.settings  # type: ignore[attr-defined]
    return offboard_all(get_engine(settings), settings)


def offboard_all(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Every active tenant in turn; a tenant that fails is logged and retried tomorrow."""
    identity = identity_admin(settings, engine)
    today = local_today()
    with Session(engine) as session:
        codes = list(
            session.scalars(
                select(Tenant.code)
                .where(Tenant.status == TenantStatus.ACTIVE)
                .order_by(Tenant.code)
            )
        )
    disabled = failed = 0
    for raw in codes:
        code = parse_municipality_code(raw)
        try:
            with tenant_session(engine, code) as session:
                disabled += disable_ended_accounts(session, identity, today=today, actor="schedule")
        except Exception as exc:  # noqa: BLE001 - one tenant's failure must not stop the others
            failed += 1
            # The provider's message may name the user: its type only.
            log.warning(
                "offboarding failed for a tenant",
                extra={"tenant": code.value, "error_type": type(exc).__name__},
            )
    return {"tenants": len(codes), "disabled": disabled, "failed": failed}
