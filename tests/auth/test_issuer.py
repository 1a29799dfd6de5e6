"""The embedded OIDC issuer: Keycloak's endpoints, token layout and flows, on its own Flask app."""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import json
import re
import secrets
import stat
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import Engine, delete, func, select, text, update
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from kentra.auth.claims import (
    API_CLIENT,
    CLI_CLIENT,
    PROVISIONING_CLIENT,
    WEB_CLIENT,
)
from kentra.auth.identity import UserSpec
from kentra.auth.issuer import grants, pages
from kentra.auth.issuer.accounts import Account, hash_password
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.issuer.clients import (
    CLIENT_CREDENTIALS,
    PROVISIONING_DEV_SECRET,
    REFRESH_TOKEN,
    WEB_DEV_SECRET,
    Client,
    build_clients,
)
from kentra.auth.issuer.clients import PASSWORD as PASSWORD_GRANT
from kentra.auth.issuer.demo import seed_demo_users
from kentra.auth.issuer.grants import digest
from kentra.auth.issuer.keys import KEY_FILE, key_folder
from kentra.auth.issuer.models import (
    GrantKind,
    IdentityGrant,
    IdentityGroup,
    IdentityGroupMember,
    IdentityLoginSession,
    IdentityOrganization,
    IdentityOrganizationMember,
    IdentityUser,
    IdentityUserRole,
)
from kentra.auth.issuer.server import (
    COOKIE_NAME,
    EXTENSION,
    _install,
    embedded_issuer,
    init_embedded_issuer,
)
from kentra.auth.issuer.signing import UntrustedToken, id_token_claims, userinfo_claims, verify
from kentra.auth.keycloak_realm import load_realm
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Profession, Role
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from kentra.platform.core.database import make_engine
from kentra.platform.core.models import utcnow
from tests.helpers import assert_contains_all, identity_account
from tests.tokens import TokenFactory

BASE = EMBEDDED_ISSUER_PATH
OIDC = BASE + "/protocol/openid-connect"
AUTH, TOKEN, LOGOUT, USERINFO = (OIDC + p for p in ("/auth", "/token", "/logout", "/userinfo"))
ANNEX = UnitPath("4501", "kk-athinon", "parartima-1")
PASSWORD = "a long test password"


