"""The page walk: every page reachable from the home page, as every role, every link followed.

Pages decide their links the way the requests behind them are decided
(``kentra.platform.web.links.may_open``), so no page links to one its reader may not open: a
link that answers 403, 404 or a server error fails here, named with the page it was on. The
data are the authorization matrix's samples (both municipalities), so lists have rows and
their rows have links. The browser side of the walk (375 px, axe) is in tests/test_journey.py.
"""

from __future__ import annotations

from collections import deque
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from kentra.auth.roles import Role
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


def walk(client: FlaskClient, headers: dict[str, str]) -> tuple[dict[str, int], list[str]]:
    """Every page reachable from ``/``: the status of each, and the broken links found."""
    seen: dict[str, int] = {}
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
        elif status == 200:
            queue.extend((link, path) for link in links_of(f"http://localhost{path}", html))
    assert len(seen) < MOST_PAGES, "the walk found a link loop"
    return seen, broken


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_every_link_of_every_page_opens_for_its_reader(
    client: FlaskClient, tokens: TokenFactory, samples: None, role: Role | None
) -> None:
    headers = tokens.headers(role, **token_kwargs(role)) if role else {}
    seen, broken = walk(client, headers)
    assert broken == []
    # The walk went somewhere: the home page links every role to its work, and every page to
    # the footer's pages.
    assert {"/", "/privacy", "/accessibility", "/help"} <= set(seen)
    if role is not None and role is not Role.STAFF:
        assert len(seen) > 4, f"{role}: the home page leads nowhere"
