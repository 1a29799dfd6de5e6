"""The policy's history a page at a time (ADR 0040): the API's pages, followed by ``Link``,
hold every version once, newest first; a cursor that does not fit is a 422 on the API and the
first page with the message on the page. Four versions from 2150 (never in force), removed
afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.policy.models import PolicyVersion, ProfessionalProfile, StaffingBand
from tests.api.test_paging import assert_a_bad_cursor_is_refused, links, walk
from tests.factories import PolicyVersionFactory
from tests.tokens import TokenFactory

URL = "/api/v1/policy/versions"


@pytest.fixture
def future(engine: Engine) -> Iterator[list[int]]:
    with Session(engine) as session, session.begin():
        made = [
            PolicyVersionFactory(session=session, valid_from=date(2150, month, 1)).id
            for month in (3, 1, 4, 2)
        ]
    yield made
    with engine.begin() as conn:
        conn.execute(delete(StaffingBand).where(StaffingBand.policy_version_id.in_(made)))
        conn.execute(
            delete(ProfessionalProfile).where(ProfessionalProfile.policy_version_id.in_(made))
        )
        conn.execute(delete(PolicyVersion).where(PolicyVersion.id.in_(made)))


def test_the_history_pages_hold_each_version_once_newest_first(
    client: FlaskClient, tokens: TokenFactory, future: list[int]
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    whole = client.get(URL, headers=headers)
    assert "Link" not in whole.headers
    pages = walk(client, f"{URL}?per_page=2", headers)
    assert len(pages) >= 3
    found = [v["valid_from"] for page in pages for v in page.get_json()]
    assert found == [v["valid_from"] for v in whole.get_json()]
    assert found[:4] == ["2150-04-01", "2150-03-01", "2150-02-01", "2150-01-01"]
    assert len(found) == len(set(found))
    assert client.get(links(pages[2])["prev"], headers=headers).get_json() == pages[1].get_json()
    assert_a_bad_cursor_is_refused(client, headers, api=URL, page="/ministry/policy")
