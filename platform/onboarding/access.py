"""Loaders of onboarding requests. The routes require ``platform:onboarding:manage`` (platform
operators and ministry officers), checked by the authorization layer before these run.

Requests carry a representative's contact details (personal data), so every read is audited
here, in the caller's transaction: who read which requests, by id, never the details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kentra.auth.principal import Reader
from kentra.platform.audit.api import record_platform_event
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus

READ_ACTION = "onboarding.read"


def _requests(status: RequestStatus | None, *, waiting_first: bool) -> Select[Any]:
    """Requests newest first (the id: unique), those waiting for a decision first when
    ``waiting_first``, optionally only those in ``status``."""
    order: list[ColumnElement[Any]] = [OnboardingRequest.id.desc()]
    if waiting_first:
        order.insert(0, OnboardingRequest.status != RequestStatus.SUBMITTED)
    query = select(OnboardingRequest).order_by(*order)
    if status is not None:
        query = query.where(OnboardingRequest.status == status)
    return query


def _audit_read(session: Session, reader: Reader, found: Sequence[OnboardingRequest]) -> None:
    record_platform_event(
        session,
        actor=reader.actor,
        action=READ_ACTION,
        details={"request_ids": [r.id for r in found]},
    )


def access_requests(
    session: Session, reader: Reader, *, status: RequestStatus | None = None
) -> Sequence[OnboardingRequest]:
    """Requests, newest first, optionally only those in ``status``; the read is audited as
    the reader's."""
    found = session.scalars(_requests(status, waiting_first=False)).all()
    _audit_read(session, reader, found)
    return found


# The requests' orders as their cursors name them (ADR 0040).
REQUESTS_ORDERS = {False: "newest", True: "waiting-newest"}


def access_requests_page(
    session: Session,
    reader: Reader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    status: RequestStatus | None = None,
    waiting_first: bool = False,
) -> Page[OnboardingRequest]:
    """A page of the requests, newest first (those waiting for a decision first when
    ``waiting_first``: the reviewers' page); the page's read is audited (keyset paging,
    ADR 0040)."""
    page = page_of(
        session,
        _requests(status, waiting_first=waiting_first),
        cursor=cursor,
        order=REQUESTS_ORDERS[waiting_first],
        per_page=per_page,
    )
    found = [row[0] for row in page.items]
    _audit_read(session, reader, found)
    return Page(found, page.next_cursor, page.previous_cursor)


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
