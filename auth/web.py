"""Web login: OpenID Connect authorization code + PKCE with Authlib's Flask client.

- ``GET /auth/login?next=/local/path`` → the issuer's login page (Keycloak or embedded).
- ``GET /auth/callback`` → code exchanged (state, PKCE and the ID token's nonce checked by
  Authlib), the access token validated like any bearer token, the tokens kept in the session.
- ``POST /auth/logout`` (CSRF-protected form) → the session ends here and at the issuer
  (RP-initiated logout), back to the home page.

The session cookie is HttpOnly, SameSite=Lax, Secure outside development and tests. A session
principal serves web pages only: the API takes bearer tokens and never cookies, so it needs no
CSRF protection.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.common.errors import AuthlibBaseError as OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, current_app, redirect, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Request
from flask.wrappers import Response as FlaskResponse
from flask_babel import get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response

from kentra.auth.claims import WEB_CLIENT
from kentra.auth.flask import public
from kentra.auth.principal import Principal
from kentra.auth.tokens import InvalidToken, TokenValidator
from kentra.platform.core.config import Settings

log = logging.getLogger(__name__)
blueprint = Blueprint("web_auth", __name__)
csrf = CSRFProtect()
DEVELOPMENT_WEB_SECRET = "kentra-web-dev-secret"  # noqa: S105 - the embedded issuer's dev default
_TOKENS = "oidc_tokens"
_NEXT = "after_login"


def safe_next(target: str | None) -> str:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return "/"
    return target


def _settings() -> Settings:
    settings: Settings = current_app.extensions["kentra"].settings
    return settings


def _client() -> Any:
    # One OAuth registry per app: Authlib caches clients by name, and each app (tests build
    # several) has its own issuer and redirect URI.
    return current_app.extensions["kentra_oauth"].create_client("kentra")


@blueprint.get("/auth/login")
@public
def login() -> Response:
    session[_NEXT] = safe_next(request.args.get("next"))
    response: Response = _client().authorize_redirect(
        redirect_uri=f"{_settings().base_url}/auth/callback",
        # The page's language, for Keycloak's login (OIDC Core 3.1.2.1); the embedded
        # issuer reads the language cookie itself.
        ui_locales=str(get_locale() or "el"),
    )
    return response


@blueprint.get("/auth/callback")
@public
def callback() -> Response:
    if request.args.get("error"):
        log.warning(
            "login refused by the issuer", extra={"oauth_error": request.args["error"][:64]}
        )
        return _login_failed()
    try:
        token = _client().authorize_access_token()  # checks state, PKCE, ID token and nonce
        current_app.extensions["kentra_auth"].validate(token["access_token"])
    except (OAuthError, InvalidToken, KeyError) as exc:
        log.warning("login refused", extra={"error_type": type(exc).__name__})
        return _login_failed()
    target = safe_next(session.get(_NEXT))
    session.clear()  # a fresh session at login (no fixation)
    session[_TOKENS] = {
        k: token.get(k) for k in ("access_token", "refresh_token", "id_token", "expires_at")
    }
    return redirect(target)


def _login_failed() -> Response:
    session.clear()
    return redirect("/?login=failed")


@blueprint.post("/auth/logout")
@public
def logout() -> Response:
    tokens = session.get(_TOKENS)
    session.clear()
    if not tokens:  # the login had already ended (e.g. its refresh failed): nothing at the issuer
        return redirect("/")
    # Keycloak and the embedded issuer both publish it (OIDC RP-Initiated Logout).
    end_session = _client().load_server_metadata()["end_session_endpoint"]
    query = {
        "client_id": WEB_CLIENT,
        "post_logout_redirect_uri": f"{_settings().base_url}/",
        # Present whenever there is a login: Authlib refuses a code exchange without it.
        "id_token_hint": tokens["id_token"],
    }
    return redirect(f"{end_session}?{urlencode(query)}")


def session_principal() -> Principal | None:
    """The principal of the web session, refreshing its access token when it has expired."""
    tokens = session.get(_TOKENS)
    if not tokens:
        return None
    validator: TokenValidator = current_app.extensions["kentra_auth"]
    if (tokens.get("expires_at") or 0) <= time.time() + 10 and tokens.get("refresh_token"):
        try:
            fresh = _client().fetch_access_token(
                grant_type="refresh_token", refresh_token=tokens["refresh_token"]
            )
        except Exception:  # noqa: BLE001 - any refresh failure ends the session
            session.pop(_TOKENS, None)
            return None
        tokens = {
            **tokens,
            **{
                k: fresh.get(k)
                for k in ("access_token", "refresh_token", "expires_at")
                if fresh.get(k)
            },
        }
        session[_TOKENS] = tokens
    try:
        return Principal.from_claims(validator.validate(tokens["access_token"]))
    except InvalidToken:
        session.pop(_TOKENS, None)
        return None


class LoginSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, left alone by requests without the cookie: an API call
    (a bearer token, no cookie) neither builds the cookie's signer to open an empty session
    nor works out the cookie's attributes to save one it never touched (ADR 0029)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # The Cookie header's presence first: parsing it costs more than this check.
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: FlaskResponse) -> None:
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)


def exempt_from_csrf(*blueprints: Blueprint) -> None:
    """Blueprints whose unsafe requests carry no cookie that could be ridden (the API's bearer
    tokens; the embedded issuer, which checks its own login form's token): CSRFProtect leaves
    them alone."""
    for exempt in blueprints:
        csrf.exempt(exempt)


def init_web_login(app: Flask, settings: Settings) -> None:
    """Register the OIDC client, CSRF protection (every unsafe method of the pages) and routes."""
    app.config.update(
        SESSION_COOKIE_NAME="kentra_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.env not in ("development", "test"),
        # Every unsafe request is checked before its view runs, but those of blueprints that
        # take no cookie (the API's bearer tokens, the embedded issuer's own): see
        # exempt_from_csrf. A page form shows itself again on a stale token (web.forms).
        WTF_CSRF_CHECK_DEFAULT=True,
    )
    secret = settings.oidc_web_client_secret
    if secret is None and settings.env != "production":
        secret = DEVELOPMENT_WEB_SECRET
    oauth = OAuth(app)
    app.extensions["kentra_oauth"] = oauth
    oauth.register(
        "kentra",
        client_id=WEB_CLIENT,
        client_secret=secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            # Organization, groups and roles come through the realm's default "kentra" scope.
            "scope": "openid profile email",
            "code_challenge_method": "S256",
        },
    )
    app.session_interface = LoginSessionInterface()
    csrf.init_app(app)
    app.register_blueprint(blueprint)
    app.extensions["kentra_session_principal"] = session_principal
