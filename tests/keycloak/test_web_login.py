"""Web login through the real Keycloak, in Debian's Chromium driven by Playwright.

The platform is served with Keycloak as its issuer (the Settings ``KENTRA_OIDC_ISSUER`` and
``KENTRA_OIDC_WEB_CLIENT_SECRET`` give) on the fixed loopback URL the development realm allows
for ``kentra-web`` besides ``make run``'s (``WEB_TEST_URL`` of infra/dev/keycloak_dev_realm.py:
Keycloak matches redirect URIs port and all). ``/auth/login`` sends the browser to Keycloak's
own login page (authorization code + PKCE S256), where the test types the username and the
password as a person would; nothing is done behind the pages' back except reading the app's
session cookie with the app's own serializer, and once ageing the tokens it holds.

* Every demo user (auth/issuer/demo.py) lands back on the app, and the access token its session
  keeps validates and gives the embedded issuer's ``Principal`` for the same user; the ID token
  carries what the realm's mappers put there, as the embedded issuer's does.
* The session cookie with Keycloak's real tokens stays under 4096 bytes for every role: measured
  and written to ``var/browser/keycloak-session-cookie.json``.
* An expired access token is refreshed through Keycloak on the next page (same principal); a
  refresh Keycloak refuses (the session ended by an administrator, an altered token) ends the
  web session.
* Logout (POST /auth/logout with its CSRF token) goes through Keycloak's end_session endpoint
  back to the home page, logged out; Keycloak's SSO session is gone (the login page asks again)
  and the old refresh token is refused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import requests
from flask import Flask
from joserfc.jws import extract_compact
from keycloak import KeycloakAdmin
from playwright.sync_api import Browser, BrowserContext, Page, expect

from kentra.auth import keycloak_realm
from kentra.auth.claims import REALM, WEB_CLIENT
from kentra.auth.issuer.demo import DemoLogin
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.principal import Principal
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import TokenValidator
from tests.browser_support import (
    AXE_REPORT_DIR,
    LiveApp,
    chromium,
    cookie_size,
    live_app,
    new_context,
    read_session,
    session_cookie,
    write_session,
)
from tests.keycloak.conftest import LOGINS, Scratch, embedded_principal, principal_fields, unit
from tests.keycloak.dev_realm import DEV_REALM

WEB_TEST_URL: str = DEV_REALM.WEB_TEST_URL
WEB_TEST_PORT = int(WEB_TEST_URL.rsplit(":", 1)[1])
# What browsers keep of one cookie (name=value); past it the session would silently be lost.
COOKIE_LIMIT = 4096
COOKIE_REPORT = AXE_REPORT_DIR / "keycloak-session-cookie.json"
# Written by Keycloak into ID tokens with no protocol mapper.
ID_TOKEN_BUILT_IN = {"iss", "sub", "aud", "exp", "iat", "jti", "typ", "azp", "sid", "at_hash"}
ID_TOKEN_BUILT_IN.add("nonce")  # a login's ID token, not a refresh's
LOGGED_IN = "Έχετε συνδεθεί ως"
HEAVY_PASSWORD = "kc-test-password-1"  # a scratch user's, removed afterwards


@pytest.fixture(scope="module")
def web_client_as_dev_realm(kc: KeycloakAdmin) -> None:
    """The running Keycloak imported the development realm of this checkout: kentra-web takes
    the test URL as a redirect. Otherwise the answer would be Keycloak's "Invalid parameter:
    redirect_uri" page, which says nothing of the cause."""
    web = next(c for c in kc.get_clients() if c["clientId"] == WEB_CLIENT)
    if WEB_TEST_URL + "/auth/callback" not in web["redirectUris"]:
        pytest.fail(
            f"Keycloak's {WEB_CLIENT} does not accept {WEB_TEST_URL}: it imported an older "
            "development realm; restart it (make keycloak-stop && make keycloak) to import "
            "infra/dev/keycloak_dev_realm.py's"
        )


@pytest.fixture(scope="module")
def live(keycloak_issuer: str, web_client_as_dev_realm: None) -> Iterator[LiveApp]:
    with live_app(
        port=WEB_TEST_PORT,
        oidc_issuer=keycloak_issuer,
        oidc_web_client_secret=DEV_REALM.client_secrets()[WEB_CLIENT],
    ) as served:
        assert served.base_url == WEB_TEST_URL
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@dataclass
class WebLogin:
    """One person's browser profile, logged in to the app through Keycloak."""

    login: DemoLogin
    context: BrowserContext
    page: Page
    # The session's tokens and the cookie's size right after landing on the home page.
    tokens: dict[str, Any]
    cookie_bytes: int


