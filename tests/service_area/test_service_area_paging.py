"""The service-area exceptions a page at a time (ADR 0040): the API's pages, followed by
``Link``, hold every exception once, by municipality and served municipality; a cursor that
does not fit is a 422 on the API and the first page with the message on the page. Exceptions
of 2206 and 2207 (no tenants), removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.service_area.models import ServiceAreaException
from tests.api.test_paging import (
    assert_a_bad_cursor_is_refused,
    links,
    walk,
    whole_and_paged_ids,
)
from tests.factories import ServiceAreaExceptionFactory
from tests.helpers import remove_rows
from tests.tokens import TokenFactory

URL = "/api/v1/service-area/exceptions"
HOMES = ("2206", "2207")


@pytest.fixture
def exceptions(engine: Engine) -> Iterator[list[int]]:
    with Session(engine) as session, session.begin():
        made = [
            ServiceAreaExceptionFactory(
                session=session, municipality_code=home, served_municipality_code=served
            )
            for home, served in (
                ("2206", "2203"),
                ("2207", "2201"),
                ("2206", "2201"),
                ("2207", "2205"),
                ("2206", "2202"),
            )
        ]
        session.flush()
        ids = [m.id for m in made]
    yield ids
    remove_rows(engine, ServiceAreaException.municipality_code, HOMES)


def test_the_exceptions_pages_hold_each_once_in_order(
    client: FlaskClient, tokens: TokenFactory, exceptions: list[int]
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    whole, ids = whole_and_paged_ids(client, URL, headers, per_page=2)
    assert ids == whole
    assert len(ids) == len(set(ids))
    assert set(exceptions) <= set(ids)
    one = walk(client, f"{URL}?municipality_code=2206&per_page=2", headers)
    assert [len(page.get_json()) for page in one] == [2, 1]
    assert [e["served_municipality_code"] for p in one for e in p.get_json()] == [
        "2202",  # Αγιάς
        "2203",  # Ελασσόνας
        "2201",  # Λαρισαίων
    ]
    assert "municipality_code=2206" in links(one[0])["next"]
    assert_a_bad_cursor_is_refused(client, headers, api=URL, page="/ministry/service-area")
