"""Links decided like the requests behind them (kentra.platform.web.links.may_open)."""

from __future__ import annotations

import pytest
from flask import Flask

from kentra.auth.roles import Role
from kentra.platform.web.links import may_open
from tests.tokens import TokenFactory


def decide(app: Flask, headers: dict[str, str], *hrefs: str) -> list[bool]:
    with app.test_request_context("/", headers=headers):
        app.preprocess_request()  # authentication, as for any page
        return [may_open(href) for href in hrefs]


def test_an_anonymous_visitor_may_open_public_pages_only(app: Flask) -> None:
    assert decide(app, {}, "/onboarding", "/privacy#top", "/compliance", "/no/such/page") == [
        True,
        True,
        False,
        False,
    ]


def test_a_municipality_admin_may_open_their_own_municipality_only(
    app: Flask, tokens: TokenFactory
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality="4501")
    own, other, absent, malformed, national = decide(
        app,
        headers,
        "/municipalities/4501/units?x=1",
        "/municipalities/7101/units",
        "/municipalities/9999/units",  # no such municipality on the platform
        "/municipalities/45/units",
        "/ministry/policy",
    )
    assert (own, other, absent, malformed, national) == (True, False, False, False, False)


@pytest.mark.parametrize(("region", "expected"), [("EL30", True), ("EL43", False)])
def test_a_regional_officer_reaches_the_municipalities_of_their_region(
    app: Flask, tokens: TokenFactory, region: str, expected: bool
) -> None:
    headers = tokens.headers(Role.REGIONAL_OFFICER, region=region)
    # 4501 is in Attica (EL30): the page opens for Attica's officer only.
    assert decide(app, headers, "/municipalities/4501/compliance") == [expected]
