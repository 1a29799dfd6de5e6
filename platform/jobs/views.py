"""The ministry's jobs pages (Greek, English catalog):

- ``/ministry/jobs``: the recent fan-out runs — task, who started it, a progress bar, counts,
  times (Europe/Athens) and duration;
- ``/ministry/jobs/<run_id>``: one run, and its municipalities that failed or wait for a
  retry, by name, with the error's type. Both reload themselves while a run is unfinished.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.core.database import request_session
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.jobs.access import access_run, access_run_problems, access_runs_page
from kentra.platform.policy.api import RECOMPUTE_TASK_NAME
from kentra.platform.staff.api import OFFBOARDING_TASK_NAME
from kentra.platform.web.paging import page_or_first
from kentra.tasks.models import FanoutRun, RunStatus, TenantState

blueprint = Blueprint("jobs_pages", __name__, template_folder="templates")
PAGE = "/ministry/jobs"
REFRESH_SECONDS = 5

TASK_TEXT: dict[str, Any] = {
    RECOMPUTE_TASK_NAME: lazy_gettext("Επανυπολογισμός συμμόρφωσης"),
    OFFBOARDING_TASK_NAME: lazy_gettext("Απενεργοποίηση λογαριασμών μετά τη λήξη σύμβασης"),
}
STATUS_TEXT: dict[str, Any] = {
    RunStatus.QUEUED.value: lazy_gettext("Σε αναμονή"),
    RunStatus.RUNNING.value: lazy_gettext("Σε εξέλιξη"),
    RunStatus.DONE.value: lazy_gettext("Ολοκληρώθηκε"),
    RunStatus.FAILED.value: lazy_gettext("Ολοκληρώθηκε με σφάλματα"),
}
STATE_TEXT: dict[str, Any] = {
    TenantState.RETRYING.value: lazy_gettext("Νέα προσπάθεια σε εξέλιξη"),
    TenantState.FAILED.value: lazy_gettext("Απέτυχε"),
}
ACTOR_TEXT: dict[str, Any] = {
    "schedule": lazy_gettext("Προγραμματισμένη (καθημερινά)"),
    "cli": lazy_gettext("Γραμμή εντολών"),
}


def task_text(name: str) -> Any:
    return TASK_TEXT.get(name, name)


def actor_text(actor: str) -> Any:
    return ACTOR_TEXT.get(actor, lazy_gettext("Χρήστης του Υπουργείου"))


def duration_text(duration: timedelta | None) -> str:
    if duration is None:
        return "—"
    seconds = max(0, round(duration.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _helpers() -> dict[str, Any]:
    return {
        "task_text": task_text,
        "actor_text": actor_text,
        "status_text": STATUS_TEXT,
        "state_text": STATE_TEXT,
        "duration_text": duration_text,
        "page": PAGE,
    }


def _headers(runs: list[FanoutRun]) -> dict[str, str]:
    return {"Refresh": str(REFRESH_SECONDS)} if any(r.finished_at is None for r in runs) else {}


@blueprint.get(PAGE)
@requires(Permission.NATIONAL_JOBS_READ)
def runs_page() -> ResponseReturnValue:
    """The runs with their progress, newest first, a page at a time."""
    found, paging_errors = page_or_first(
        partial(access_runs_page, request_session(), signed_in_principal())
    )
    runs = found.items
    page = render_template(
        "jobs/list.html", runs=runs, runs_page=found, paging_errors=paging_errors, **_helpers()
    )
    return page, 200, _headers(runs)


@blueprint.get(f"{PAGE}/<int:run_id>")
@requires(Permission.NATIONAL_JOBS_READ)
def run_page(run_id: int) -> ResponseReturnValue:
    """One run: its progress and the municipalities that failed."""
    session = request_session()
    run = access_run(session, signed_in_principal(), run_id)
    if run is None:
        abort(404)
    assert run is not None
    page = render_template(
        "jobs/run.html",
        run=run,
        problems=access_run_problems(session, signed_in_principal(), run_id),
        **_helpers(),
    )
    return page, 200, _headers([run])
