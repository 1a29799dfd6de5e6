"""Jobs API (ministry): ``GET /api/v1/jobs`` the recent fan-out runs, ``GET
/api/v1/jobs/<run_id>`` one run with its municipalities that failed or wait for a retry."""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.jobs.access import access_run, access_run_problems, access_runs_page
from kentra.platform.jobs.schemas import RunDetailSchema, RunListSchema, RunPageArgsSchema

blueprint = Blueprint(
    "jobs",
    __name__,
    url_prefix="/jobs",
    description="Background jobs over the municipalities (fan-out runs) and their progress",
)
RUN_FIELDS = (
    "id",
    "task_name",
    "actor",
    "status",
    "details",
    "total",
    "done",
    "failed",
    "retried",
    "requested_at",
    "started_at",
    "finished_at",
    "duration",
)
NOT_FOUND = "Δεν υπάρχει τέτοια εργασία. There is no such job."


@blueprint.route("", methods=["GET"])
@requires(Permission.NATIONAL_JOBS_READ)
@blueprint.paged_list(RunPageArgsSchema, RunListSchema)
def list_runs(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """The runs, newest first: task, who started it, counts, times, duration; a page at a
    time (``cursor``, ``per_page``; the pages around in ``Link``)."""
    page = access_runs_page(request_session(), signed_in_principal(), **args)
    return paged({"runs": page.items}, page)


@blueprint.route("/<int:run_id>", methods=["GET"])
@requires(Permission.NATIONAL_JOBS_READ)
@blueprint.response(200, RunDetailSchema)
def get_run(run_id: int) -> Any:
    """One run, with the municipalities that failed (the error's type, never its text)."""
    session = request_session()
    run = found_or_404(access_run(session, signed_in_principal(), run_id), NOT_FOUND)
    values = {name: getattr(run, name) for name in RUN_FIELDS}
    return {**values, "problems": access_run_problems(session, signed_in_principal(), run_id)}
