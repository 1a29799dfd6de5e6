"""Loaders of onboarding requests. The routes require ``platform:onboarding:manage`` (platform
operators and ministry officers), checked by the authorization layer before these run.

Requests carry a representative's contact details (personal data), so every read is audited
here, in the caller's transaction: who read which requests, by id, never the details.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.audit.operations import record_platform_event
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus

READ_ACTION = "onboarding.read"


def access_requests(
    session: Session, reader: Reader, *, status: RequestStatus | None = None
) -> Sequence[OnboardingRequest]:
    """Requests, newest first, optionally only those in ``status``; the read is audited as
    the reader's."""
    query = select(OnboardingRequest).order_by(OnboardingRequest.id.desc())
    if status is not None:
        query = query.where(OnboardingRequest.status == status)
    found = session.scalars(query).all()
    record_platform_event(
        session,
        actor=reader.actor,
        action=READ_ACTION,
        details={"request_ids": [r.id for r in found]},
    )
    return found


def access_request_by_id(
    session: Session, reader: Reader, request_id: int
) -> OnboardingRequest | None:
    """One request, or None; a found request's read is audited."""
    found = session.get(OnboardingRequest, request_id)
    if found is not None:
        record_platform_event(
            session, actor=reader.actor, action=READ_ACTION, details={"request_ids": [found.id]}
        )
    return found
