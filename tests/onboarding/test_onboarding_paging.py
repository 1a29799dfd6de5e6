"""Onboarding requests a page at a time (ADR 0040): the API's pages, followed by ``Link``,
hold every request once, newest first; the reviewers' page keeps those waiting first across
pages; a cursor that does not fit is a 422 on the API and the first page with the message on
the page. Requests of 2206, 2207, 2304 and 2305 (no tenants), removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.auth.principal import SystemPrincipal
from kentra.auth.roles import Role
from kentra.platform.onboarding.access import access_requests, access_requests_page
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus
from tests.api.test_paging import (
    assert_a_bad_cursor_is_refused,
    links,
    walk,
    whole_and_paged_ids,
)
from tests.factories import OnboardingRequestFactory
from tests.helpers import remove_rows
from tests.tokens import TokenFactory

CODES = ("2206", "2207", "2304", "2305")


@pytest.fixture
def requests(engine: Engine) -> Iterator[list[int]]:
    """Waiting and decided requests, made in turns; their ids."""
    ids = []
    with Session(engine) as session, session.begin():
        for code in CODES:
            for decided in (True, False, True):
                if not decided and code in CODES[2:]:
                    continue
                made = OnboardingRequestFactory(
                    session=session, municipality_code=code, decided=decided
                )
                ids.append(made.id)
        session.flush()
    yield ids
    remove_rows(engine, OnboardingRequest.municipality_code, CODES)


def test_the_requests_pages_hold_each_once_newest_first(
    client: FlaskClient, tokens: TokenFactory, requests: list[int]
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    url = "/api/v1/onboarding/requests"
    whole, ids = whole_and_paged_ids(client, url, headers, per_page=3)
    assert ids == whole == sorted(whole, reverse=True)
    assert set(requests) <= set(ids)
    waiting = walk(client, f"{url}?status=submitted&per_page=1", headers)
    assert all("status=submitted" in links(p).get("next", "status=submitted") for p in waiting)
    assert {r["status"] for p in waiting for r in p.get_json()} == {"submitted"}
    assert_a_bad_cursor_is_refused(client, headers, api=url)


def test_the_reviewers_pages_keep_those_waiting_first(
    engine: Engine, client: FlaskClient, tokens: TokenFactory, requests: list[int]
) -> None:
    reader = SystemPrincipal("test")
    with Session(engine) as session:
        everything = access_requests(session, reader)
        expected = [
            r.id
            for r in sorted(everything, key=lambda r: (r.status != RequestStatus.SUBMITTED, -r.id))
        ]
        paged, cursor = [], None
        while True:
            page = access_requests_page(
                session, reader, cursor=cursor, per_page=2, waiting_first=True
            )
            paged += [r.id for r in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert paged == expected
    assert_a_bad_cursor_is_refused(
        client, tokens.headers(Role.MINISTRY_OFFICER), page="/onboarding/requests"
    )
