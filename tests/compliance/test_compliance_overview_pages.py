"""The national compliance table: sortable columns, keyset pages, the CSV of the selection.

The rows are written straight into ``shared.centre_compliance`` (the summary the recompute
keeps) for 130 reference municipalities that are not tenants: the table reads only that
summary and reference data.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.reference.models import Municipality
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.factories import UnitFactory
from tests.tokens import TokenFactory

ROWS = 130
CENTRE_PREFIX = "Πίνακας "


@pytest.fixture(scope="module")
def table(engine: Engine) -> Iterator[list[str]]:
    """130 centres (every third one compliant), named so that their order is known."""
    with Session(engine) as session, session.begin():
        policy_id = session.scalar(select(PolicyVersion.id).order_by(PolicyVersion.id))
        taken = set(session.scalars(select(CentreCompliance.municipality_code)))
        codes = [
            code
            for code in session.scalars(select(Municipality.code).order_by(Municipality.code))
            if code not in taken
        ][:ROWS]
        for number, code in enumerate(codes):
            session.add(
                CentreCompliance(
                    municipality_code=code,
                    centre_id=1,
                    centre_name=f"{CENTRE_PREFIX}{number:03d}",
                    status=ComplianceStatus.COMPLIANT
                    if number % 3 == 0
                    else ComplianceStatus.NON_COMPLIANT,
                    unmet=[] if number % 3 == 0 else ["staff_below_minimum"],
                    staff_count=number % 7,
                    required_staff=2,
                    policy_version_id=policy_id,
                )
            )
    yield codes
    with Session(engine) as session, session.begin():
        session.execute(
            delete(CentreCompliance).where(CentreCompliance.centre_name.startswith(CENTRE_PREFIX))
        )


@pytest.fixture
def ministry(tokens: TokenFactory) -> dict[str, str]:
    """A ministry officer's headers: the whole country's table."""
    return tokens.headers(Role.MINISTRY_OFFICER)


def centres_of(html: str) -> list[str]:
    return re.findall(rf"{CENTRE_PREFIX}(\d{{3}})", html)


def next_link(html: str) -> str | None:
    found = re.search(r'<a href="(/compliance\?[^"]*)" rel="next">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_table_pages_through_every_centre_once(
    client: FlaskClient, ministry: dict[str, str], table: list[str]
) -> None:
    seen: list[str] = []
    url: str | None = "/compliance?order=centre"
    pages = 0
    while url is not None:
        response = client.get(url, headers=ministry)
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        on_page = centres_of(html)
        assert len(on_page) <= 50
        seen += on_page
        url = next_link(html)
        pages += 1
    assert pages == 3  # 130 of ours (plus any session tenant's) at 50 a page
    assert seen == sorted(seen)
    assert sorted(seen) == [f"{n:03d}" for n in range(ROWS)]  # none repeated, none skipped


def test_a_column_sorts_both_ways_and_says_so(
    client: FlaskClient, ministry: dict[str, str], table: list[str]
) -> None:
    html = client.get("/compliance?order=centre&dir=desc", headers=ministry).get_data(as_text=True)
    shown = centres_of(html)
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == f"{ROWS - 1:03d}"
    assert 'aria-sort="descending"' in html
    # The heading now offers the other direction.
    assert "order=centre&amp;dir=asc" in html


def test_the_csv_holds_the_whole_selection_in_the_pages_order(
    client: FlaskClient, ministry: dict[str, str], table: list[str]
) -> None:
    response = client.get("/compliance.csv?status=compliant&order=centre", headers=ministry)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # spreadsheets then read UTF-8 Greek
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["Περιφέρεια", "Δήμος", "Κέντρο"]
    ours = [row for row in rows[1:] if row[2].startswith(CENTRE_PREFIX)]
    assert [row[2] for row in ours] == [
        f"{CENTRE_PREFIX}{n:03d}" for n in range(ROWS) if n % 3 == 0
    ]
    assert {row[3] for row in ours} == {"Συμμορφώνεται"}


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", "Y2VudHJlOmFzYwo-PmlfMQ"],  # garbage; a cursor of another order
)
def test_a_bad_cursor_is_a_422_that_says_to_start_again(
    client: FlaskClient, ministry: dict[str, str], table: list[str], cursor: str
) -> None:
    response = client.get(f"/compliance?order=region&cursor={cursor}", headers=ministry)
    assert response.status_code == 422
    assert "ξεκινήστε από την πρώτη σελίδα" in response.get_data(as_text=True)


def test_a_cursor_of_another_order_is_refused(
    client: FlaskClient, ministry: dict[str, str], table: list[str]
) -> None:
    first = client.get("/compliance?order=staff", headers=ministry).get_data(as_text=True)
    following = next_link(first)
    assert following is not None
    swapped = following.replace("order=staff", "order=municipality")
    assert client.get(swapped, headers=ministry).status_code == 422


def test_a_regional_officer_pages_only_through_their_region(
    client: FlaskClient, tokens: TokenFactory, table: list[str]
) -> None:
    attica = tokens.headers(Role.REGIONAL_OFFICER, region="EL30")
    csv_text = client.get("/compliance.csv", headers=attica).get_data(as_text=True)
    regions = {row[0] for row in csv.reader(io.StringIO(csv_text.removeprefix("\ufeff")))}
    assert regions <= {"Περιφέρεια", "Περιφέρεια Αττικής"}


def test_a_centre_not_computed_yet_is_said_to_be_in_computation(
    client: FlaskClient,
    tokens: TokenFactory,
    engine: Engine,
    scratch_tenants: Callable[..., list[MunicipalityCode]],
) -> None:
    """A centre the worker has not summarised yet (it runs after the commit, ADR 0035): the
    page says so and reloads itself, instead of saying there is no centre."""
    (code,) = scratch_tenants("7401")  # Χανιά: the last codes, after the table's 130
    admin = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=code.value)
    url = f"/municipalities/{code.value}/compliance"
    before = client.get(url, headers=admin)
    assert "δεν έχει ακόμη ανοιχτό Κέντρο" in before.get_data(as_text=True)
    assert "Refresh" not in before.headers
    with tenant_session(engine, code) as session:
        UnitFactory(session=session, centre="kk-chanion", name="Κέντρο Κοινότητας Χανίων")
    # Written without the operation: no event, so no summary until one is computed.
    shown = client.get(url, headers=admin)
    text = shown.get_data(as_text=True)
    assert shown.status_code == 200
    assert "υπολογίζεται μόλις τώρα" in text
    assert shown.headers["Refresh"] == "3"
    assert "Δήμος Χανίων" in text  # by name, not by its code
