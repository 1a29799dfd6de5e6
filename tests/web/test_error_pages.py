"""Browsers get error pages in the layout; the API and other clients get problem documents."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.tokens import TokenFactory

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_browser_gets_a_greek_page_with_the_same_status(client: FlaskClient) -> None:
    response = client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="el">' in page
    assert "<title>Η σελίδα δεν βρέθηκε — Kentra</title>" in page
    assert "<h1>Η σελίδα δεν βρέθηκε</h1>" in page


def test_another_municipality_is_the_same_page_as_none(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    headers = {**HTML, **tokens.headers(None, municipality="4501")}
    other = client.get("/municipalities/7101", headers=headers)
    missing = client.get("/municipalities/0999", headers=headers)
    assert other.status_code == missing.status_code == 404
    # The same page but for the address itself (the language switch links back to it) and the
    # logout form's CSRF token, which is signed with the second it was made in.
    assert page_of(other.get_data(as_text=True), "7101") == page_of(
        missing.get_data(as_text=True), "0999"
    )


def page_of(html: str, code: str) -> str:
    """The page with its municipality code and CSRF token replaced by placeholders."""
    without_token = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return without_token.replace(code, "CODE")


def test_the_api_and_clients_not_asking_for_html_get_problems(client: FlaskClient) -> None:
    api = client.get("/api/v1/no-such-thing", headers=HTML)
    assert api.mimetype == "application/problem+json"
    plain = client.get("/no-such-page")
    assert plain.mimetype == "application/problem+json"


def test_the_error_page_speaks_english_when_chosen(client: FlaskClient) -> None:
    client.get("/language/en")
    try:
        page = client.get("/no-such-page", headers=HTML).get_data(as_text=True)
    finally:
        client.get("/language/el")
    assert '<html lang="en">' in page
    assert "<h1>Page not found</h1>" in page