@dataclass
class Web:
    live: LiveApp
    browser: Browser
    keycloak_issuer: str
    contexts: list[BrowserContext] = field(default_factory=list)
    cached: dict[str, WebLogin] = field(default_factory=dict)

    @property
    def app(self) -> Flask:
        return self.live.app

    def log_in(self, login: DemoLogin) -> WebLogin:
        """A fresh browser profile logs in through Keycloak's page and lands on the home page."""
        context = new_context(self.browser, self.live.base_url)
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/auth/login?next=/")
        keycloak_log_in(page, self.keycloak_issuer, login.username, login.password)
        page.wait_for_url(self.live.base_url + "/")
        expect(page.get_by_text(LOGGED_IN)).to_contain_text(login.username)
        cookie = session_cookie(context, self.app)
        assert cookie is not None
        return WebLogin(login, context, page, self.tokens(context), cookie_size(cookie))

    def logged_in_once(self, login: DemoLogin) -> WebLogin:
        """The login of this user shared by the tests that only read it."""
        if login.username not in self.cached:
            self.cached[login.username] = self.log_in(login)
        return self.cached[login.username]

    def tokens(self, context: BrowserContext) -> dict[str, Any]:
        tokens: dict[str, Any] = read_session(context, self.app).get("oidc_tokens") or {}
        return tokens

    def principal(self, access_token: str) -> Principal:
        """The principal of a token, validated as the app validates it."""
        validator: TokenValidator = self.app.extensions["kentra_auth"]
        return Principal.from_claims(validator.validate(access_token))


def keycloak_log_in(page: Page, keycloak_issuer: str, username: str, password: str) -> None:
    """Keycloak's own login page, in Greek (the realm's default locale). With Organizations on,
    Keycloak asks for the username first and for the password on a page of its own."""
    expect(page).to_have_url(re.compile("^" + re.escape(keycloak_issuer + "/")))
    page.get_by_label("Όνομα χρήστη ή email").fill(username)
    page.get_by_role("button", name="Είσοδος").click()
    page.get_by_label("Κωδικός πρόσβασης", exact=True).fill(password)
    page.get_by_role("button", name="Είσοδος").click()


@pytest.fixture(scope="module")
def web(
    live: LiveApp, browser: Browser, keycloak_issuer: str, demo_logins: list[DemoLogin]
) -> Iterator[Web]:
    found = Web(live, browser, keycloak_issuer)
    yield found
    for context in found.contexts:
        context.close()


def _claims(token: str) -> dict[str, Any]:
    """A JWT's payload, unverified (the ID token is checked by Authlib at the callback)."""
    payload: dict[str, Any] = json.loads(extract_compact(token.encode()).payload)
    return payload


@pytest.mark.parametrize("login", LOGINS, ids=[login.username for login in LOGINS])
def test_each_demo_user_logs_in_through_keycloaks_page_with_the_embedded_principal(
    login: DemoLogin, web: Web, app: Flask, embedded_validator: TokenValidator
) -> None:
    signed_in = web.logged_in_once(login)
    assert set(signed_in.tokens) == {"access_token", "refresh_token", "id_token", "expires_at"}
    keycloak = web.principal(signed_in.tokens["access_token"])
    embedded = embedded_principal(app, embedded_validator, login)
    # The embedded issuer's token is the CLI's (password grant); the session's is the web's.
    assert principal_fields(keycloak) == principal_fields(embedded) | {"client": WEB_CLIENT}
    assert keycloak.roles == {login.role}
    # The ID token: Keycloak's own claims and those the realm maps into ID tokens, no more.
    id_claims = _claims(signed_in.tokens["id_token"])
    assert set(id_claims) - ID_TOKEN_BUILT_IN <= keycloak_realm.id_token_claims(WEB_CLIENT)
    assert id_claims["aud"] == WEB_CLIENT
    assert id_claims.get("organization") == _claims(signed_in.tokens["access_token"]).get(
        "organization"
    )


def test_the_session_cookie_stays_under_4_kb_for_every_role(
    web: Web, scratch: Scratch, identity: KeycloakIdentityAdmin
) -> None:
    sizes = {login.username: web.logged_in_once(login).cookie_bytes for login in LOGINS}
    largest = max(sizes, key=sizes.__getitem__)
    # The demo users have short Latin names; a real one may carry long Greek names (two bytes
    # a letter, in the access and the ID token both) and a deeper unit path.
    code = scratch.code()
    identity.ensure_organization(code, "Δήμος Δοκιμής")
    heavy = replace(
        scratch.spec(
            "heavy",
            Role.STAFF,
            unit=unit(code, "kk-dimou-dokimis-kai-perichoron", "parartima-roma-kato-dokimis"),
            profession=Profession.PSYCHOLOGIST,
            password=HEAVY_PASSWORD,
        ),
        first_name="Αικατερίνη-Παναγιώτα",
        last_name="Κωνσταντινοπούλου-Παπαδημητρίου",
    )
    identity.ensure_user(heavy)
    heavy_login = DemoLogin(heavy.username, HEAVY_PASSWORD, Role.STAFF, "")
    heavy_bytes = web.log_in(heavy_login).cookie_bytes
    report = {
        "limit": COOKIE_LIMIT,
        "demo_users": sizes,
        "largest_demo_user": {"username": largest, "bytes": sizes[largest]},
        "margin": COOKIE_LIMIT - sizes[largest],
        "long_greek_names_and_annex": heavy_bytes,
        "margin_long_greek_names_and_annex": COOKIE_LIMIT - heavy_bytes,
    }
    COOKIE_REPORT.parent.mkdir(parents=True, exist_ok=True)
    COOKIE_REPORT.write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    assert sizes[largest] < COOKIE_LIMIT, report
    assert heavy_bytes < COOKIE_LIMIT, report


