"""Loaders of the fan-out record (shared schema; no personal data): recent runs, one run,
and a run's municipalities that failed or are being retried, by name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.reference.models import Municipality
from kentra.tasks.models import FanoutRun, FanoutTenant, TenantState

RECENT = 50


@dataclass(frozen=True)
class TenantProblem:
    municipality_code: str
    municipality_name: str
    state: TenantState
    attempts: int
    error_type: str | None


def access_recent_runs(session: Session, reader: Reader, limit: int = RECENT) -> list[FanoutRun]:
    """The latest runs, newest first."""
    return list(
        session.scalars(
            select(FanoutRun)
            .order_by(FanoutRun.requested_at.desc(), FanoutRun.id.desc())
            .limit(limit)
        )
    )


def access_run(session: Session, reader: Reader, run_id: int) -> FanoutRun | None:
    return session.get(FanoutRun, run_id)


def access_run_problems(session: Session, reader: Reader, run_id: int) -> list[TenantProblem]:
    """The run's municipalities that failed or wait for a retry, by name."""
    rows = session.execute(
        select(FanoutTenant, Municipality.name_el)
        .join(Municipality, Municipality.code == FanoutTenant.municipality_code, isouter=True)
        .where(
            FanoutTenant.run_id == run_id,
            FanoutTenant.state.in_((TenantState.FAILED, TenantState.RETRYING)),
        )
        .order_by(Municipality.name_el, FanoutTenant.municipality_code)
    ).all()
    return [
        TenantProblem(
            municipality_code=tenant.municipality_code,
            municipality_name=name or tenant.municipality_code,
            state=tenant.state,
            attempts=tenant.attempts,
            error_type=tenant.error_type,
        )
        for tenant, name in rows
    ]
