"""Paged lists of the API (ADR 0040): the pages, followed by their ``Link`` headers, hold
every row once in the list's order; ``prev`` leads back; a cursor that does not fit is a 422
``core.bad_cursor``; ``per_page`` is bounded."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

from kentra.auth.roles import Role
from kentra.platform.core.paging import BAD_CURSOR
from kentra.platform.units.models import UnitKind
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.factories import SubUnitFactory, UnitFactory, UnitServedMunicipalityFactory
from tests.helpers import remove_organizations
from tests.tokens import TokenFactory

LINK = re.compile(r'<([^>]+)>; rel="(next|prev)"')
CODE = "2201"


def links(response: Any) -> dict[str, str]:
    """The ``Link`` header's targets by relation."""
    return {rel: target for target, rel in LINK.findall(response.headers.get("Link", ""))}


def walk(client: FlaskClient, url: str, headers: dict[str, str]) -> list[Any]:
    """Every page of ``url``, following ``rel="next"``: the pages' bodies, in order."""
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        pages.append(response)
        url = links(response).get("next", "")
    return pages


def whole_and_paged_ids(
    client: FlaskClient, url: str, headers: dict[str, str], per_page: int
) -> tuple[list[Any], list[Any]]:
    """The rows' ids of ``url`` in one page of 200, and those of its pages of ``per_page``
    followed by ``Link``: a paged list holds the same rows either way."""
    whole = client.get(with_query(url, "per_page=200"), headers=headers)
    assert whole.status_code == 200, whole.get_json()
    pages = walk(client, with_query(url, f"per_page={per_page}"), headers)
    paged = [row["id"] for page in pages for row in page.get_json()]
    return [row["id"] for row in whole.get_json()], paged


# A cursor that decodes but was never issued by any list.
A_BAD_CURSOR = "cursor=Zm9vCmJhcg"


def assert_a_bad_cursor_is_refused(
    client: FlaskClient, headers: dict[str, str], *, api: str = "", page: str = ""
) -> None:
    """What every paged list promises for a cursor that does not fit (ADR 0040): the API list
    ``api`` answers a 422 ``core.bad_cursor``; its ``page`` shows the first page with the
    message. Either may be left out where a test covers only one of them."""
    if api:
        refused = client.get(with_query(api, A_BAD_CURSOR), headers=headers)
        assert (refused.status_code, refused.get_json()["code"]) == (422, "core.bad_cursor")
    if page:
        shown = client.get(with_query(page, A_BAD_CURSOR), headers=headers)
        assert shown.status_code == 200
        assert str(BAD_CURSOR) in shown.get_data(as_text=True)


def with_query(url: str, query: str) -> str:
    """``url`` with ``query`` added to whatever query it has."""
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.fixture
def tree(engine: Engine, scratch_tenants: Callable[..., list[MunicipalityCode]]) -> Any:
    """Two centres, each with annexes and mobile units (one serving a municipality)."""
    (code,) = scratch_tenants(CODE)
    with tenant_session(engine, code) as session:
        for name in ("kk-alfa", "kk-vita"):
            centre = UnitFactory(session=session, centre=name)
            for segment in ("parartima-1", "parartima-2", "parartima-3"):
                SubUnitFactory(session=session, parent=centre, unit=segment)
            mobile = SubUnitFactory(
                session=session, parent=centre, unit="kinhth-1", kind=UnitKind.MOBILE_UNIT
            )
            UnitServedMunicipalityFactory(session=session, unit_id=mobile.id)
    yield code
    remove_organizations(engine, CODE)


def test_the_units_pages_hold_every_unit_once_in_the_trees_order(
    client: FlaskClient, tokens: TokenFactory, tree: MunicipalityCode
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    url = f"/api/v1/municipalities/{CODE}/units"
    whole = client.get(f"{url}?per_page=200", headers=headers)
    assert "Link" not in whole.headers  # one page: no Link
    everything = whole.get_json()
    assert len(everything) == 10
    assert [u["path"] for u in everything][:2] == [
        f"/m-{CODE}/kk-alfa",
        f"/m-{CODE}/kk-alfa/kinhth-1",
    ]

    pages = walk(client, f"{url}?per_page=3", headers)
    assert [len(page.get_json()) for page in pages] == [3, 3, 3, 1]
    assert [u for page in pages for u in page.get_json()] == everything
    # A page without its centre still names it; the served municipalities are the unit's.
    second = pages[1].get_json()
    centres = {u["path"]: u["id"] for u in everything if u["kind"] == "centre"}
    assert {u["centre_id"] for u in second if u["kind"] != "centre"} <= set(centres.values())
    mobile = next(u for page in pages for u in page.get_json() if u["kind"] == "mobile_unit")
    assert [m["code"] for m in mobile["served_municipalities"]] == ["2303"]

    # The Link keeps the query's other arguments; prev leads back to the page before.
    assert "prev" not in links(pages[0])
    last = links(pages[-2])["next"]
    assert parse_qs(urlsplit(last).query)["per_page"] == ["3"]
    back = client.get(links(pages[-1])["prev"], headers=headers)
    assert back.get_json() == pages[-2].get_json()
    assert "next" not in links(pages[-1])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=Zm9vCmJhcg", "cursor"),  # decodes, but not a cursor of this list
        ("cursor=not%20base64!", "cursor"),
        ("per_page=0", "per_page"),
        ("per_page=201", "per_page"),
    ],
)
def test_a_page_argument_that_does_not_fit_is_a_422(
    client: FlaskClient, tokens: TokenFactory, tree: MunicipalityCode, query: str, field: str
) -> None:
    response = client.get(
        f"/api/v1/municipalities/{CODE}/units?{query}",
        headers=tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE),
    )
    assert response.status_code == 422
    assert field in response.get_json()["errors"]["query"]


def test_a_cursor_of_another_list_is_refused_as_bad_cursor(
    client: FlaskClient, tokens: TokenFactory, tree: MunicipalityCode
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    first = client.get("/api/v1/reference/municipalities?per_page=2")
    cursor = parse_qs(urlsplit(links(first)["next"]).query)["cursor"][0]
    response = client.get(f"/api/v1/municipalities/{CODE}/units?cursor={cursor}", headers=headers)
    assert response.status_code == 422
    assert response.get_json()["code"] == "core.bad_cursor"


def test_the_municipalities_pages_hold_each_once_with_the_filters_kept(
    client: FlaskClient,
) -> None:
    pages = walk(client, "/api/v1/reference/municipalities?region=EL43&per_page=5", {})
    codes = [m["code"] for page in pages for m in page.get_json()]
    assert [len(page.get_json()) for page in pages] == [5, 5, 5, 5, 4]
    assert codes == sorted(set(codes))  # each once, by code
    assert all("region=EL43" in links(page).get("next", "region=EL43") for page in pages)
    back = client.get(links(pages[2])["prev"])
    assert back.get_json() == pages[1].get_json()
