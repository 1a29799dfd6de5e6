"""§5: pages cannot be framed; the headers of a government service.

The probe found no X-Frame-Options and no frame-ancestors anywhere: the signup form and the
"close centre" form could be framed by another site (clickjacking). Every answer now carries
a Content-Security-Policy (``default-src 'self'``, ``frame-ancestors 'none'``, no inline
script), X-Frame-Options, Referrer-Policy, Permissions-Policy and, over TLS, HSTS. The browser
journey (tests/test_journey.py) reads them on every page it visits with the policy enforced;
here: each kind of answer, HSTS's conditions, and a real browser refusing to frame a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from kentra.auth.roles import Role
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings
from kentra.tenants.codes import MunicipalityCode
from tests.browser_support import CHROMIUM, check_prerequisites, live_server
from tests.security.headers import csp_directives, security_header_problems
from tests.tokens import TokenFactory

HTML = {"Accept": "text/html"}


def test_every_kind_of_answer_carries_the_headers(
    client: Flask, tokens: TokenFactory, tenant_a: MunicipalityCode
) -> None:
    admin = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=tenant_a.value)
    answers = {
        "home page": client.get("/", headers=HTML),  # type: ignore[attr-defined]
        "signup form": client.get("/onboarding", headers=HTML),  # type: ignore[attr-defined]
        # The list of units, with the forms of an admin (a unit's page has the close form).
        "units page": client.get(  # type: ignore[attr-defined]
            f"/municipalities/{tenant_a}/units", headers={**HTML, **admin}
        ),
        "error page": client.get("/nowhere", headers=HTML),  # type: ignore[attr-defined]
        "login redirect": client.get(  # type: ignore[attr-defined]
            f"/municipalities/{tenant_a}/units", headers=HTML
        ),
        "issuer login page": client.get("/auth/login", headers=HTML),  # type: ignore[attr-defined]
        "API": client.get("/api/v1/reference/municipalities/0101"),  # type: ignore[attr-defined]
        "API problem": client.get("/api/v1/municipalities/0999"),  # type: ignore[attr-defined]
        "stylesheet": client.get("/static/kentra.css"),  # type: ignore[attr-defined]
    }
    for answer in answers.values():
        answer.close()  # the stylesheet is streamed from its file
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses["units page"] == 200, statuses
    assert statuses["signup form"] == 200, statuses
    assert statuses["error page"] == 404, statuses
    assert statuses["login redirect"] in (302, 303), statuses
    problems = {
        name: found
        for name, answer in answers.items()
        if (found := security_header_problems(answer.headers, secure=False))
    }
    assert problems == {}


def test_the_pages_policy_is_self_only_without_inline_script(client: Flask) -> None:
    policy = csp_directives(client.get("/onboarding").headers["Content-Security-Policy"])  # type: ignore[attr-defined]
    assert policy["default-src"] == ["'self'"]
    assert "script-src" not in policy  # 'self' only: no inline script
    assert "style-src" not in policy
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]


def _app(**changes: object) -> Flask:
    return create_app(replace(Settings.from_env(), **changes))  # type: ignore[arg-type]


def test_hsts_only_over_tls(engine: Engine) -> None:
    app = _app()
    over_tls = app.test_client().get("/healthz", base_url="https://kentra.example.gr")
    assert over_tls.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = app.test_client().get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    # A client cannot claim TLS through X-Forwarded-Proto when no proxy is trusted...
    spoofed = app.test_client().get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed.headers


def test_hsts_behind_a_tls_proxy_and_switched_off(engine: Engine) -> None:
    # ...but behind KENTRA_PROXY_HOPS trusted proxies, their X-Forwarded-Proto counts.
    behind = _app(proxy_hops=1, hsts_seconds=600).test_client()
    answer = behind.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert answer.headers["Strict-Transport-Security"] == "max-age=600"
    off = _app(hsts_seconds=0).test_client().get("/healthz", base_url="https://kentra.example.gr")
    assert "Strict-Transport-Security" not in off.headers


def test_hsts_setting_from_the_environment() -> None:
    assert Settings.from_env({}).hsts_seconds == 31536000
    assert Settings.from_env({"KENTRA_HSTS_SECONDS": "0"}).hsts_seconds == 0


@pytest.fixture(scope="module")
def live(engine: Engine) -> Iterator[str]:
    with live_server() as base:
        yield base


def test_another_site_cannot_frame_the_signup_form(live: str) -> None:
    """The attacker's page puts the form in an invisible frame over its own button: the
    browser refuses to render it."""
    check_prerequisites()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            attacker = browser.new_page()
            with attacker.expect_response(f"{live}/onboarding") as framed:
                attacker.set_content(
                    "<!doctype html><title>win a prize</title>"
                    f'<iframe src="{live}/onboarding" style="opacity:0"></iframe>'
                )
            assert framed.value.status == 200  # the server answered...
            attacker.wait_for_timeout(500)
            frame = attacker.frames[1]
            # ...and the browser showed an error instead of the form.
            assert not frame.url.startswith(live), frame.url
            assert frame.locator("form").count() == 0
        finally:
            browser.close()
