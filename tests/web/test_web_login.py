"""Web login against a live server: code + PKCE through the embedded issuer's login page,
cookie flags, CSRF on logout, local-only ``next``, and logout ending both sessions."""

from __future__ import annotations

import html
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, text
from werkzeug.serving import make_server

from kentra.auth.identity import UserSpec
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Role
from kentra.auth.web import init_web_login, safe_next
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings

PASSWORD = "a-test-password-1"


@pytest.fixture(scope="module")
def live(engine: Engine) -> Iterator[str]:
    """The whole app served on a free port; its base URL (and so its issuer) follow the port."""
    holder: dict[str, Any] = {}

    def serve(environ: Any, start_response: Any) -> Any:
        # The app is created after the server: its base URL needs the port the server got.
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, serve, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    holder["app"] = create_app(replace(Settings.from_env(), base_url=base))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    holder["app"].extensions["kentra"].engine.dispose()


@pytest.fixture(scope="module")
def staff_user(engine: Engine) -> str:
    username = f"web-staff-{uuid.uuid4().hex[:8]}"
    EmbeddedIdentityAdmin(engine).ensure_user(
        UserSpec(
            username=username,
            email=f"{username}@example.gr",
            role=Role.STAFF,
            municipality_code="4501",
            unit=UnitPath("4501", "kk-athinon", "parartima-1"),
            password=PASSWORD,
        )
    )
    return username


def _form(page: requests.Response, base: str) -> tuple[str, dict[str, str]]:
    action = html.unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    hidden = re.findall(
        r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text
    )
    return (base + action if action.startswith("/") else action), {
        k: html.unescape(v) for k, v in hidden
    }


def log_in(
    base: str, username: str, next_path: str = "/"
) -> tuple[requests.Session, requests.Response]:
    browser = requests.Session()
    page = browser.get(f"{base}/auth/login", params={"next": next_path}, timeout=30)
    assert page.status_code == 200
    assert "/auth/realms/kentra/protocol/openid-connect/auth" in page.url
    action, hidden = _form(page, base)
    landed = browser.post(
        action, data={**hidden, "username": username, "password": PASSWORD}, timeout=30
    )
    return browser, landed


def test_login_with_code_and_pkce_lands_logged_in(live: str, staff_user: str) -> None:
    browser, landed = log_in(live, staff_user, next_path="/?welcome=1")
    assert landed.status_code == 200
    assert landed.url == f"{live}/?welcome=1"
    assert f"Έχετε συνδεθεί ως <strong>{staff_user}</strong>" in landed.text
    # The municipality by its name, the role in words: no codes on screen.
    assert "Δήμος Αθηναίων" in landed.text
    assert "Στέλεχος Κέντρου Κοινότητας" in landed.text
    main = landed.text.split("<main", 1)[1].split("</main>", 1)[0]
    assert "4501" not in re.sub(r"<[^>]*>", "", main)
    # The authorization request the login sends carries a PKCE S256 challenge.
    redirect_to_issuer = browser.get(f"{live}/auth/login", allow_redirects=False, timeout=30)
    assert "code_challenge_method=S256" in redirect_to_issuer.headers["Location"]
    assert "code_challenge=" in redirect_to_issuer.headers["Location"]


def test_session_cookie_flags(live: str, staff_user: str) -> None:
    browser, _landed = log_in(live, staff_user)
    cookie = next(c for c in browser.cookies if c.name == "kentra_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite") == "Lax"
    assert not cookie.secure  # tests run plain HTTP; production sets Secure (next test)


@pytest.mark.parametrize(
    ("env", "secure"), [("production", True), ("development", False), ("test", False)]
)
def test_secure_cookie_outside_development(env: str, secure: bool) -> None:
    app = Flask(__name__)
    settings = replace(
        Settings.from_env(),
        env=env,
        oidc_issuer="https://id.example.gr/realms/kentra",
        oidc_web_client_secret="s",
    )
    init_web_login(app, settings)
    assert app.config["SESSION_COOKIE_SECURE"] is secure
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_logout_without_the_csrf_token_is_refused(live: str, staff_user: str) -> None:
    browser, _landed = log_in(live, staff_user)
    refused = browser.post(f"{live}/auth/logout", data={}, allow_redirects=False, timeout=30)
    assert refused.status_code == 400
    assert "συνδεθεί" in browser.get(f"{live}/", timeout=30).text  # still logged in


