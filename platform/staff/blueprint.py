"""Staff roster API: ``/api/v1/municipalities/<code>/staff``.

Reading needs ``tenant:staff:read`` (municipality admin, centre head); adding, changing and
inviting need ``tenant:staff:write`` (municipality admin). Every read and write is audited by
id. A member is read with an ETag and changed with If-Match (428 without it, 412 when stale).
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_actor, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.etags import ETAG_HEADER, documents_if_match, etag, require_if_match
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.core.models import local_today
from kentra.platform.staff.access import (
    access_staff_member_by_id,
    access_staff_member_for_change,
    access_staff_page,
)
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import (
    create_staff_member,
    invite_staff_member,
    update_staff_member,
)
from kentra.platform.staff.schemas import (
    StaffMemberCreateSchema,
    StaffMemberSchema,
    StaffMemberUpdateSchema,
    StaffQueryArgsSchema,
)
from kentra.tenants.codes import MunicipalityCode

blueprint = Blueprint(
    "staff", __name__, url_prefix="/municipalities", description="The staff roster"
)
NOT_FOUND = "There is no such staff member in this municipality."
Answer = tuple[dict[str, Any], int, dict[str, str]]


def dump(member: StaffMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "unit_id": member.unit_id,
        "full_name": member.full_name,
        "email": member.email,
        "profile_code": member.profile_code,
        "start_date": member.start_date,
        "end_date": member.end_date,
        "fte": member.fte,
        "is_head": member.is_head,
        "current": member.is_current(local_today()),
        "identity_user_id": member.identity_user_id,
        "invited_at": member.invited_at,
        "version": member.version,
    }


def _answer(member: StaffMember, status: int = 200) -> Answer:
    return dump(member), status, {"ETag": etag(member.version)}


def _for_change(staff_id: int) -> StaffMember:
    return found_or_404(
        access_staff_member_for_change(request_session(), signed_in_principal(), staff_id),
        NOT_FOUND,
    )


@blueprint.route("/<municipality_code>/staff", methods=["GET"])
@requires(Permission.TENANT_STAFF_READ)
@blueprint.paged_list(StaffQueryArgsSchema, StaffMemberSchema(many=True))
def list_staff(
    args: dict[str, Any], municipality_code: MunicipalityCode
) -> tuple[Any, int, dict[str, str]]:
    """The roster by unit then name, optionally one unit's (unit_id) and current or past
    contracts (current); a page at a time (``cursor``, ``per_page``; the pages around in
    ``Link``)."""
    page = access_staff_page(
        request_session(),
        signed_in_principal(),
        municipality_code=municipality_code.value,
        **args,
    )
    return paged([dump(member) for member in page.items], page)


@blueprint.route("/<municipality_code>/staff", methods=["POST"])
@requires(Permission.TENANT_STAFF_WRITE)
@blueprint.arguments(StaffMemberCreateSchema)
@blueprint.response(201, StaffMemberSchema, headers=ETAG_HEADER)
def create_staff(data: dict[str, Any], municipality_code: MunicipalityCode) -> Answer:
    """Add a member to the roster: 422 by field for bad input, 409 for a second head."""
    member = create_staff_member(request_session(), data, actor=current_actor())
    return _answer(member, 201)


@blueprint.route("/<municipality_code>/staff/<int:staff_id>", methods=["GET"])
@requires(Permission.TENANT_STAFF_READ)
@blueprint.response(200, StaffMemberSchema, headers=ETAG_HEADER)
def get_staff(municipality_code: MunicipalityCode, staff_id: int) -> Answer:
    """One member, with its ETag."""
    member = access_staff_member_by_id(
        request_session(),
        signed_in_principal(),
        staff_id,
        municipality_code=municipality_code.value,
    )
    return _answer(found_or_404(member, NOT_FOUND))


@blueprint.route("/<municipality_code>/staff/<int:staff_id>", methods=["PATCH"])
@requires(Permission.TENANT_STAFF_WRITE)
@documents_if_match(blueprint)
@blueprint.arguments(StaffMemberUpdateSchema)
@blueprint.response(200, StaffMemberSchema, headers=ETAG_HEADER)
def update_staff(
    changes: dict[str, Any], municipality_code: MunicipalityCode, staff_id: int
) -> Answer:
    """Change a member (If-Match required); ending a contract is setting end_date."""
    member = _for_change(staff_id)
    require_if_match(member.version)
    kentra = current_app.extensions["kentra"]
    update_staff_member(
        request_session(),
        member,
        changes,
        actor=current_actor(),
        identity=identity_admin(kentra.settings, kentra.engine),
    )
    return _answer(member)


@blueprint.route("/<municipality_code>/staff/<int:staff_id>/invite", methods=["POST"])
@requires(Permission.TENANT_STAFF_WRITE)
@blueprint.response(200, StaffMemberSchema, headers=ETAG_HEADER)
def invite_staff(municipality_code: MunicipalityCode, staff_id: int) -> Answer:
    """Invite the member as a user (role and unit from the roster); again is harmless.

    A member whose contract has ended is a 409; a failure of the identity provider is a 502
    and records nothing."""
    member = _for_change(staff_id)
    kentra = current_app.extensions["kentra"]
    invite_staff_member(
        request_session(),
        member,
        municipality_code=municipality_code.value,
        identity=identity_admin(kentra.settings, kentra.engine),
        actor=current_actor(),
    )
    return _answer(member)
