"""The page walk: every page reachable from the home page, as every role, every link followed.

Pages decide their links the way the requests behind them are decided
(``kentra.platform.web.links.may_open``), so no page links to one its reader may not open: a
link that answers 403, 404 or a server error fails here, named with the page it was on. The
data are the authorization matrix's samples (both municipalities), so lists have rows and
their rows have links.

Then every page the walk reached is opened in Chromium as the same role: axe-core finds no
serious or critical violation, and the page does not scroll sideways on a 375 px screen
(``browser_support.AxeAudit.check``); the browser journey (tests/test_journey.py) does the
same for the pages behind forms.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from kentra.auth.roles import Role
from tests.browser_support import AxeAudit, LiveApp, chromium, live_app, new_context
from tests.test_authorization import (  # the matrix's sample data and principals
    onboarding_request,
    samples,
    token_kwargs,
    unit_ids,
)
from tests.tokens import TokenFactory

__all__ = ["onboarding_request", "samples", "unit_ids"]  # fixtures used here by name

# Links that are not pages to read: the language switch (it only sets a cookie and goes back)
# and the login (a visitor who is signed in never needs it; the walk's visitor has a token).
NOT_WALKED = ("/language/", "/auth/")
# The API document's viewers (Swagger UI and ReDoc, third-party pages for developers, ADR 0037)
# are followed but not audited: axe finds contrast and nesting faults in Swagger UI's own
# markup, which is not the platform's page kit.
NOT_AUDITED = ("/api/v1/docs",)
# More than the platform has today; a walk that reaches it has found a link loop.
MOST_PAGES = 400


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links_of(page_url: str, html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    found = []
    for href in parser.hrefs:
        target, _fragment = urldefrag(urljoin(page_url, href))
        parts = urlsplit(target)
        if parts.scheme not in ("", "http") or (parts.netloc and parts.netloc != "localhost"):
            continue  # another site, mailto:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path and not path.startswith(NOT_WALKED):
            found.append(path)
    return found


@dataclass
class Walk:
    seen: dict[str, int]  # every path reached, with its status
    broken: list[str]  # links that answered 403, 404 or a server error, and where they were
    pages: list[str]  # the HTML pages among them


def walk(client: FlaskClient, headers: dict[str, str]) -> Walk:
    """Every page reachable from ``/``."""
    seen: dict[str, int] = {}
    html_pages: list[str] = []
    broken: list[str] = []
    queue: deque[tuple[str, str]] = deque([("/", "(start)")])
    while queue and len(seen) < MOST_PAGES:
        path, linked_from = queue.popleft()
        if path in seen:
            continue
        with client.get(path, headers=headers) as response:  # downloads hold a file open
            seen[path] = status = response.status_code
            html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
        if status in (403, 404) or status >= 500:
            broken.append(f"{path} ({status}), linked from {linked_from}")
        elif status == 200 and html:
            html_pages.append(path)
            queue.extend((link, path) for link in links_of(f"http://localhost{path}", html))
    assert len(seen) < MOST_PAGES, "the walk found a link loop"
    return Walk(seen, broken, html_pages)


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_every_link_of_every_page_opens_for_its_reader(
    client: FlaskClient, tokens: TokenFactory, samples: None, role: Role | None
) -> None:
    headers = tokens.headers(role, **token_kwargs(role)) if role else {}
    found = walk(client, headers)
    seen = found.seen
    assert found.broken == []
    # The walk went somewhere: the home page links every role to its work, and every page to
    # the footer's pages.
    assert {"/", "/privacy", "/accessibility", "/help"} <= set(seen)
    if role is not None and role is not Role.STAFF:
        assert len(seen) > 4, f"{role}: the home page leads nowhere"


@pytest.fixture(scope="module")
def walker() -> Iterator[tuple[LiveApp, TokenFactory]]:
    """The app on a real port, trusting test tokens issued in its own name."""
    tokens = TokenFactory(issuer="set below")
    with live_app(jwks=tokens.jwks) as live:
        tokens.issuer = live.app.extensions["kentra"].settings.issuer
        yield live, tokens


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_every_page_passes_axe_and_fits_a_phone(
    client: FlaskClient,
    tokens: TokenFactory,
    samples: None,
    walker: tuple[LiveApp, TokenFactory],
    browser: Browser,
    role: Role | None,
) -> None:
    found = walk(client, tokens.headers(role, **token_kwargs(role)) if role else {})
    pages = [path for path in found.pages if not path.startswith(NOT_AUDITED)]
    live, live_tokens = walker
    context = new_context(browser, live.base_url)
    if role is not None:
        context.set_extra_http_headers(live_tokens.headers(role, **token_kwargs(role)))
    audit = AxeAudit(f"walk-{role.value if role else 'anonymous'}")
    page = context.new_page()
    try:
        for path in pages:
            page.goto(path)
            audit.check(page, path)
    finally:
        context.close()
    assert len(audit.pages) == len(pages) >= 4