def test_an_off_site_next_is_ignored(live: str, staff_user: str) -> None:
    _browser, landed = log_in(live, staff_user, next_path="https://evil.example/phish")
    assert landed.url == f"{live}/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "http:/x",
        "",
        None,
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
    ],
)
def test_safe_next_refuses_anything_but_a_local_path(target: str | None) -> None:
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", ["/", "/centres?page=2", "/a/b#c"])
def test_safe_next_keeps_local_paths(target: str) -> None:
    assert safe_next(target) == target


def test_logout_ends_the_session_here_and_at_the_issuer(live: str, staff_user: str) -> None:
    browser, landed = log_in(live, staff_user)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', landed.text).group(1)  # type: ignore[union-attr]
    after = browser.post(f"{live}/auth/logout", data={"csrf_token": csrf}, timeout=30)
    assert after.url == f"{live}/"
    assert "συνδεθεί" not in after.text
    assert "Σύνδεση" in after.text
    # The issuer's session ended too: logging in again asks for the password.
    again = browser.get(f"{live}/auth/login", timeout=30)
    assert 'name="password"' in again.text


def test_an_issuer_error_shows_the_failure_message(live: str) -> None:
    browser = requests.Session()
    page = browser.get(f"{live}/auth/callback", params={"error": "access_denied"}, timeout=30)
    assert page.url == f"{live}/?login=failed"
    assert 'role="alert"' in page.text


def test_a_forged_callback_is_refused(live: str) -> None:
    browser = requests.Session()
    page = browser.get(f"{live}/auth/callback", params={"code": "x", "state": "forged"}, timeout=30)
    assert page.url == f"{live}/?login=failed"


def test_the_api_never_takes_the_session_cookie(live: str, staff_user: str) -> None:
    browser, _landed = log_in(live, staff_user)
    response = browser.get(f"{live}/api/v1/municipalities/4501", timeout=30)
    assert response.status_code == 401


def test_an_expired_access_token_is_refreshed_and_a_revoked_one_ends_the_session(
    live: str, staff_user: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kentra.auth.issuer import server, signing

    # Tokens that expire at once: every page view goes through the refresh grant.
    monkeypatch.setattr(signing, "ACCESS_TOKEN_LIFETIME", 5)
    monkeypatch.setattr(server, "ACCESS_TOKEN_LIFETIME", 5)
    browser, landed = log_in(live, staff_user)
    assert "συνδεθεί" in landed.text
    first = browser.cookies.get("kentra_session")
    again = browser.get(f"{live}/", timeout=30)
    assert "συνδεθεί" in again.text  # refreshed, still logged in
    assert browser.cookies.get("kentra_session") != first  # the session now holds new tokens
    # Disabling the user revokes its refresh tokens: the next refresh fails and ends the session.
    EmbeddedIdentityAdmin(engine).disable_user(staff_user)
    try:
        gone = browser.get(f"{live}/", timeout=30)
        assert "συνδεθεί" not in gone.text
        assert "Σύνδεση" in gone.text
        # The logout form of the earlier page now just goes home: there is no login to end.
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', again.text).group(1)  # type: ignore[union-attr]
        home = browser.post(
            f"{live}/auth/logout", data={"csrf_token": csrf}, allow_redirects=False, timeout=30
        )
        assert home.status_code == 302
        assert home.headers["Location"] == "/"
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE shared.identity_users SET enabled = true WHERE username = :u"),
                {"u": staff_user},
            )


def test_a_signed_in_user_reaches_exactly_their_municipality_on_the_web(
    live: str, staff_user: str
) -> None:
    # An anonymous visitor of a protected page is sent to the login and brought back after it.
    anonymous = requests.get(f"{live}/municipalities/4501", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"] == "/auth/login?next=%2Fmunicipalities%2F4501"
    browser, landed = log_in(live, staff_user, next_path="/municipalities/4501")
    assert landed.url == f"{live}/municipalities/4501"
    assert "<h1>Δήμος Αθηναίων</h1>" in landed.text
    assert browser.get(f"{live}/municipalities/7101", timeout=30).status_code == 404


def test_the_login_page_speaks_the_language_chosen_on_the_platform(live: str) -> None:
    browser = requests.Session()
    browser.get(f"{live}/language/en", timeout=30)  # the visitor chose English on a page
    page = browser.get(f"{live}/auth/login", timeout=30)
    assert page.status_code == 200
    assert "ui_locales=en" in page.url  # what Keycloak's login is told
    assert '<html lang="en">' in page.text
    assert "Username" in page.text
    assert "Όνομα χρήστη" not in page.text
    greek = requests.Session().get(f"{live}/auth/login", timeout=30)
    assert '<html lang="el">' in greek.text
    assert "Όνομα χρήστη" in greek.text
