"""Policy API: ``/api/v1/policy`` — the staffing policy's versions, and the recompute jobs a
new version starts. Ministry only (``national:policy:manage``)."""

from __future__ import annotations

from typing import Any

from kentra.auth.flask import current_actor, current_reader, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.core.models import local_today as today
from kentra.platform.policy.access import (
    access_policy_in_force,
    access_policy_versions_page,
    access_recompute_job_by_id,
)
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import (
    publish_policy_version,
)
from kentra.platform.policy.recompute import RecomputeJob
from kentra.platform.policy.schemas import (
    PolicyVersionCreatedSchema,
    PolicyVersionCreateSchema,
    PolicyVersionPageArgsSchema,
    PolicyVersionSchema,
    RecomputeJobSchema,
)

blueprint = Blueprint(
    "policy",
    __name__,
    url_prefix="/policy",
    description="The staffing policy as data: versions, and the recompute jobs they start",
)
JOB_NOT_FOUND = "Δεν υπάρχει τέτοια εργασία επανυπολογισμού. There is no such recompute job."


def dump_version(version: PolicyVersion, in_force: PolicyVersion | None) -> dict[str, Any]:
    return {
        "id": version.id,
        "valid_from": version.valid_from,
        "note": version.note,
        "head_profile_code": version.head_profile_code,
        "mobile_unit_area": version.mobile_unit_area.value,
        "created_at": version.created_at,
        "in_force": in_force is not None and version.id == in_force.id,
        "bands": version.bands,
        "profiles": version.profiles,
    }


@blueprint.route("/versions", methods=["GET"])
@requires(Permission.NATIONAL_POLICY_MANAGE)
@blueprint.paged_list(PolicyVersionPageArgsSchema, PolicyVersionSchema(many=True))
def list_versions(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """Every version of the policy, newest first, the one in force marked; a page at a time
    (``cursor``, ``per_page``; the pages around in ``Link``)."""
    session = request_session()
    in_force = access_policy_in_force(session, current_reader())
    page = access_policy_versions_page(session, current_reader(), **args)
    return paged([dump_version(v, in_force) for v in page.items], page)


@blueprint.route("/versions", methods=["POST"])
@requires(Permission.NATIONAL_POLICY_MANAGE)
@blueprint.arguments(PolicyVersionCreateSchema)
@blueprint.response(201, PolicyVersionCreatedSchema)
def create_version(data: dict[str, Any]) -> dict[str, Any]:
    """A new version from ``valid_from`` (today or later); starts the recompute of every
    centre in the background (follow ``recompute_job.id`` at ``/policy/jobs/<id>``).

    Bands with a gap or an overlap, a first band not from 0, a last band not open-ended, or
    a head profile not among the profiles: 422 with the reason. A taken ``valid_from``: 409."""
    session = request_session()
    version, job = publish_policy_version(session, data, actor=current_actor(), today=today())
    return {
        **dump_version(version, access_policy_in_force(session, current_reader())),
        "recompute_job": job,
    }


@blueprint.route("/jobs/<int:job_id>", methods=["GET"])
@requires(Permission.NATIONAL_POLICY_MANAGE)
@blueprint.response(200, RecomputeJobSchema)
def get_job(job_id: int) -> RecomputeJob:
    """A recompute job's progress: ``done`` and ``failed`` of ``total`` municipalities."""
    return found_or_404(
        access_recompute_job_by_id(request_session(), signed_in_principal(), job_id),
        JOB_NOT_FOUND,
    )