def _expire(web: Web, context: BrowserContext) -> dict[str, Any]:
    """Make the session's access token count as expired; the session's tokens before."""
    session = read_session(context, web.app)
    tokens = dict(session["oidc_tokens"])
    session["oidc_tokens"] = {**tokens, "expires_at": int(time.time()) - 60}
    write_session(context, web.app, session)
    return tokens


def _logged_out(page: Page) -> None:
    expect(page.get_by_text(LOGGED_IN)).to_have_count(0)
    expect(page.get_by_role("link", name="Σύνδεση", exact=True)).to_be_visible()


def test_an_expired_access_token_is_refreshed_through_keycloak(web: Web) -> None:
    signed_in = web.log_in(LOGINS[-1])
    before = _expire(web, signed_in.context)
    signed_in.page.goto("/")
    expect(signed_in.page.get_by_text(LOGGED_IN)).to_contain_text(signed_in.login.username)
    after = web.tokens(signed_in.context)
    assert after["access_token"] != before["access_token"]
    assert after["expires_at"] > time.time()
    assert after["refresh_token"] != before["refresh_token"]  # Keycloak sends a new one
    assert principal_fields(web.principal(after["access_token"])) == principal_fields(
        web.principal(before["access_token"])
    )
    cookie = session_cookie(signed_in.context, web.app)
    assert cookie is not None
    assert cookie_size(cookie) < COOKIE_LIMIT
    # The realm leaves revokeRefreshToken off: the earlier refresh token still works (the
    # embedded issuer follows the same setting, tests/auth/test_issuer.py).
    assert _refresh(web.keycloak_issuer, before["refresh_token"]).status_code == 200


def _refresh(keycloak_issuer: str, refresh_token: str) -> requests.Response:
    """The refresh grant of kentra-web at Keycloak, as the app sends it."""
    return requests.post(
        keycloak_issuer + "/protocol/openid-connect/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(WEB_CLIENT, DEV_REALM.client_secrets()[WEB_CLIENT]),
        timeout=30,
    )


def test_a_refresh_keycloak_refuses_ends_the_web_session(web: Web, kc: KeycloakAdmin) -> None:
    # An administrator ends the login session in Keycloak: its refresh tokens stop working.
    ended = web.log_in(LOGINS[-1])
    sid = _claims(ended.tokens["access_token"])["sid"]
    kc.connection.raw_delete(f"admin/realms/{REALM}/sessions/{sid}")
    _expire(web, ended.context)
    ended.page.goto("/")
    _logged_out(ended.page)
    assert "oidc_tokens" not in read_session(ended.context, web.app)
    # An altered refresh token (signed by the app, so only Keycloak can tell).
    altered = web.log_in(LOGINS[-1])
    session = read_session(altered.context, web.app)
    refresh_token = session["oidc_tokens"]["refresh_token"]
    session["oidc_tokens"] = {
        **session["oidc_tokens"],
        "refresh_token": refresh_token[:-4] + ("AAAA" if refresh_token[-4:] != "AAAA" else "BBBB"),
        "expires_at": 0,
    }
    write_session(altered.context, web.app, session)
    altered.page.goto("/")
    _logged_out(altered.page)
    assert "oidc_tokens" not in read_session(altered.context, web.app)


def test_logout_ends_the_session_here_and_at_keycloak(web: Web, keycloak_issuer: str) -> None:
    signed_in = web.log_in(LOGINS[-1])
    page = signed_in.page
    # Keycloak's SSO session is live: without the app's cookie, a new login needs no password.
    signed_in.context.clear_cookies(name=web.app.config["SESSION_COOKIE_NAME"])
    page.goto("/auth/login?next=/")
    page.wait_for_url(WEB_TEST_URL + "/")
    expect(page.get_by_text(LOGGED_IN)).to_contain_text(signed_in.login.username)
    refresh_token = web.tokens(signed_in.context)["refresh_token"]

    end_session = keycloak_issuer + "/protocol/openid-connect/logout"
    with page.expect_request(re.compile("^" + re.escape(end_session) + r"\?")) as logout_request:
        page.get_by_role("button", name="Αποσύνδεση").click()
    page.wait_for_url(WEB_TEST_URL + "/")
    _logged_out(page)
    query = logout_request.value.url.split("?", 1)[1]
    assert {part.split("=", 1)[0] for part in query.split("&")} == {
        "client_id",
        "post_logout_redirect_uri",
        "id_token_hint",
    }
    # Keycloak's session is gone: its login page asks again, the refresh token is refused.
    page.goto("/auth/login?next=/")
    expect(page.get_by_label("Όνομα χρήστη ή email")).to_be_visible()
    refused = _refresh(keycloak_issuer, refresh_token)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"
