"""Loaders of the fan-out record (shared schema; no personal data): recent runs, one run,
and a run's municipalities that failed or are being retried, by name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.reference.api import Municipality
from kentra.tasks.models import FanoutRun, FanoutTenant, TenantState

RECENT = 50


@dataclass(frozen=True)
class TenantProblem:
    municipality_code: str
    municipality_name: str
    state: TenantState
    attempts: int
    error_type: str | None


def _runs() -> Select[FanoutRun]:
    return select(FanoutRun).order_by(FanoutRun.requested_at.desc(), FanoutRun.id.desc())


def access_recent_runs(session: Session, reader: Reader, limit: int = RECENT) -> list[FanoutRun]:
    """The latest runs, newest first."""
    return list(session.scalars(_runs().limit(limit)))


# The runs' order (newest requested first) as their cursors name it (ADR 0040).
RUNS_ORDER = "newest"


def access_runs_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[FanoutRun]:
    """A page of the runs, newest first (keyset paging, ADR 0040)."""
    page = page_of(session, _runs(), cursor=cursor, order=RUNS_ORDER, per_page=per_page)
    return Page([row[0] for row in page.items], page.next_cursor, page.previous_cursor)


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
