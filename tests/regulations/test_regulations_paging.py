"""The regulations' lists a page at a time (ADR 0040): the tenant's versions, numbered over
each centre's versions whatever the page, and the ministry's current regulations; pages
followed by ``Link`` hold every row once in order; a cursor that does not fit is a 422 on the
API and the first page with the message on the pages. Municipalities 2204 and 2205 (region
EL61), here and nowhere else; their submissions are removed afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from kentra.auth.principal import SystemPrincipal
from kentra.auth.roles import Role
from kentra.platform.regulations.access import access_versions, access_versions_page
from kentra.platform.regulations.models import RegulationSubmission
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.api.test_paging import assert_a_bad_cursor_is_refused, links, walk
from tests.factories import RegulationSubmissionFactory, RegulationVersionFactory, UnitFactory
from tests.helpers import remove_organizations
from tests.tokens import TokenFactory

CODE, OTHER = "2204", "2205"


@pytest.fixture
def versions(
    engine: Engine, scratch_tenants: Callable[..., list[MunicipalityCode]]
) -> Iterator[MunicipalityCode]:
    """Two centres, versions uploaded in turns (3 of one, 4 of the other)."""
    (code,) = scratch_tenants(CODE)
    with tenant_session(engine, code) as session:
        alfa = UnitFactory(session=session, centre="kk-alfa", name="ΚΚ Άλφα")
        vita = UnitFactory(session=session, centre="kk-vita", name="ΚΚ Βήτα")
        for centre in (vita, alfa, vita, alfa, vita, alfa, vita):
            RegulationVersionFactory(session=session, centre_id=centre.id)
    yield code
    remove_organizations(engine, CODE)


def test_a_page_of_versions_keeps_each_centres_numbers(
    engine: Engine, versions: MunicipalityCode
) -> None:
    reader = SystemPrincipal("test")
    with tenant_session(engine, versions) as session:
        whole = [(row.version.id, row.number) for row in access_versions(session, reader)]
        assert [number for _, number in whole] == [3, 2, 1, 4, 3, 2, 1]
        paged, cursor = [], None
        while True:
            page = access_versions_page(session, reader, cursor=cursor, per_page=2)
            paged += [(row.version.id, row.number) for row in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert paged == whole


def test_the_versions_pages_hold_each_once_and_a_bad_cursor(
    client: FlaskClient, tokens: TokenFactory, versions: MunicipalityCode
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    url = f"/api/v1/municipalities/{CODE}/regulations"
    whole = client.get(url, headers=headers)
    assert "Link" not in whole.headers
    pages = walk(client, f"{url}?per_page=3", headers)
    assert [len(page.get_json()) for page in pages] == [3, 3, 1]
    assert [v["id"] for p in pages for v in p.get_json()] == [v["id"] for v in whole.get_json()]
    assert client.get(links(pages[2])["prev"], headers=headers).get_json() == pages[1].get_json()
    assert_a_bad_cursor_is_refused(
        client, headers, api=url, page=f"/municipalities/{CODE}/regulations"
    )


@pytest.fixture
def submissions(engine: Engine) -> Iterator[list[tuple[str, int]]]:
    """Five current regulations of centres of 2204 and 2205 (two centres of one name)."""
    made = []
    with Session(engine) as session, session.begin():
        for code, centre, name in (
            (CODE, 1, "ΚΚ Α"),
            (CODE, 2, "ΚΚ Β"),
            (OTHER, 1, "ΚΚ Α"),
            (OTHER, 2, "ΚΚ Α"),
            (OTHER, 3, "ΚΚ Γ"),
        ):
            RegulationSubmissionFactory(
                session=session, municipality_code=code, centre_id=centre, centre_name=name
            )
            made.append((code, centre))
    yield made
    with engine.begin() as conn:
        conn.execute(
            delete(RegulationSubmission).where(
                RegulationSubmission.municipality_code.in_((CODE, OTHER))
            )
        )


def test_the_ministry_pages_hold_every_current_regulation_once(
    client: FlaskClient, tokens: TokenFactory, submissions: list[tuple[str, int]]
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    url = "/api/v1/regulations?region=EL61"
    whole = client.get(url, headers=headers).get_json()
    pages = walk(client, f"{url}&per_page=2", headers)
    found = [(r["municipality_code"], r["centre_id"]) for p in pages for r in p.get_json()]
    assert found == [(r["municipality_code"], r["centre_id"]) for r in whole]
    assert len(found) == len(set(found))
    assert set(submissions) <= set(found)
    assert all("region=EL61" in links(p).get("next", "region=EL61") for p in pages)
    assert_a_bad_cursor_is_refused(
        client, headers, api=url, page="/ministry/regulations?region=EL61"
    )