def greek(text: Any) -> str:
    """A page text in its source language (the issuer's pages here are in Greek)."""
    return str(text._args[0])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer_settings(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return dataclasses.replace(settings, var_dir=tmp_path_factory.mktemp("issuer-var"))


@pytest.fixture(scope="module")
def issuer_app(issuer_settings: Settings, engine: Engine) -> Flask:
    app = Flask(__name__)
    init_embedded_issuer(app, issuer_settings, engine)
    return app


@pytest.fixture
def web(issuer_app: Flask) -> FlaskClient:
    """A browser: its own cookie jar for each test."""
    return issuer_app.test_client()


@dataclasses.dataclass(frozen=True)
class User:
    username: str
    password: str
    id: str


@pytest.fixture
def make_user(engine: Engine) -> Iterator[Callable[..., User]]:
    """Users with unique names; deleted (with their grants and memberships) afterwards."""
    made: list[str] = []

    def make(role: Role = Role.STAFF, *, password: str | None = PASSWORD, **scope: Any) -> User:
        username = f"test-{role.value}-{uuid.uuid4().hex[:8]}"
        made.append(username)
        spec = UserSpec(
            username=username,
            email=f"{username}@example.invalid",
            role=role,
            password=password,
            first_name="Δοκιμή",
            last_name="Χρήστης",
            **scope,
        )
        return User(username, password or "", EmbeddedIdentityAdmin(engine).ensure_user(spec))

    yield make
    with engine.begin() as conn:
        conn.execute(delete(IdentityUser).where(IdentityUser.username.in_(made)))


# --- helpers ----------------------------------------------------------------------------------


def jwks(client: FlaskClient) -> KeySet:
    return KeySet.import_key_set(client.get(OIDC + "/certs").get_json())


def decode(client: FlaskClient, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, the signature checked against the published JWKS."""
    decoded = jwt.decode(token, jwks(client), algorithms=["RS256"])
    return dict(decoded.header), dict(decoded.claims)


def password_grant(client: FlaskClient, user: User, **extra: str) -> TestResponse:
    form = {"grant_type": "password", "client_id": CLI_CLIENT, "username": user.username}
    return client.post(TOKEN, data={**form, "password": user.password, **extra})


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def auth_params(settings: Settings, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": WEB_CLIENT,
        "redirect_uri": settings.base_url + "/auth/callback",
        "scope": "openid",
        "state": "state-" + secrets.token_hex(4),
        "nonce": "nonce-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


def form_fields(page: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page)
    }


def submit_login(
    web: FlaskClient, page: TestResponse, username: str, password: str
) -> TestResponse:
    fields = form_fields(page.get_data(as_text=True))
    return web.post(AUTH, data={**fields, "username": username, "password": password})


def query(response: TestResponse) -> dict[str, str]:
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def log_in(web: FlaskClient, settings: Settings, user: User) -> tuple[dict[str, str], str]:
    """The code flow up to the redirect: (redirect query, verifier)."""
    verifier, challenge = pkce()
    params = auth_params(settings, challenge)
    page = web.get(AUTH, query_string=params)
    assert page.status_code == 200
    response = submit_login(web, page, user.username, user.password)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].startswith(params["redirect_uri"] + "?")
    redirect = query(response)
    assert redirect["state"] == params["state"]
    assert redirect["iss"] == settings.issuer
    return redirect | {"nonce": params["nonce"]}, verifier


def exchange(
    web: FlaskClient, settings: Settings, code: str, verifier: str, **extra: str
) -> TestResponse:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": settings.base_url + "/auth/callback",
        "code_verifier": verifier,
        **extra,
    }
    return web.post(TOKEN, data=form, auth=(WEB_CLIENT, WEB_DEV_SECRET))


def assert_error(response: TestResponse, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)


# --- discovery and keys -----------------------------------------------------------------------


def test_discovery_document(web: FlaskClient, issuer_settings: Settings) -> None:
    response = web.get(BASE + "/.well-known/openid-configuration")
    assert response.status_code == 200
    document = response.get_json()
    issuer = issuer_settings.issuer
    assert issuer == issuer_settings.base_url + EMBEDDED_ISSUER_PATH
    assert document["issuer"] == issuer
    assert document["authorization_endpoint"] == issuer + "/protocol/openid-connect/auth"
    assert document["token_endpoint"] == issuer + "/protocol/openid-connect/token"
    assert document["jwks_uri"] == issuer + "/protocol/openid-connect/certs"
    assert document["end_session_endpoint"] == issuer + "/protocol/openid-connect/logout"
    assert document["userinfo_endpoint"] == issuer + "/protocol/openid-connect/userinfo"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["response_types_supported"] == ["code"]
    assert set(document["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "password",
    }


def test_jwks_publishes_only_the_public_key(web: FlaskClient) -> None:
    document = web.get(OIDC + "/certs").get_json()
    assert len(document["keys"]) == 1
    key = document["keys"][0]
    assert key["kty"] == "RSA"
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)
    assert len(base64.urlsafe_b64decode(key["n"] + "==")) * 8 >= 2048
    # The kid is the RFC 7638 thumbprint of the published key.
    assert KeySet.import_key_set(document).keys[0].thumbprint() == key["kid"]


# --- password grant (kentra-cli) --------------------------------------------------------------


def test_password_grant_token_has_keycloaks_layout(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.STAFF, unit=ANNEX, profession=Profession.SOCIAL_WORKER)
    response = password_grant(web, user, scope="openid")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["refresh_token"]
    assert body["id_token"]

    header, claims = decode(web, body["access_token"])
    assert header["alg"] == "RS256"
    assert header["typ"] == "JWT"
    assert header["kid"] == jwks(web).keys[0].kid
    assert claims["iss"] == issuer_settings.issuer
    assert claims["sub"] == user.id
    assert str(uuid.UUID(claims["sub"])) == claims["sub"]
    assert claims["aud"] == [API_CLIENT]
    assert claims["azp"] == CLI_CLIENT
    assert claims["typ"] == "Bearer"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["nbf"] == claims["iat"]
    assert claims["jti"]
    assert claims["sid"] == body["session_state"]
    assert set(claims["scope"].split()) == {"openid", "profile", "email"}
    assert claims["preferred_username"] == user.username
    assert claims["email"] == f"{user.username}@example.invalid"
    assert claims["resource_access"] == {API_CLIENT: {"roles": ["staff"]}}
    assert claims["organization"] == ["m-4501"]
    assert claims["groups"] == ["/m-4501/kk-athinon/parartima-1"]
    assert claims["kentra_profession"] == "social_worker"
    assert "kentra_region" not in claims

    principal = Principal.from_claims(claims)
    assert principal.subject == user.id
    assert principal.client == CLI_CLIENT
    assert principal.roles == frozenset({Role.STAFF})
    assert principal.organization == "4501"
    assert principal.units == (ANNEX,)
    assert principal.profession is Profession.SOCIAL_WORKER
    assert principal.region is None
    assert principal.reaches_unit(ANNEX)
    assert not principal.reaches_unit(UnitPath("4501", "kk-athinon"))


def test_regional_officer_token_carries_the_region_and_no_organization(
    web: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.REGIONAL_OFFICER, region="EL30")
    _header, claims = decode(web, password_grant(web, user).get_json()["access_token"])
    assert claims["kentra_region"] == "EL30"
    assert "organization" not in claims
    assert "groups" not in claims
    assert "openid" not in claims["scope"].split()
    principal = Principal.from_claims(claims)
    assert principal.roles == frozenset({Role.REGIONAL_OFFICER})
    assert principal.region == "EL30"
    assert principal.organization is None
    assert principal.may_enter("4501", "EL30")
    assert not principal.may_enter("7101", "EL43")


def test_password_grant_refuses_bad_credentials(
    web: FlaskClient, engine: Engine, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.MUNICIPALITY_ADMIN, municipality_code="4501")
    assert_error(password_grant(web, dataclasses.replace(user, password="wrong")), "invalid_grant")
    stranger = User("nobody-" + uuid.uuid4().hex, PASSWORD, "")
    assert_error(password_grant(web, stranger), "invalid_grant")
    assert_error(
        web.post(TOKEN, data={"grant_type": "password", "client_id": CLI_CLIENT}), "invalid_request"
    )
    # Usernames are case-insensitive, like Keycloak's.
    assert (
        password_grant(web, dataclasses.replace(user, username=user.username.upper())).status_code
        == 200
    )
    EmbeddedIdentityAdmin(engine).disable_user(user.username)
    assert_error(password_grant(web, user), "invalid_grant")


def test_invited_user_without_password_cannot_log_in(
    web: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.CENTRE_HEAD, password=None, unit=UnitPath("4501", "kk-athinon"))
    for attempt in ("None", PASSWORD):
        assert_error(
            password_grant(web, dataclasses.replace(user, password=attempt)), "invalid_grant"
        )


def test_password_grant_only_for_the_cli_client(
    web: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    form = {"grant_type": "password", "username": user.username, "password": user.password}
    response = web.post(TOKEN, data=form, auth=(WEB_CLIENT, WEB_DEV_SECRET))
    assert_error(response, "unauthorized_client")
    response = web.post(TOKEN, data=form, auth=(PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET))
    assert_error(response, "unauthorized_client")
    assert_error(web.post(TOKEN, data={**form, "client_id": "unknown"}), "invalid_client", 401)
    assert_error(web.post(TOKEN, data=form), "invalid_client", 401)


@pytest.fixture
def production(issuer_settings: Settings) -> Settings:
    """The issuer's settings as production has them: its own client secrets."""
    return dataclasses.replace(
        issuer_settings,
        env="production",
        oidc_web_client_secret="web-secret",
        keycloak_admin_client_secret="provisioning-secret",
    )


def test_password_grant_refused_in_production(
    production: Settings, engine: Engine, make_user: Callable[..., User]
) -> None:
    app = Flask(__name__)
    _install(app, production, engine)  # init_embedded_issuer itself refuses production
    client = app.test_client()
    assert_error(password_grant(client, make_user()), "unauthorized_client")
    document = client.get(BASE + "/.well-known/openid-configuration").get_json()
    assert "password" not in document["grant_types_supported"]
    # And the development secrets are not accepted there.
    form = {"grant_type": "client_credentials"}
    response = client.post(TOKEN, data=form, auth=(PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET))
    assert_error(response, "invalid_client", 401)
    response = client.post(TOKEN, data=form, auth=(PROVISIONING_CLIENT, "provisioning-secret"))
    assert response.status_code == 200


def test_token_endpoint_errors(web: FlaskClient) -> None:
    assert_error(web.post(TOKEN, data={"client_id": CLI_CLIENT}), "invalid_request")
    response = web.post(TOKEN, data={"grant_type": "device_code", "client_id": CLI_CLIENT})
    assert_error(response, "unsupported_grant_type")
    response = web.post(
        TOKEN, data={"grant_type": "password", "client_id": [CLI_CLIENT, CLI_CLIENT]}
    )
    assert_error(response, "invalid_request")
    response = web.post(TOKEN, data={"grant_type": "client_credentials", "client_id": CLI_CLIENT})
    assert_error(response, "unauthorized_client")
    assert web.get(TOKEN).status_code == 405


def test_token_endpoint_client_authentication_errors(web: FlaskClient) -> None:
    form = {"grant_type": "client_credentials"}
    # HTTP Basic is the only authentication scheme for clients.
    bearer = {"Authorization": "Bearer " + PROVISIONING_DEV_SECRET}
    assert_error(web.post(TOKEN, data=form, headers=bearer), "invalid_client", 401)
    # A client_id in the form must name the client that authenticated.
    credentials = (PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET)
    response = web.post(TOKEN, data={**form, "client_id": WEB_CLIENT}, auth=credentials)
    assert_error(response, "invalid_client", 401)
    response = web.post(TOKEN, data={**form, "client_id": PROVISIONING_CLIENT}, auth=credentials)
    assert response.status_code == 200, response.get_data(as_text=True)


def test_token_requests_without_their_code_or_refresh_token(
    web: FlaskClient, issuer_settings: Settings
) -> None:
    verifier, _challenge = pkce()
    form = {
        "grant_type": "authorization_code",
        "redirect_uri": issuer_settings.base_url + "/auth/callback",
        "code_verifier": verifier,
    }
    response = web.post(TOKEN, data=form, auth=(WEB_CLIENT, WEB_DEV_SECRET))
    assert_error(response, "invalid_request")
    assert response.get_json()["error_description"] == "Missing parameter: code"
    response = web.post(TOKEN, data={"grant_type": "refresh_token", "client_id": CLI_CLIENT})
    assert_error(response, "invalid_request")
    assert response.get_json()["error_description"] == "Missing parameter: refresh_token"


# --- client credentials (kentra-provisioning) -------------------------------------------------


def test_client_credentials_for_the_provisioning_service_account(web: FlaskClient) -> None:
    form = {"grant_type": "client_credentials"}
    response = web.post(TOKEN, data=form, auth=(PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert "refresh_token" not in body
    assert "id_token" not in body
    _header, claims = decode(web, body["access_token"])
    assert claims["azp"] == PROVISIONING_CLIENT
    assert claims["aud"] == [API_CLIENT]
    assert claims["preferred_username"] == "service-account-kentra-provisioning"
    assert claims["resource_access"] == {API_CLIENT: {"roles": ["platform-operator"]}}
    assert Principal.from_claims(claims).roles == frozenset({Role.PLATFORM_OPERATOR})
    # client_secret_post works as well, and the service account keeps its id.
    again = web.post(
        TOKEN,
        data={**form, "client_id": PROVISIONING_CLIENT, "client_secret": PROVISIONING_DEV_SECRET},
    )
    assert decode(web, again.get_json()["access_token"])[1]["sub"] == claims["sub"]


def test_client_credentials_with_a_wrong_secret(web: FlaskClient) -> None:
    form = {"grant_type": "client_credentials"}
    response = web.post(TOKEN, data=form, auth=(PROVISIONING_CLIENT, "wrong"))
    assert_error(response, "invalid_client", 401)
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    response = web.post(TOKEN, data={**form, "client_id": PROVISIONING_CLIENT})
    assert_error(response, "invalid_client", 401)
    # Two authentication methods at once are refused.
    response = web.post(
        TOKEN,
        data={**form, "client_secret": PROVISIONING_DEV_SECRET},
        auth=(PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET),
    )
    assert_error(response, "invalid_request")


def test_client_credentials_refused_for_a_disabled_service_account(
    web: FlaskClient, engine: Engine
) -> None:
    form = {"grant_type": "client_credentials"}
    credentials = (PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET)
    username = "service-account-" + PROVISIONING_CLIENT
    assert web.post(TOKEN, data=form, auth=credentials).status_code == 200
    EmbeddedIdentityAdmin(engine).disable_user(username)
    try:
        response = web.post(TOKEN, data=form, auth=credentials)
        assert_error(response, "invalid_grant")
        assert response.get_json()["error_description"] == "Service account disabled"
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(IdentityUser).where(IdentityUser.username == username).values(enabled=True)
            )
    assert web.post(TOKEN, data=form, auth=credentials).status_code == 200


# --- authorization code with PKCE (kentra-web) ------------------------------------------------


def test_login_page_is_greek_accessible_and_protected(
    web: FlaskClient, issuer_settings: Settings
) -> None:
    _verifier, challenge = pkce()
    response = web.get(AUTH, query_string=auth_params(issuer_settings, challenge))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert_contains_all(
        page,
        '<html lang="el">',
        "<h1>Σύνδεση</h1>",
        '<label for="username">',
        '<input id="username" name="username"',
        '<label for="password">',
        '<input id="password" name="password" type="password"',
    )
    assert re.search(r'name="csrf_token" value="[^"]{20,}"', page)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    cookie = response.headers["Set-Cookie"]
    assert_contains_all(cookie, "HttpOnly", "SameSite=Lax", f"Path={EMBEDDED_ISSUER_PATH}")
    assert "Secure" not in cookie  # test environment over http


def test_code_flow_with_pkce(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.CENTRE_HEAD, unit=UnitPath("4501", "kk-athinon"))
    redirect, verifier = log_in(web, issuer_settings, user)
    response = exchange(web, issuer_settings, redirect["code"], verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["session_state"] == redirect["session_state"]

    _header, claims = decode(web, body["access_token"])
    assert claims["azp"] == WEB_CLIENT
    assert claims["aud"] == [API_CLIENT]
    assert claims["groups"] == ["/m-4501/kk-athinon"]
    assert claims["sid"] == redirect["session_state"]
    principal = Principal.from_claims(claims)
    assert principal.roles == frozenset({Role.CENTRE_HEAD})
    assert principal.reaches_unit(ANNEX)

    _header, id_claims = decode(web, body["id_token"])
    assert id_claims["aud"] == WEB_CLIENT
    assert id_claims["azp"] == WEB_CLIENT
    assert id_claims["typ"] == "ID"
    assert id_claims["nonce"] == redirect["nonce"]
    assert id_claims["sub"] == user.id
    assert id_claims["iss"] == issuer_settings.issuer
    assert id_claims["sid"] == redirect["session_state"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert id_claims["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    # The login session now answers the next authorization request without the form.
    verifier2, challenge2 = pkce()
    again = web.get(AUTH, query_string=auth_params(issuer_settings, challenge2))
    assert again.status_code == 302
    assert exchange(web, issuer_settings, query(again)["code"], verifier2).status_code == 200
    # Unless the client asks for a fresh login.
    forced = web.get(AUTH, query_string=auth_params(issuer_settings, challenge2, prompt="login"))
    assert forced.status_code == 200


def test_wrong_verifier_is_rejected_and_consumes_the_code(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    wrong, _challenge = pkce()
    assert_error(exchange(web, issuer_settings, redirect["code"], wrong), "invalid_grant")
    assert_error(exchange(web, issuer_settings, redirect["code"], verifier), "invalid_grant")
    browser = web.application.test_client()
    redirect, _verifier = log_in(browser, issuer_settings, make_user())
    response = exchange(browser, issuer_settings, redirect["code"], "")
    assert_error(response, "invalid_grant")


def test_code_expires_after_a_minute(
    web: FlaskClient, issuer_settings: Settings, engine: Engine, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    with engine.begin() as conn:
        expires_at = conn.scalar(
            update(IdentityGrant)
            .where(IdentityGrant.token_hash == digest(redirect["code"]))
            .values(expires_at=IdentityGrant.expires_at - timedelta(seconds=61))
            .returning(IdentityGrant.expires_at - IdentityGrant.created_at)
        )
    assert expires_at is not None
    assert expires_at < timedelta(0)  # it was issued for 60 seconds
    response = exchange(web, issuer_settings, redirect["code"], verifier)
    assert_error(response, "invalid_grant")
    assert response.get_json()["error_description"] == "Code is expired"


def test_code_is_single_use_and_a_replay_revokes_its_tokens(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    first = exchange(web, issuer_settings, redirect["code"], verifier)
    assert first.status_code == 200
    assert_error(exchange(web, issuer_settings, redirect["code"], verifier), "invalid_grant")
    refresh = {"grant_type": "refresh_token", "refresh_token": first.get_json()["refresh_token"]}
    response = web.post(TOKEN, data=refresh, auth=(WEB_CLIENT, WEB_DEV_SECRET))
    assert_error(response, "invalid_grant")


def test_redirect_uri_must_match(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    other = issuer_settings.base_url + "/auth/callback/"
    response = exchange(web, issuer_settings, redirect["code"], verifier, redirect_uri=other)
    assert_error(response, "invalid_grant")
    # An unregistered redirect URI at the authorization endpoint: an error page, no redirect.
    _verifier, challenge = pkce()
    for uri in ("https://evil.example/cb", other):
        page = web.get(AUTH, query_string=auth_params(issuer_settings, challenge, redirect_uri=uri))
        assert page.status_code == 400
        assert "Location" not in page.headers
        assert "redirect_uri" in page.get_data(as_text=True)
    page = web.get(AUTH, query_string=auth_params(issuer_settings, challenge, client_id="nope"))
    assert page.status_code == 400


def test_authorization_request_errors_go_back_to_the_client(
    web: FlaskClient, issuer_settings: Settings
) -> None:
    _verifier, challenge = pkce()
    cases = [
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"scope": "openid admin"}, "invalid_scope"),
        ({"prompt": "none"}, "login_required"),
    ]
    for change, error in cases:
        params = auth_params(issuer_settings, challenge, **change)
        response = web.get(AUTH, query_string=params)
        assert response.status_code == 302, change
        answer = query(response)
        assert answer["error"] == error
        assert answer["state"] == params["state"]
        assert "code" not in answer


def test_login_form_requires_its_csrf_token(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    user = make_user()
    _verifier, challenge = pkce()
    page = web.get(AUTH, query_string=auth_params(issuer_settings, challenge))
    fields = form_fields(page.get_data(as_text=True))
    credentials = {"username": user.username, "password": user.password}
    for csrf in ({}, {"csrf_token": "forged"}):
        data = {k: v for k, v in fields.items() if k != "csrf_token"} | csrf | credentials
        response = web.post(AUTH, data=data)
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "Η φόρμα έληξε" in response.get_data(as_text=True)
    # A browser without the issuer's cookie cannot post a token it copied from elsewhere.
    stranger = web.application.test_client()
    assert stranger.post(AUTH, data=fields | credentials).status_code == 400


def test_wrong_credentials_show_the_form_again(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    user = make_user()
    _verifier, challenge = pkce()
    page = web.get(AUTH, query_string=auth_params(issuer_settings, challenge))
    response = submit_login(web, page, user.username, "wrong password")
    assert response.status_code == 200
    assert "Location" not in response.headers
    text = response.get_data(as_text=True)
    assert_contains_all(
        text,
        "Λάθος όνομα χρήστη ή κωδικός πρόσβασης.",
        'role="alert"',
        f'value="{user.username}"',
        'aria-invalid="true"',
    )
    assert "wrong password" not in text
    # The same form (its CSRF token still valid) then logs in.
    assert submit_login(web, response, user.username, user.password).status_code == 302


def test_login_form_without_credentials_asks_for_them(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    user = make_user()
    _verifier, challenge = pkce()
    page = web.get(AUTH, query_string=auth_params(issuer_settings, challenge))
    for username, password in ((user.username, ""), ("   ", user.password)):
        response = submit_login(web, page, username, password)
        assert response.status_code == 200
        assert "Location" not in response.headers
        text = response.get_data(as_text=True)
        assert greek(pages.MISSING_CREDENTIALS) in text
        assert 'aria-invalid="true"' in text
    assert submit_login(web, page, user.username, user.password).status_code == 302


def test_a_forged_or_malformed_login_cookie_is_ignored(
    web: FlaskClient,
    issuer_app: Flask,
    issuer_settings: Settings,
    make_user: Callable[..., User],
) -> None:
    redirect, _verifier = log_in(web, issuer_settings, make_user())
    session_id = redirect["session_state"]
    signer = embedded_issuer(issuer_app).cookies
    forger = URLSafeTimedSerializer("not the issuer's secret", salt="kentra.auth.issuer.browser")

    def authorize_with(cookie: str) -> TestResponse:
        web.set_cookie(COOKIE_NAME, cookie, path=EMBEDDED_ISSUER_PATH)
        _verifier, challenge = pkce()
        return web.get(AUTH, query_string=auth_params(issuer_settings, challenge))

    # The issuer's own cookie naming the login session signs in at once ...
    assert authorize_with(signer.dumps({"csrf": "x", "sid": session_id})).status_code == 302
    # ... a forged or malformed one does not: the login form, with a new cookie.
    for cookie in (
        forger.dumps({"csrf": "x", "sid": session_id}),
        signer.dumps([session_id]),
        signer.dumps({"sid": session_id}),
        signer.dumps({"csrf": "x", "sid": "not-a-uuid"}),
    ):
        response = authorize_with(cookie)
        assert response.status_code == 200
        assert "<h1>Σύνδεση</h1>" in response.get_data(as_text=True)
        assert response.headers["Set-Cookie"].startswith(COOKIE_NAME + "=")


def issuer_with_clients(settings: Settings, engine: Engine, *clients: Client) -> FlaskClient:
    """A browser on an issuer whose client registry differs from ``build_clients``: the
    endpoints check a client's grant types themselves, whatever the registry says."""
    app = Flask(__name__)
    issuer = _install(app, settings, engine)
    registry = dict(issuer.clients) | {client.client_id: client for client in clients}
    app.extensions[EXTENSION] = dataclasses.replace(issuer, clients=registry)
    return app.test_client()


def test_clients_get_only_the_flows_they_are_registered_for(
    issuer_settings: Settings, engine: Engine
) -> None:
    callback = issuer_settings.base_url + "/auth/callback"
    web_without_code_flow = Client(
        client_id=WEB_CLIENT,
        secret=WEB_DEV_SECRET,
        grant_types=frozenset({REFRESH_TOKEN}),
        redirect_uris=(callback,),
    )
    public_with_service_account = Client(
        client_id="kentra-test-public",
        secret=None,
        grant_types=frozenset({CLIENT_CREDENTIALS}),
        service_account_roles=frozenset({Role.PLATFORM_OPERATOR}),
    )
    client = issuer_with_clients(
        issuer_settings, engine, web_without_code_flow, public_with_service_account
    )
    # A registered redirect URI is not enough: the error goes back to it.
    _verifier, challenge = pkce()
    params = auth_params(issuer_settings, challenge)
    response = client.get(AUTH, query_string=params)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(callback + "?")
    answer = query(response)
    assert answer["error"] == "unauthorized_client"
    assert answer["state"] == params["state"]
    assert "code" not in answer
    # A public client proves nothing about itself, so it never gets a service account.
    form = {"grant_type": "client_credentials", "client_id": "kentra-test-public"}
    assert_error(client.post(TOKEN, data=form), "unauthorized_client")
    service_account = IdentityUser.username == "service-account-kentra-test-public"
    assert _count(engine, IdentityUser, service_account) == 0


def test_password_grant_refused_in_production_whatever_the_registry(
    production: Settings, engine: Engine, make_user: Callable[..., User]
) -> None:
    cli = Client(client_id=CLI_CLIENT, secret=None, grant_types=frozenset({PASSWORD_GRANT}))
    client = issuer_with_clients(production, engine, cli)
    response = password_grant(client, make_user())
    assert_error(response, "unauthorized_client")
    assert "access_token" not in response.get_json()


# --- refresh, logout, userinfo ----------------------------------------------------------------


def refresh(web: FlaskClient, refresh_token: str) -> TestResponse:
    form = {"grant_type": "refresh_token", "client_id": CLI_CLIENT, "refresh_token": refresh_token}
    return web.post(TOKEN, data=form)


def test_a_refresh_token_stays_usable_as_in_keycloak_with_the_realm_export(
    web: FlaskClient, issuer_app: Flask, make_user: Callable[..., User]
) -> None:
    # The export leaves Keycloak's revokeRefreshToken off: every refresh hands out a new
    # refresh token, and the earlier one keeps working until it expires or the login ends.
    assert "revokeRefreshToken" not in load_realm()
    assert embedded_issuer(issuer_app).revoke_refresh_tokens is False
    user = make_user(Role.SUPERVISOR_OPERATIONAL, municipality_code="4501")
    first = password_grant(web, user, scope="openid").get_json()
    response = refresh(web, first["refresh_token"])
    assert response.status_code == 200, response.get_data(as_text=True)
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_state"] == first["session_state"]
    _header, claims = decode(web, second["access_token"])
    assert claims["resource_access"] == {API_CLIENT: {"roles": ["supervisor-operational"]}}
    assert decode(web, second["id_token"])[1]["aud"] == CLI_CLIENT
    assert refresh(web, first["refresh_token"]).status_code == 200
    assert refresh(web, second["refresh_token"]).status_code == 200
    # Another client cannot use a refresh token it was not given.
    response = web.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=(WEB_CLIENT, WEB_DEV_SECRET),
    )
    assert_error(response, "invalid_grant")


def test_with_the_realms_revocation_on_a_refresh_token_is_single_use(
    web: FlaskClient,
    issuer_app: Flask,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issuer = embedded_issuer(issuer_app)
    revoking = dataclasses.replace(issuer, revoke_refresh_tokens=True)
    monkeypatch.setitem(issuer_app.extensions, EXTENSION, revoking)
    user = make_user(Role.SUPERVISOR_OPERATIONAL, municipality_code="4501")
    first = password_grant(web, user, scope="openid").get_json()
    second = refresh(web, first["refresh_token"]).get_json()
    assert second["refresh_token"] != first["refresh_token"]
    # The old refresh token is spent; presenting it again is taken as theft and also revokes
    # the token that replaced it.
    assert_error(refresh(web, first["refresh_token"]), "invalid_grant")
    assert_error(refresh(web, second["refresh_token"]), "invalid_grant")
    # Another client's attempt is no replay: the token stays usable by its own client.
    third = password_grant(web, user).get_json()["refresh_token"]
    response = web.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": third},
        auth=(WEB_CLIENT, WEB_DEV_SECRET),
    )
    assert_error(response, "invalid_grant")
    assert refresh(web, third).status_code == 200


def test_logout_ends_the_session(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    tokens = exchange(web, issuer_settings, redirect["code"], verifier).get_json()
    home = issuer_settings.base_url + "/"

    refused = web.get(
        LOGOUT,
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert refused.status_code == 400
    assert "Location" not in refused.headers

    response = web.get(
        LOGOUT,
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": home,
            "state": "s1",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == home + "?state=s1"
    # The session's refresh token is revoked, and the browser must log in again.
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    assert_error(web.post(TOKEN, data=refresh, auth=(WEB_CLIENT, WEB_DEV_SECRET)), "invalid_grant")
    _verifier, challenge = pkce()
    assert web.get(AUTH, query_string=auth_params(issuer_settings, challenge)).status_code == 200
    # userinfo refuses the access token of the ended session.
    userinfo = web.get(USERINFO, headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert userinfo.status_code == 401


def test_logout_without_hint_asks_for_confirmation(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    log_in(web, issuer_settings, make_user())
    home = issuer_settings.base_url + "/"
    # A redirect needs the client to be named.
    assert web.get(LOGOUT, query_string={"post_logout_redirect_uri": home}).status_code == 400
    params = {"client_id": WEB_CLIENT, "post_logout_redirect_uri": home, "state": "s2"}
    page = web.get(LOGOUT, query_string=params)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<h1>Αποσύνδεση</h1>" in text
    fields = form_fields(text)
    # A cross-site POST without the form's token only gets the confirmation page again.
    assert web.post(LOGOUT, data=params).status_code == 200
    response = web.post(LOGOUT, data=fields)
    assert response.status_code == 302
    assert response.headers["Location"] == home + "?state=s2"
    _verifier, challenge = pkce()
    assert web.get(AUTH, query_string=auth_params(issuer_settings, challenge)).status_code == 200


def test_userinfo(web: FlaskClient, make_user: Callable[..., User]) -> None:
    user = make_user(Role.MINISTRY_OFFICER)
    token = password_grant(web, user, scope="openid").get_json()["access_token"]
    response = web.get(USERINFO, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json() == {
        "sub": user.id,
        "preferred_username": user.username,
        "name": "Δοκιμή Χρήστης",
        "given_name": "Δοκιμή",
        "family_name": "Χρήστης",
        "email": f"{user.username}@example.invalid",
        "email_verified": False,
    }
    assert web.get(USERINFO).status_code == 401
    bad = web.get(USERINFO, headers={"Authorization": "Bearer " + token[:-4] + "AAAA"})
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_refresh_may_narrow_the_scope_but_not_widen_it(
    web: FlaskClient, make_user: Callable[..., User]
) -> None:
    user = make_user()
    form = {"grant_type": "refresh_token", "client_id": CLI_CLIENT}
    first = password_grant(web, user).get_json()
    assert first["scope"] == "profile email"
    response = web.post(
        TOKEN, data=form | {"refresh_token": first["refresh_token"], "scope": "openid profile"}
    )
    assert_error(response, "invalid_scope")
    second = password_grant(web, user).get_json()
    response = web.post(
        TOKEN, data=form | {"refresh_token": second["refresh_token"], "scope": "email"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    # The tokens keep the scope granted at login.
    assert response.get_json()["scope"] == "profile email"
    assert decode(web, response.get_json()["access_token"])[1]["scope"] == "profile email"


def test_no_tokens_once_the_login_session_has_ended(
    web: FlaskClient, issuer_settings: Settings, engine: Engine, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    tokens = exchange(web, issuer_settings, redirect["code"], verifier).get_json()
    verifier2, challenge2 = pkce()
    sso = web.get(AUTH, query_string=auth_params(issuer_settings, challenge2))
    code = query(sso)["code"]
    # The session ends while a code and a refresh token are still unspent (as when a logout
    # commits between a grant's consumption and the session check).
    with engine.begin() as conn:
        conn.execute(
            update(IdentityLoginSession)
            .where(IdentityLoginSession.id == uuid.UUID(redirect["session_state"]))
            .values(ended_at=func.now())
        )
    response = exchange(web, issuer_settings, code, verifier2)
    assert_error(response, "invalid_grant")
    assert response.get_json()["error_description"] == "Session not active"
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = web.post(TOKEN, data=refresh, auth=(WEB_CLIENT, WEB_DEV_SECRET))
    assert_error(response, "invalid_grant")
    assert response.get_json()["error_description"] == "Session not active"


def test_logout_elsewhere_ends_single_sign_on_here(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    id_token = exchange(web, issuer_settings, redirect["code"], verifier).get_json()["id_token"]
    # Another browser ends the session with the ID token, asking for no redirect: a page.
    elsewhere = web.application.test_client()
    response = elsewhere.get(LOGOUT, query_string={"id_token_hint": id_token})
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert greek(pages.LOGGED_OUT) in response.get_data(as_text=True)
    # Ending the ended session again is not an error.
    again = elsewhere.get(LOGOUT, query_string={"id_token_hint": id_token})
    assert again.status_code == 200
    assert greek(pages.LOGGED_OUT) in again.get_data(as_text=True)
    # This browser's cookie still names the session, which no longer signs it in.
    _verifier, challenge = pkce()
    params = auth_params(issuer_settings, challenge)
    assert web.get(AUTH, query_string=params).status_code == 200
    silent = web.get(AUTH, query_string=params | {"prompt": "none"})
    assert silent.status_code == 302
    assert query(silent)["error"] == "login_required"


def test_logout_refuses_malformed_requests(
    web: FlaskClient, issuer_settings: Settings, make_user: Callable[..., User]
) -> None:
    redirect, verifier = log_in(web, issuer_settings, make_user())
    tokens = exchange(web, issuer_settings, redirect["code"], verifier).get_json()
    cases: list[tuple[MultiDict[str, str], str]] = [
        (MultiDict([("state", "a"), ("state", "b")]), greek(pages.BAD_LOGOUT_REQUEST)),
        (MultiDict({"id_token_hint": "not-a-token"}), greek(pages.BAD_ID_TOKEN_HINT)),
        # An access token is not an ID token.
        (MultiDict({"id_token_hint": tokens["access_token"]}), greek(pages.BAD_ID_TOKEN_HINT)),
        (
            MultiDict({"id_token_hint": tokens["id_token"], "client_id": CLI_CLIENT}),
            greek(pages.CLIENT_MISMATCH),
        ),
        (MultiDict({"client_id": "unknown"}), greek(pages.UNKNOWN_CLIENT)),
    ]
    for params, message in cases:
        response = web.get(LOGOUT, query_string=params)
        assert response.status_code == 400, params
        assert "Location" not in response.headers
        assert message in html.unescape(response.get_data(as_text=True))
    # None of them ended the session.
    _verifier, challenge = pkce()
    assert web.get(AUTH, query_string=auth_params(issuer_settings, challenge)).status_code == 302


def test_logout_confirmation_for_a_browser_without_the_cookie(
    issuer_app: Flask, issuer_settings: Settings
) -> None:
    browser = issuer_app.test_client()
    home = issuer_settings.base_url + "/"
    page = browser.get(
        LOGOUT, query_string={"client_id": WEB_CLIENT, "post_logout_redirect_uri": home}
    )
    assert page.status_code == 200
    # The form's CSRF token comes with a new cookie, so the confirmation can be posted.
    assert page.headers["Set-Cookie"].startswith(COOKIE_NAME + "=")
    response = browser.post(LOGOUT, data=form_fields(page.get_data(as_text=True)))
    assert response.status_code == 302
    assert response.headers["Location"] == home


def test_userinfo_refuses_the_token_of_a_deleted_user(web: FlaskClient, engine: Engine) -> None:
    form = {"grant_type": "client_credentials"}
    credentials = (PROVISIONING_CLIENT, PROVISIONING_DEV_SECRET)
    token = web.post(TOKEN, data=form, auth=credentials).get_json()["access_token"]
    _header, claims = decode(web, token)
    assert "sid" not in claims  # no login session: only the account itself is checked
    headers = {"Authorization": "Bearer " + token}
    assert web.get(USERINFO, headers=headers).get_json()["sub"] == claims["sub"]
    with engine.begin() as conn:
        conn.execute(delete(IdentityUser).where(IdentityUser.id == uuid.UUID(claims["sub"])))
    response = web.get(USERINFO, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {
        "error": "invalid_token",
        "error_description": "Session not active",
    }
    # The next client credentials grant creates the service account again, with a new id.
    again = web.post(TOKEN, data=form, auth=credentials).get_json()["access_token"]
    assert decode(web, again)[1]["sub"] != claims["sub"]


def test_tokens_signed_by_another_key_are_refused(
    web: FlaskClient,
    issuer_app: Flask,
    issuer_settings: Settings,
    tokens: TokenFactory,
    make_user: Callable[..., User],
) -> None:
    user = make_user()
    claims = tokens.claims(Role.STAFF, sub=user.id)
    assert claims["iss"] == issuer_settings.issuer  # everything but the key is right
    # Refused by its header (another kid), before any signature check.
    with pytest.raises(UntrustedToken, match="not signed by this issuer"):
        verify(
            embedded_issuer(issuer_app).signing_key,
            tokens.sign(claims),
            issuer=issuer_settings.issuer,
            token_type="Bearer",
        )
    response = web.get(USERINFO, headers={"Authorization": "Bearer " + tokens.sign(claims)})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    hint = tokens.sign(claims | {"typ": "ID", "aud": WEB_CLIENT, "azp": WEB_CLIENT})
    page = web.get(LOGOUT, query_string={"id_token_hint": hint})
    assert page.status_code == 400
    assert greek(pages.BAD_ID_TOKEN_HINT) in html.unescape(page.get_data(as_text=True))


def test_a_user_without_roles_gets_a_token_without_resource_access(
    web: FlaskClient, engine: Engine, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.STAFF, unit=ANNEX)
    with engine.begin() as conn:
        conn.execute(delete(IdentityUserRole).where(IdentityUserRole.user_id == uuid.UUID(user.id)))
    _header, claims = decode(web, password_grant(web, user).get_json()["access_token"])
    assert "resource_access" not in claims
    assert claims["groups"] == [str(ANNEX)]
    principal = Principal.from_claims(claims)
    assert principal.roles == frozenset()
    assert not principal.may_enter("4501", "EL30")


def test_claims_follow_the_granted_scope_and_the_session() -> None:
    account = Account(
        id=uuid.uuid4(),
        username="someone",
        email="someone@example.invalid",
        first_name="Δοκιμή",
        last_name="Χρήστης",
        enabled=True,
        region=None,
        profession=None,
        roles=(Role.STAFF,),
        organizations=(),
        groups=(),
    )
    sub = str(account.id)
    # Without the profile and email scopes only the username is told.
    assert userinfo_claims(account, "openid") == {"sub": sub, "preferred_username": "someone"}
    assert userinfo_claims(account, "openid email") == {
        "sub": sub,
        "preferred_username": "someone",
        "email": "someone@example.invalid",
        "email_verified": False,
    }
    common: dict[str, Any] = {
        "issuer": "https://issuer.example/realms/kentra",
        "account": account,
        "client_id": WEB_CLIENT,
        "scope": "openid",
        "auth_time": 1000,
        "access_token": "an access token",
        "now": 1000,
    }
    # An ID token outside a login session names no session, and no nonce unless one was sent.
    claims = id_token_claims(session_id=None, nonce=None, **common)
    assert not {"sid", "nonce", "name", "email"} & set(claims)
    session_id = uuid.uuid4()
    claims = id_token_claims(session_id=session_id, nonce="n-1", **common)
    assert claims["sid"] == str(session_id)
    assert claims["nonce"] == "n-1"


# --- signing key, start-up --------------------------------------------------------------------


def test_signing_key_is_kept_and_reused(
    issuer_app: Flask, issuer_settings: Settings, engine: Engine
) -> None:
    path = key_folder(issuer_settings.var_dir) / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first = embedded_issuer(issuer_app).signing_key
    again = Flask(__name__)
    init_embedded_issuer(again, issuer_settings, engine)
    assert embedded_issuer(again).signing_key.kid == first.kid
    assert again.test_client().get(OIDC + "/certs").get_json()["keys"][0]["kid"] == first.kid


def test_signing_key_file_permissions_are_tightened(
    issuer_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    settings = dataclasses.replace(issuer_settings, var_dir=tmp_path)
    app = Flask(__name__)
    init_embedded_issuer(app, settings, engine)
    path = key_folder(tmp_path) / KEY_FILE
    path.chmod(0o644)
    path.parent.chmod(0o755)
    init_embedded_issuer(Flask(__name__), settings, engine)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_init_refuses_production_and_a_configured_issuer(
    settings: Settings, engine: Engine
) -> None:
    with pytest.raises(RuntimeError, match="KENTRA_OIDC_ISSUER"):
        init_embedded_issuer(
            Flask(__name__), dataclasses.replace(settings, env="production"), engine
        )
    keycloak = dataclasses.replace(settings, oidc_issuer="https://id.example.gr/realms/kentra")
    with pytest.raises(RuntimeError, match="KENTRA_OIDC_ISSUER"):
        init_embedded_issuer(Flask(__name__), keycloak, engine)


def test_a_key_file_without_the_private_key_is_refused(
    issuer_settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    folder = key_folder(tmp_path)
    folder.mkdir(mode=0o700)
    public = RSAKey.generate_key(2048, private=True).as_dict(private=False)
    path = folder / KEY_FILE
    path.write_text(json.dumps(public))
    path.chmod(0o600)
    settings = dataclasses.replace(issuer_settings, var_dir=tmp_path)
    with pytest.raises(RuntimeError, match="does not hold a private RSA key"):
        init_embedded_issuer(Flask(__name__), settings, engine)
    assert json.loads(path.read_text()) == public  # left alone, not replaced


def test_production_needs_the_client_secrets(issuer_settings: Settings, engine: Engine) -> None:
    production = dataclasses.replace(
        issuer_settings,
        env="production",
        oidc_web_client_secret=None,
        keycloak_admin_client_secret=None,
    )
    with pytest.raises(RuntimeError, match="KENTRA_OIDC_WEB_CLIENT_SECRET"):
        _install(Flask(__name__), production, engine)
    with_web_secret = dataclasses.replace(production, oidc_web_client_secret="web-secret")
    with pytest.raises(RuntimeError, match="KENTRA_KEYCLOAK_ADMIN_SECRET"):
        _install(Flask(__name__), with_web_secret, engine)


def test_a_public_client_has_no_secret_to_match(issuer_settings: Settings) -> None:
    clients = build_clients(issuer_settings)
    cli = clients[CLI_CLIENT]
    assert cli.public
    for presented in ("", "None", WEB_DEV_SECRET, PROVISIONING_DEV_SECRET):
        assert not cli.secret_matches(presented)
    web = clients[WEB_CLIENT]
    assert web.secret_matches(WEB_DEV_SECRET)
    assert not web.secret_matches("")


# --- identity admin and demo users ------------------------------------------------------------


@pytest.fixture
def scratch_code(engine: Engine) -> Iterator[str]:
    """A municipality code no test or demo uses; its organization is removed afterwards."""
    code = f"99{secrets.randbelow(100):02d}"
    yield code
    EmbeddedIdentityAdmin(engine).remove_organization(code)


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_identity_admin_is_idempotent(
    engine: Engine, scratch_code: str, make_user: Callable[..., User]
) -> None:
    admin = EmbeddedIdentityAdmin(engine)
    organization = admin.ensure_organization(scratch_code, "Δήμος Δοκιμής")
    assert admin.ensure_organization(scratch_code, "Δήμος Δοκιμής") == organization
    annex = UnitPath(scratch_code, "kk-dokimis", "kinitiki-1")
    group = admin.ensure_unit_group(annex, "Κινητή μονάδα 1")
    assert admin.ensure_unit_group(annex, "Κινητή μονάδα 1") == group
    # The centre's group (and the municipality's top group) came along.
    centre = admin.ensure_unit_group(UnitPath(scratch_code, "kk-dokimis"), "Κέντρο Δοκιμής")
    with engine.connect() as conn:
        rows = conn.execute(
            select(IdentityGroup.path, IdentityGroup.name, IdentityGroup.parent_id).where(
                IdentityGroup.path.like(f"/m-{scratch_code}%")
            )
        ).all()
    by_path = {row.path: row for row in rows}
    assert set(by_path) == {f"/m-{scratch_code}", f"/m-{scratch_code}/kk-dokimis", str(annex)}
    assert str(by_path[str(annex)].parent_id) == centre
    assert by_path[f"/m-{scratch_code}/kk-dokimis"].name == "Κέντρο Δοκιμής"

    user = make_user(Role.STAFF, unit=annex, profession=Profession.MEDIATOR)
    spec = spec_of(
        user, role=Role.STAFF, unit=annex, profession=Profession.MEDIATOR, password=PASSWORD
    )
    assert admin.ensure_user(spec) == user.id
    assert admin.ensure_user(spec) == user.id
    assert _count(engine, IdentityUser, IdentityUser.username == user.username) == 1
    assert _count(engine, IdentityUserRole, IdentityUserRole.user_id == uuid.UUID(user.id)) == 1
    assert (
        _count(engine, IdentityGroupMember, IdentityGroupMember.user_id == uuid.UUID(user.id)) == 1
    )
    members = IdentityOrganizationMember.user_id == uuid.UUID(user.id)
    assert _count(engine, IdentityOrganizationMember, members) == 1
    assert (
        _count(engine, IdentityOrganization, IdentityOrganization.alias == f"m-{scratch_code}") == 1
    )
    with pytest.raises(ValueError, match="outside"):
        admin.ensure_user(dataclasses.replace(spec, municipality_code="4501"))


def test_identity_admin_joins_the_callers_transaction(engine: Engine, scratch_code: str) -> None:
    with engine.connect() as conn:
        transaction = conn.begin()
        admin = EmbeddedIdentityAdmin(conn)
        admin.ensure_organization(scratch_code, "Δήμος Δοκιμής")
        admin.ensure_unit_group(UnitPath(scratch_code, "kk-dokimis"), "Κέντρο Δοκιμής")
        transaction.rollback()
    assert (
        _count(engine, IdentityOrganization, IdentityOrganization.alias == f"m-{scratch_code}") == 0
    )


def test_disable_user_revokes_refresh_tokens(
    web: FlaskClient, engine: Engine, make_user: Callable[..., User]
) -> None:
    user = make_user()
    tokens = password_grant(web, user).get_json()
    admin = EmbeddedIdentityAdmin(engine)
    admin.disable_user(user.username)
    admin.disable_user(user.username)  # again: not an error
    admin.disable_user("nobody-" + uuid.uuid4().hex)  # unknown: not an error
    refresh = {"grant_type": "refresh_token", "client_id": CLI_CLIENT}
    assert_error(
        web.post(TOKEN, data=refresh | {"refresh_token": tokens["refresh_token"]}), "invalid_grant"
    )
    assert_error(password_grant(web, user), "invalid_grant")
    # ensure_user does not silently enable a disabled user again.
    admin.ensure_user(UserSpec(username=user.username, email="", role=Role.STAFF))
    assert_error(password_grant(web, user), "invalid_grant")


def test_demo_users_cover_every_role(
    web: FlaskClient, engine: Engine, issuer_settings: Settings
) -> None:
    logins = seed_demo_users(engine, issuer_settings)
    assert seed_demo_users(engine, issuer_settings) == logins  # idempotent
    assert {login.role for login in logins} == set(Role)
    usernames = [login.username for login in logins]
    assert len(set(usernames)) == len(usernames)
    assert _count(engine, IdentityUser, IdentityUser.username.in_(usernames)) == len(logins)
    principals = {}
    for login in logins:
        assert login.password.startswith("demo-")
        assert login.scope
        response = password_grant(web, User(login.username, login.password, ""))
        assert response.status_code == 200, login.username
        principal = Principal.from_claims(decode(web, response.get_json()["access_token"])[1])
        assert principal.roles == frozenset({login.role})
        principals[login.username] = principal
    assert principals["regional-officer-el30"].region == "EL30"
    assert principals["centre-head-4501"].units == (UnitPath("4501", "kk-athinon"),)
    staff = principals["staff-4501"]
    assert staff.units == (ANNEX,)
    assert staff.profession is Profession.SOCIAL_WORKER
    other = principals["staff-7101"]
    assert other.organization == "7101"
    assert other.units == (UnitPath("7101", "kk-irakleiou"),)
    assert not other.may_enter("4501", "EL30")
    assert staff.may_enter("4501", "EL30")
    with pytest.raises(RuntimeError, match="development"):
        seed_demo_users(engine, dataclasses.replace(issuer_settings, env="production"))


def _access(engine: Engine, user_id: str) -> tuple[set[Role], set[str], set[str]]:
    """The user's roles, organization aliases and group paths."""
    user = uuid.UUID(user_id)
    with engine.connect() as conn:
        roles = set(
            conn.scalars(select(IdentityUserRole.role).where(IdentityUserRole.user_id == user))
        )
        organizations = set(
            conn.scalars(
                select(IdentityOrganization.alias)
                .join(IdentityOrganizationMember)
                .where(IdentityOrganizationMember.user_id == user)
            )
        )
        groups = set(
            conn.scalars(
                select(IdentityGroup.path)
                .join(IdentityGroupMember)
                .where(IdentityGroupMember.user_id == user)
            )
        )
    return roles, organizations, groups


def test_ensure_user_exclusive_keeps_exactly_the_specs_role_organization_and_unit_group(
    engine: Engine,
    scratch_code: str,
    make_user: Callable[..., User],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Within the municipality that manages the account (tests/security covers the accounts
    it may not touch: another municipality's, a platform role's, a group of its own)."""
    admin = EmbeddedIdentityAdmin(engine)
    centre = UnitPath(scratch_code, "kk-dokimis")
    annex = UnitPath(scratch_code, "kk-dokimis", "parartima-1")
    head = make_user(Role.CENTRE_HEAD, unit=centre)
    spec = spec_of(head, role=Role.STAFF, unit=annex, profession=Profession.PSYCHOLOGIST)
    # Additive (the default): the centre head's role and group stay.
    assert admin.ensure_user(spec) == head.id
    assert _access(engine, head.id) == (
        {Role.CENTRE_HEAD, Role.STAFF},
        {f"m-{scratch_code}"},
        {str(centre), str(annex)},
    )
    # More to take away: the municipality's admin role too.
    admin.ensure_user(
        UserSpec(
            username=head.username,
            email=spec.email,
            role=Role.MUNICIPALITY_ADMIN,
            municipality_code=scratch_code,
        )
    )
    before = _access(engine, head.id)
    assert before == (
        {Role.CENTRE_HEAD, Role.STAFF, Role.MUNICIPALITY_ADMIN},
        {f"m-{scratch_code}"},
        {str(centre), str(annex)},
    )

    # In the caller's transaction: rolled back with it.
    with engine.connect() as conn:
        transaction = conn.begin()
        assert EmbeddedIdentityAdmin(conn).ensure_user(spec, exclusive=True) == head.id
        transaction.rollback()
    assert _access(engine, head.id) == before

    caplog.set_level("INFO", logger="kentra.auth.issuer")
    caplog.clear()
    assert admin.ensure_user(spec, exclusive=True) == head.id
    exact = ({Role.STAFF}, {f"m-{scratch_code}"}, {str(annex)})
    assert _access(engine, head.id) == exact
    (removed,) = [r for r in caplog.records if r.msg == "identity.user_access_removed"]
    assert removed.__dict__["roles"] == ["centre-head", "municipality-admin"]
    assert len(removed.__dict__["groups"]) == 1
    assert head.username not in caplog.text

    # Again: nothing to remove, nothing logged.
    caplog.clear()
    assert admin.ensure_user(spec, exclusive=True) == head.id
    assert _access(engine, head.id) == exact
    assert "identity.user_access_removed" not in [r.msg for r in caplog.records]

    # A spec naming no municipality (the platform's own callers) leaves the organizations.
    officer = UserSpec(
        username=head.username, email=spec.email, role=Role.REGIONAL_OFFICER, region="EL30"
    )
    assert admin.ensure_user(officer, exclusive=True) == head.id
    assert _access(engine, head.id) == ({Role.REGIONAL_OFFICER}, {f"m-{scratch_code}"}, set())


def test_ensure_user_sets_and_changes_the_password(
    web: FlaskClient, engine: Engine, make_user: Callable[..., User]
) -> None:
    invited = make_user(Role.STAFF, password=None)
    admin = EmbeddedIdentityAdmin(engine)
    spec = spec_of(invited, role=Role.STAFF, password=PASSWORD)
    assert admin.ensure_user(spec) == invited.id
    assert password_grant(web, dataclasses.replace(invited, password=PASSWORD)).status_code == 200
    changed = "another long test password"
    assert admin.ensure_user(dataclasses.replace(spec, password=changed)) == invited.id
    assert_error(
        password_grant(web, dataclasses.replace(invited, password=PASSWORD)), "invalid_grant"
    )
    assert password_grant(web, dataclasses.replace(invited, password=changed)).status_code == 200


def spec_of(user: User, **fields: Any) -> UserSpec:
    """The spec of ``user``'s account (e-mail made of the username), ``fields`` added."""
    return UserSpec(username=user.username, email=f"{user.username}@example.invalid", **fields)


def _profile(engine: Engine, username: str) -> tuple[Any, ...]:
    account = identity_account(engine, username)
    assert account is not None
    return tuple(account[f] for f in ("email", "first_name", "last_name", "profession"))


@pytest.mark.parametrize(
    "missing",
    [
        {"first_name": "", "last_name": ""},
        {"last_name": "   "},  # trimmed, as Keycloak does: no last name
        {"email": ""},
    ],
    ids=["no names", "blank last name", "no e-mail"],
)
def test_the_password_grant_refuses_an_account_not_fully_set_up(
    missing: dict[str, str], web: FlaskClient, engine: Engine, make_user: Callable[..., User]
) -> None:
    """Keycloak's user profile requires e-mail, first and last name: with the right password,
    an account without them gets "Account is not fully set up" and no session."""
    made = make_user(Role.STAFF, password=None)
    fields = {"email": f"{made.username}@example.invalid", "first_name": "Δοκιμή"} | missing
    with engine.begin() as conn:
        conn.execute(
            update(IdentityUser)
            .where(IdentityUser.username == made.username)
            .values(
                password_hash=hash_password(PASSWORD),
                email=fields["email"] or None,
                first_name=fields["first_name"],
                last_name=fields.get("last_name", "Χρήστης").strip(),
            )
        )
    response = password_grant(web, dataclasses.replace(made, password=PASSWORD))
    assert_error(response, "invalid_grant")
    assert response.get_json()["error_description"] == "Account is not fully set up"
    assert (
        _count(engine, IdentityLoginSession, IdentityLoginSession.user_id == uuid.UUID(made.id))
        == 0
    )
    # A wrong password is still a wrong password (nothing said about the profile).
    wrong = password_grant(web, dataclasses.replace(made, password="not the password"))
    assert wrong.get_json()["error_description"] == "Invalid user credentials"


def test_names_are_given_where_missing_and_kept_where_present(
    engine: Engine, make_user: Callable[..., User]
) -> None:
    """As Keycloak's adapter: an existing user gets the spec's names where it has none, and
    keeps the ones it has (the user may have corrected them) and its e-mail."""
    made = make_user(Role.STAFF, password=None)
    admin = EmbeddedIdentityAdmin(engine)
    with engine.begin() as conn:
        conn.execute(
            update(IdentityUser)
            .where(IdentityUser.username == made.username)
            .values(first_name="", last_name="")
        )
    spec = UserSpec(
        username=made.username,
        email="another@example.invalid",
        role=Role.STAFF,
        first_name=" Μαρία ",
        last_name="Παπαδοπούλου",
    )
    admin.ensure_user(spec)
    email = f"{made.username}@example.invalid"
    assert _profile(engine, made.username) == (email, "Μαρία", "Παπαδοπούλου", None)
    admin.ensure_user(dataclasses.replace(spec, first_name="Άννα", last_name="Άλλη"))
    assert _profile(engine, made.username) == (email, "Μαρία", "Παπαδοπούλου", None)


def test_a_name_keycloak_refuses_is_refused(engine: Engine) -> None:
    username = f"test-names-{uuid.uuid4().hex[:8]}"
    for name in ("Μαρία (Μαίρη)", "Μαρία\u2028Π"):
        spec = UserSpec(
            username=username, email="", role=Role.STAFF, first_name="Α", last_name=name
        )
        with pytest.raises(ValueError, match="Keycloak refuses"):
            EmbeddedIdentityAdmin(engine).ensure_user(spec)
    assert _count(engine, IdentityUser, IdentityUser.username == username) == 0


def test_exclusive_takes_away_a_profession_the_spec_has_not(
    engine: Engine, scratch_code: str, make_user: Callable[..., User]
) -> None:
    """As in Keycloak: additive keeps the region and profession a spec does not name,
    exclusive leaves exactly the spec's."""
    annex = UnitPath(scratch_code, "kk-dokimis", "parartima-1")
    made = make_user(Role.STAFF, unit=annex, profession=Profession.PSYCHOLOGIST)
    admin = EmbeddedIdentityAdmin(engine)
    spec = spec_of(made, role=Role.STAFF, unit=annex)
    admin.ensure_user(spec)
    assert _profile(engine, made.username)[3] == Profession.PSYCHOLOGIST
    admin.ensure_user(spec, exclusive=True)
    assert _profile(engine, made.username)[3] is None


def _wait_until_blocked_by(engine: Engine, pid: int, racer: Future[str]) -> None:
    """Wait until some session waits for a lock that the session ``pid`` holds. If the racing
    call ends first, its own error (or result) is what the test reports."""
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while not conn.scalar(waiting, {"pid": pid}):
            if racer.done():
                raise AssertionError(f"the second ensure_user did not wait: {racer.result()!r}")
            assert time.monotonic() < deadline, "the second ensure_user never waited"
            time.sleep(0.05)


def test_ensure_user_when_the_user_is_created_concurrently(
    web: FlaskClient, engine: Engine
) -> None:
    username = f"test-race-{uuid.uuid4().hex[:8]}"
    spec = UserSpec(
        username=username,
        email=f"{username}@example.invalid",
        role=Role.STAFF,
        password=PASSWORD,
        first_name="Πρώτη",
    )
    second_spec = dataclasses.replace(
        spec,
        role=Role.CENTRE_HEAD,
        password="the second password",
        first_name="Δεύτερη",
        last_name="Χρήστης",
    )
    # Its own connections, so the race never waits on the shared pool under load.
    racing = make_engine(engine.url, pool_size=2, max_overflow=0)
    try:
        with engine.connect() as first, ThreadPoolExecutor(max_workers=1) as pool:
            transaction = first.begin()
            try:
                first_id = EmbeddedIdentityAdmin(first).ensure_user(spec)
                pid = int(first.scalar(text("SELECT pg_backend_pid()")) or 0)
                # The second finds no user yet, tries to insert it and waits for the first.
                second = pool.submit(EmbeddedIdentityAdmin(racing).ensure_user, second_spec)
                _wait_until_blocked_by(racing, pid, second)
            finally:
                transaction.commit()
            second_id = second.result(timeout=60)
        # One user, brought up to the second call's password and roles; its missing last
        # name filled in, the first name it had kept (as Keycloak's adapter does).
        assert second_id == first_id
        assert _count(engine, IdentityUser, IdentityUser.username == username) == 1
        with engine.connect() as conn:
            names = conn.execute(
                select(IdentityUser.first_name, IdentityUser.last_name).where(
                    IdentityUser.username == username
                )
            ).one()
            assert tuple(names) == ("Πρώτη", "Χρήστης")
            roles = conn.scalars(
                select(IdentityUserRole.role).where(IdentityUserRole.user_id == uuid.UUID(first_id))
            ).all()
        assert set(roles) == {Role.STAFF, Role.CENTRE_HEAD}
        user = User(username, "the second password", first_id)
        assert password_grant(web, user).status_code == 200
    finally:
        racing.dispose()
        with engine.begin() as conn:
            conn.execute(delete(IdentityUser).where(IdentityUser.username == username))


def test_grants_without_a_login_session(engine: Engine, make_user: Callable[..., User]) -> None:
    user_id = uuid.UUID(make_user().id)
    refresh = GrantKind.REFRESH_TOKEN
    issue = functools.partial(
        grants.issue_grant, kind=refresh, user_id=user_id, client_id=CLI_CLIENT, scope="profile"
    )
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            # Inside a session a grant ends with the session at the latest ...
            session = grants.start_session(conn, user_id)
            ending = dataclasses.replace(session, expires_at=utcnow() + timedelta(minutes=5))
            assert issue(conn, session=ending)[1] == ending.expires_at
            # ... without one it lives its full lifetime.
            first, expires_at = issue(conn, session=None)
            other, _expires_at = issue(conn, session=None)
            created_at = conn.scalar(
                select(IdentityGrant.created_at).where(IdentityGrant.token_hash == digest(first))
            )
            assert created_at is not None
            assert expires_at - created_at == grants.REFRESH_LIFETIME
            consumed = grants.consume_grant(conn, refresh, first, CLI_CLIENT)
            assert consumed is not None
            assert consumed.session_id is None
            assert grants.consume_grant(conn, refresh, first, CLI_CLIENT) is None
            assert grants.handle_replay(conn, refresh, first, CLI_CLIENT)
            # The replay has no session to revoke: other session-less grants stay valid.
            assert grants.consume_grant(conn, refresh, other, CLI_CLIENT) is not None
        finally:
            transaction.rollback()
