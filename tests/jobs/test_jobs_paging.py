"""The jobs list a page at a time (ADR 0040): the API's pages, followed by ``Link``, hold
every run once, newest first (the id breaks a tie of times); a cursor that does not fit is a
422 on the API and the first page with the message on the page. Five finished runs of a task
of these tests, removed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.tasks.models import FanoutRun, RunStatus
from tests.api.test_paging import assert_a_bad_cursor_is_refused, links, walk
from tests.factories import FanoutRunFactory
from tests.tokens import TokenFactory

URL = "/api/v1/jobs"
TASK = "tests.jobs.paging"


@pytest.fixture
def runs(engine: Engine) -> Iterator[list[int]]:
    """Five finished runs, two requested at the same instant; their ids newest first."""
    times = [datetime(2099, 1, day, tzinfo=UTC) for day in (2, 1, 3, 2, 4)]
    with Session(engine) as session, session.begin():
        made = [
            FanoutRunFactory(
                session=session,
                task_name=TASK,
                status=RunStatus.DONE,
                requested_at=at,
                started_at=at,
                finished_at=at,
            )
            for at in times
        ]
        session.flush()
        order = sorted(made, key=lambda r: (r.requested_at, r.id), reverse=True)
        ids = [r.id for r in order]
    yield ids
    with engine.begin() as conn:
        conn.execute(delete(FanoutRun).where(FanoutRun.task_name == TASK))


def test_the_runs_pages_hold_each_once_newest_first(
    client: FlaskClient, tokens: TokenFactory, runs: list[int]
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    pages = walk(client, f"{URL}?per_page=2", headers)
    ids = [r["id"] for page in pages for r in page.get_json()["runs"]]
    assert len(ids) == len(set(ids))
    assert ids[:5] == runs  # from 2099: newer than every other run
    assert client.get(links(pages[2])["prev"], headers=headers).get_json() == pages[1].get_json()
    assert_a_bad_cursor_is_refused(client, headers, api=URL, page="/ministry/jobs")
    later = client.get(f"/ministry/jobs?{links(pages[0])['next'].split('?')[1]}", headers=headers)
    text = later.get_data(as_text=True)
    assert f'href="/ministry/jobs/{runs[2]}"' in text
    assert f'href="/ministry/jobs/{runs[1]}"' not in text
    assert 'rel="prev"' in text
