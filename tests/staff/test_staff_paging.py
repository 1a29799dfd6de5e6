"""The roster a page at a time (ADR 0040): the API's pages, followed by ``Link``, hold every
member once in the roster's order; a cursor that does not fit is a 422 on the API and the
first page with the message on the page. Municipality 2203, here and nowhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from kentra.auth.roles import Role
from kentra.platform.core.paging import BAD_CURSOR
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.api.test_paging import assert_a_bad_cursor_is_refused, links, walk
from tests.factories import StaffMemberFactory, UnitFactory
from tests.helpers import remove_organizations
from tests.tokens import TokenFactory

CODE = "2203"


@pytest.fixture
def roster(
    engine: Engine, scratch_tenants: Callable[..., list[MunicipalityCode]]
) -> Iterator[list[int]]:
    """Seven members over two centres; their ids in the roster's order (unit, name, id)."""
    (code,) = scratch_tenants(CODE)
    with tenant_session(engine, code) as session:
        ids = []
        for centre in ("kk-alfa", "kk-vita"):
            unit = UnitFactory(session=session, centre=centre)
            for name in ("Γ", "Α", "Β", "Α") if centre == "kk-alfa" else ("Β", "Α", "Δ"):
                member = StaffMemberFactory(session=session, unit_id=unit.id, full_name=name)
                ids.append((unit.id, name, member.id))
    yield [member for *_, member in sorted(ids)]
    remove_organizations(engine, CODE)


def test_the_roster_pages_hold_every_member_once_in_order(
    client: FlaskClient, tokens: TokenFactory, roster: list[int]
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    url = f"/api/v1/municipalities/{CODE}/staff"
    whole = client.get(url, headers=headers)
    assert "Link" not in whole.headers
    assert [m["id"] for m in whole.get_json()] == roster
    pages = walk(client, f"{url}?per_page=3&current=true", headers)
    assert [len(page.get_json()) for page in pages] == [3, 3, 1]
    assert [m["id"] for page in pages for m in page.get_json()] == roster
    assert "current=true" in links(pages[0])["next"]
    back = client.get(links(pages[2])["prev"], headers=headers)
    assert back.get_json() == pages[1].get_json()
    assert_a_bad_cursor_is_refused(client, headers, api=url)


def test_the_roster_page_follows_a_cursor_and_a_bad_one_shows_the_first_page(
    client: FlaskClient, tokens: TokenFactory, roster: list[int]
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    url = f"/municipalities/{CODE}/staff"
    first = client.get(url, headers=headers).get_data(as_text=True)
    assert 'rel="next"' not in first  # seven members: one page of 50
    assert "<caption>Μέλη του προσωπικού (7)</caption>" in first  # the roster's count
    assert all(f'/staff/{member}"' in first for member in roster)
    api = client.get(f"/api/v1{url}?per_page=3", headers=headers)
    later = client.get(links(api)["next"].removeprefix("/api/v1"), headers=headers)
    shown = later.get_data(as_text=True)
    assert [f'/staff/{m}"' in shown for m in roster] == [False] * 3 + [True] * 4
    assert 'rel="prev"' in shown
    # A page's rows are not the roster's count: the caption of a paged roster names none.
    assert "<caption>Μέλη του προσωπικού</caption>" in shown
    bad = client.get(f"{url}?cursor=Zm9vCmJhcg", headers=headers)
    assert bad.status_code == 200
    text = bad.get_data(as_text=True)
    assert str(BAD_CURSOR) in text
    assert all(f'/staff/{member}"' in text for member in roster)
