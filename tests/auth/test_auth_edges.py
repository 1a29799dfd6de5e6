"""Edges of the authentication layer: non-tenant permissions, public tenant routes, the JWKS
over HTTP, the web session's refresh, the identity adapter choice, the table's format check."""

from __future__ import annotations

import enum
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from flask import Flask, g, session
from joserfc import jws
from sqlalchemy import Engine
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from kentra.auth.adapters import identity_admin
from kentra.auth.documentation import render_permissions_page
from kentra.auth.flask import current_actor, public, requires
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.permissions import (
    ROLE_PERMISSIONS,
    Permission,
    PermissionTableError,
    check_permission_table,
)
from kentra.auth.principal import Principal
from kentra.auth.roles import Role
from kentra.auth.tokens import HttpJwks, InvalidToken, JwksCache, TokenValidator
from kentra.auth.web import _TOKENS, session_principal
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings
from tests.tokens import TokenFactory


@pytest.fixture
def fresh(engine: Engine, tokens: TokenFactory) -> Flask:
    """A new app (routes may still be added to it) trusting the test token key."""
    return create_app(jwks=tokens.jwks)


def test_a_non_tenant_route_checks_the_permission_through_any_role(
    fresh: Flask, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    @fresh.get("/api/v1/ops/profile-readers")
    @requires(Permission.TENANT_PROFILE_READ)
    def readers() -> str:
        return "ok"

    client = fresh.test_client()
    assert (
        client.get(
            "/api/v1/ops/profile-readers", headers=tokens.headers(Role.MINISTRY_OFFICER)
        ).status_code
        == 200
    )
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.MINISTRY_OFFICER, frozenset())
    refused = client.get(
        "/api/v1/ops/profile-readers", headers=tokens.headers(Role.MINISTRY_OFFICER)
    )
    assert refused.status_code == 403
    assert client.get("/api/v1/ops/profile-readers").status_code == 401


def test_a_public_tenant_route_resolves_the_tenant_without_a_principal(fresh: Flask) -> None:
    @fresh.get("/api/v1/municipalities/<municipality_code>/public-test")
    @public
    def public_test(municipality_code: Any) -> str:
        return str(municipality_code)

    client = fresh.test_client()
    assert client.get("/api/v1/municipalities/4501/public-test").get_data(as_text=True) == "4501"
    assert client.get("/api/v1/municipalities/0999/public-test").status_code == 404


def test_the_permissions_page_shows_an_undeclared_route_as_closed(fresh: Flask) -> None:
    @fresh.get("/forgotten")
    def forgotten() -> str:
        return "never"

    assert "| GET | `/forgotten` | **undeclared (closed)** | nobody |" in render_permissions_page(
        fresh
    )


def test_a_malformed_permission_name_stops_the_app() -> None:
    class Malformed(enum.StrEnum):
        BAD = "read everything"

    with pytest.raises(PermissionTableError, match="is not scope:resource:action"):
        check_permission_table(permissions=[*Permission, Malformed.BAD])  # type: ignore[list-item]


# --- the JWKS over HTTP ----------------------------------------------------------------------


@pytest.fixture
def jwks_server(tokens: TokenFactory) -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"status": 200, "hits": 0}

    @Request.application
    def serve(_request: Request) -> Response:
        state["hits"] += 1
        return Response(
            json.dumps(tokens.jwks()), status=state["status"], mimetype="application/json"
        )

    server = make_server("127.0.0.1", 0, serve)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_port}/certs"
    yield state
    server.shutdown()


def test_keys_are_fetched_over_http(jwks_server: dict[str, Any], tokens: TokenFactory) -> None:
    validator = TokenValidator(tokens.issuer, JwksCache(HttpJwks(jwks_server["url"])))
    assert validator.validate(tokens.token(Role.STAFF))["typ"] == "Bearer"
    assert jwks_server["hits"] == 1


def test_an_issuer_answering_errors_denies_every_token(
    jwks_server: dict[str, Any], tokens: TokenFactory
) -> None:
    jwks_server["status"] = 503
    validator = TokenValidator(tokens.issuer, JwksCache(HttpJwks(jwks_server["url"])))
    with pytest.raises(InvalidToken, match="unknown signing key"):
        validator.validate(tokens.token(Role.STAFF))


def test_a_signed_token_that_is_not_json_is_invalid(tokens: TokenFactory) -> None:
    validator = TokenValidator(tokens.issuer, JwksCache(tokens.jwks))
    not_json = jws.serialize_compact(
        {"alg": "RS256", "kid": tokens.key.kid}, b"not json", tokens.key
    )
    with pytest.raises(InvalidToken, match="invalid token"):
        validator.validate(not_json)


# --- the web session principal -------------------------------------------------------------


def test_a_session_with_an_invalid_token_is_forgotten(fresh: Flask) -> None:
    with fresh.test_request_context("/"):
        session[_TOKENS] = {"access_token": "garbage", "expires_at": time.time() + 3600}
        assert session_principal() is None
        assert _TOKENS not in session


def test_an_expired_session_without_refresh_token_is_forgotten(
    fresh: Flask, tokens: TokenFactory
) -> None:
    with fresh.test_request_context("/"):
        session[_TOKENS] = {
            "access_token": tokens.token(Role.STAFF, exp=int(time.time()) - 600),
            "expires_at": 0,
        }
        assert session_principal() is None
        assert _TOKENS not in session


# --- the identity adapter --------------------------------------------------------------------


def test_the_identity_adapter_follows_the_configuration(engine: Engine, settings: Settings) -> None:
    assert isinstance(identity_admin(settings, engine), EmbeddedIdentityAdmin)
    keycloak = replace(
        settings,
        oidc_issuer="http://127.0.0.1:9/realms/kentra",
        keycloak_admin_client_secret="s3cret",
    )
    assert isinstance(identity_admin(keycloak, engine), KeycloakIdentityAdmin)


def test_requests_is_the_http_client_of_the_jwks_fetch() -> None:
    # A dead address fails fast with a requests error, which the cache turns into "no key".
    cache = JwksCache(HttpJwks("http://127.0.0.1:9/certs", timeout=1))
    assert cache.key("any") is None
    with pytest.raises(requests.RequestException):
        HttpJwks("http://127.0.0.1:9/certs", timeout=1)()


def test_current_actor_is_the_principal_subject_and_needs_one() -> None:
    app = Flask(__name__)
    with app.test_request_context("/"):
        g.principal = None
        with pytest.raises(RuntimeError, match="authenticated request"):
            current_actor()
        g.principal = Principal(subject="a7f0c2", client="kentra-cli")
        assert current_actor() == "a7f0c2"
