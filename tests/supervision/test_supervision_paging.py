"""The supervision lists a page at a time (ADR 0040): the supervised municipalities and the
unknown seats, followed by ``Link``, hold every row once by code; a cursor that does not fit
is a 422. The tenants are test_supervision's."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from kentra.auth.roles import Role
from tests.api.test_paging import assert_a_bad_cursor_is_refused, links, walk
from tests.supervision.test_supervision import (  # noqa: F401 - fixtures
    NO_SERVICE,
    SEAT,
    clean,
    tenants,
)
from tests.tokens import TokenFactory


@pytest.mark.usefixtures("tenants")
def test_the_supervised_pages_hold_each_once_by_code(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    headers = tokens.headers(Role.SUPERVISOR_OPERATIONAL, municipality=SEAT)
    url = "/api/v1/supervision/supervised"
    pages = walk(client, f"{url}?per_page=1", headers)
    assert [[m["municipality_code"] for m in page.get_json()] for page in pages] == [
        [SEAT],
        [NO_SERVICE],
    ]
    assert client.get(links(pages[1])["prev"], headers=headers).get_json() == pages[0].get_json()
    assert_a_bad_cursor_is_refused(client, headers, api=url)


def test_the_unknown_seats_pages_hold_each_once_by_code(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    url = "/api/v1/supervision/seats"
    pages = walk(client, f"{url}?per_page=2", headers)
    assert [[u["regional_unit_code"] for u in page.get_json()] for page in pages] == [
        ["25", "52"],
        ["63"],
    ]
    assert pages[1].get_json()[0]["municipalities"][0]["name_el"] == "Δήμος Κέας"
    assert_a_bad_cursor_is_refused(client, headers, api=url)
