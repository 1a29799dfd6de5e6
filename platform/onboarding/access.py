"""Loaders of onboarding requests. The routes require ``platform:onboarding:manage`` (platform
operators and ministry officers), checked by the authorization layer before these run."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus


def access_requests(
    session: Session, *, status: RequestStatus | None = None
) -> Sequence[OnboardingRequest]:
    """Requests, newest first, optionally only those in ``status``."""
    query = select(OnboardingRequest).order_by(OnboardingRequest.id.desc())
    if status is not None:
        query = query.where(OnboardingRequest.status == status)
    return session.scalars(query).all()


def access_request_by_id(session: Session, request_id: int) -> OnboardingRequest | None:
    return session.get(OnboardingRequest, request_id)
