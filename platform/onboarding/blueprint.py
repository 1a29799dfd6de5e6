"""Onboarding API: ``/api/v1/onboarding/requests``.

Submitting is public (the municipality's representative has no account yet); reading and
deciding need ``platform:onboarding:manage``. These are not tenant routes: the permission is
checked through any of the caller's roles.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from werkzeug.exceptions import TooManyRequests

from kentra.auth.adapters import identity_admin
from kentra.auth.flask import current_principal, public, requires, signed_in_principal
from kentra.auth.permissions import Permission
from kentra.platform.api import Blueprint, found_or_404
from kentra.platform.api.paging import paged
from kentra.platform.core.database import request_session
from kentra.platform.onboarding.access import access_request_by_id, access_requests_page
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus
from kentra.platform.onboarding.operations import (
    approve_request,
    reject_request,
    submit_request,
)
from kentra.platform.onboarding.schemas import (
    OnboardingDecisionSchema,
    OnboardingRejectionSchema,
    OnboardingRequestCreateSchema,
    OnboardingRequestQueryArgsSchema,
    OnboardingRequestSchema,
)
from kentra.platform.ratelimits.limits import public_submission_wait

blueprint = Blueprint(
    "onboarding",
    __name__,
    url_prefix="/onboarding",
    description="Self-service signup of municipalities, and its review",
)
NOT_FOUND = "There is no onboarding request with this id."


def _decider() -> str:
    """The signed-in reviewer's subject (audit rows name people by id)."""
    principal = current_principal()
    assert principal is not None  # @requires ran
    return principal.subject


# Shared by the API and the signup page: one count per client address for both.
SUBMISSION_SCOPE = "onboarding-requests"
TOO_MANY_SUBMISSIONS = (
    "Πάρα πολλές αιτήσεις από την ίδια διεύθυνση· δοκιμάστε ξανά αργότερα. "
    "Too many requests from this address; try again later."
)


@blueprint.route("/requests", methods=["POST"])
@public
@blueprint.arguments(OnboardingRequestCreateSchema)
@blueprint.response(201, OnboardingRequestSchema)
def submit(data: dict[str, Any]) -> OnboardingRequest:
    """Request onboarding for a municipality (public: the representative has no account yet).

    A municipality too small for a centre of its own is refused with the reason (422); one
    already on the platform, or with a request waiting for a decision, is a 409. Too many
    submissions from one address are a 429 with Retry-After."""
    wait = public_submission_wait(SUBMISSION_SCOPE)
    if wait is not None:
        raise TooManyRequests(TOO_MANY_SUBMISSIONS, retry_after=wait)
    return submit_request(request_session(), data)


@blueprint.route("/requests", methods=["GET"])
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
@blueprint.paged_list(OnboardingRequestQueryArgsSchema, OnboardingRequestSchema(many=True))
def list_requests(args: dict[str, Any]) -> tuple[Any, int, dict[str, str]]:
    """Onboarding requests, newest first, optionally filtered by status; a page at a time
    (``cursor``, ``per_page``; the pages around in ``Link``)."""
    status = args.get("status")
    page = access_requests_page(
        request_session(),
        signed_in_principal(),
        status=RequestStatus(status) if status is not None else None,
        cursor=args.get("cursor"),
        per_page=args["per_page"],
    )
    return paged(page.items, page)


@blueprint.route("/requests/<int:request_id>", methods=["GET"])
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
@blueprint.response(200, OnboardingRequestSchema)
def get_request(request_id: int) -> OnboardingRequest:
    """One onboarding request."""
    return found_or_404(
        access_request_by_id(request_session(), signed_in_principal(), request_id), NOT_FOUND
    )


@blueprint.route("/requests/<int:request_id>/approve", methods=["POST"])
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
@blueprint.arguments(OnboardingDecisionSchema)
@blueprint.response(200, OnboardingRequestSchema)
def approve(decision: dict[str, Any], request_id: int) -> OnboardingRequest:
    """Approve: provision the tenant and its identity organization, invite the first
    municipality admin (the request's contact e-mail), then mark the request approved.

    A decided request is a 409. If provisioning or the invitation fails, the request stays
    submitted and approving it again completes the work."""
    kentra = current_app.extensions["kentra"]
    return approve_request(
        request_session(),
        request_id,
        actor=_decider(),
        engine=kentra.engine,
        identity=identity_admin(kentra.settings, kentra.engine),
        reason=decision.get("reason"),
    )


@blueprint.route("/requests/<int:request_id>/reject", methods=["POST"])
@requires(Permission.PLATFORM_ONBOARDING_REVIEW)
@blueprint.arguments(OnboardingRejectionSchema)
@blueprint.response(200, OnboardingRequestSchema)
def reject(decision: dict[str, Any], request_id: int) -> OnboardingRequest:
    """Reject with a reason (required, 3 to 1000 characters). A decided request is a 409."""
    return reject_request(
        request_session(), request_id, actor=_decider(), reason=decision["reason"]
    )
