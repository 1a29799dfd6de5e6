"""The embedded issuer's endpoints, in Keycloak's URL layout under ``/auth/realms/kentra``.

``init_embedded_issuer`` mounts them on the platform's app when ``KENTRA_OIDC_ISSUER`` is unset
(development and tests; it refuses production). The endpoints::

    GET       /.well-known/openid-configuration     discovery
    GET       /protocol/openid-connect/certs        JWKS (the public key)
    GET, POST /protocol/openid-connect/auth         authorization endpoint and login page
    POST      /protocol/openid-connect/token        token endpoint
    GET, POST /protocol/openid-connect/logout       RP-initiated logout (end session)
    GET, POST /protocol/openid-connect/userinfo     userinfo (bearer access token)

The token endpoint is written directly, not with Authlib's server framework (which is
untyped and partly built on the deprecated ``authlib.jose``): client authentication with
constant-time secret comparison, PKCE S256 required for the code flow, codes single use and
valid for 60 s, a new refresh token with every refresh (the earlier one single use only when
the realm export turns ``revokeRefreshToken`` on, as Keycloak does), errors as RFC 6749 JSON
with 400 or 401.

The issuer keeps its own login state in a signed cookie (``KENTRA_ISSUER_SESSION``, path
limited to the issuer) holding a CSRF token and the id of a server-side login session; it does
not use the host app's Flask session. Every request runs its own database transactions on the
engine (not the request session), because some refusals must still be recorded (a code is
consumed even when its verifier is wrong). Logs name users by id only; passwords, tokens and
codes are never logged.

Password guessing (``throttle``): before a password is checked, the password grant and the
login form refuse a username locked by Keycloak's brute-force detection (with the answer of a
wrong password) and a client address over its limit of failed logins (429, Retry-After).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

from flask import Blueprint, Flask, Response, current_app, request, url_for
from flask_babel import Babel
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import Connection, Engine
from werkzeug.datastructures import MultiDict

from kentra.auth.claims import REALM
from kentra.auth.flask import public
from kentra.auth.issuer import grants, pages
from kentra.auth.issuer.accounts import (
    Account,
    check_credentials,
    ensure_service_account,
    load_account,
    stored_credentials,
)
from kentra.auth.issuer.clients import (
    AUTHORIZATION_CODE,
    CLIENT_CREDENTIALS,
    PASSWORD,
    REFRESH_TOKEN,
    Client,
    build_clients,
    password_grant_allowed,
)
from kentra.auth.issuer.keys import (
    ALGORITHM,
    SigningKey,
    load_or_create_cookie_secret,
    load_or_create_signing_key,
)
from kentra.auth.issuer.models import GrantKind
from kentra.auth.issuer.signing import (
    ACCESS_TOKEN_LIFETIME,
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    UntrustedToken,
    access_token_claims,
    id_token_claims,
    sign,
    userinfo_claims,
    verify,
)
from kentra.auth.issuer.throttle import (
    BruteForcePolicy,
    FailureReason,
    LoginAttempt,
    LoginThrottle,
    Refusal,
)
from kentra.auth.keycloak_realm import load_realm
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from kentra.platform.core.inputs import has_control_characters
from kentra.platform.core.models import utcnow
from kentra.platform.ratelimits.limits import RateLimit, client_address, rate_limits

log = logging.getLogger("kentra.auth.issuer")

EXTENSION = "kentra_issuer"
BLUEPRINT_NAME = "oidc_issuer"
COOKIE_NAME = "KENTRA_ISSUER_SESSION"
OIDC_PATH = "/protocol/openid-connect"
SUPPORTED_SCOPES = ("openid", "profile", "email")
DEFAULT_SCOPES = ("profile", "email")  # Keycloak's default client scopes
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}", re.ASCII)
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}", re.ASCII)  # base64url of a SHA-256, no padding

blueprint = Blueprint(BLUEPRINT_NAME, __name__)


@blueprint.before_request
def _refuse_control_characters() -> Response | None:
    """A form field with a control character (a NUL in a username or a refresh token) is no
    credential of ours: refused before it reaches the throttle, a hash or the database. The
    app's input layer checks query strings; the issuer's own forms are checked here."""
    if not any(has_control_characters(value) for value in request.form.values()):
        return None
    if request.endpoint == f"{BLUEPRINT_NAME}.token":
        return OAuthError("invalid_request", "Invalid parameter value").response()
    return _message(embedded_issuer(), pages.LOGIN_ERROR_TITLE, pages.INVALID_CHARACTERS, 400)


# --- the issuer's state ----------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddedIssuer:
    settings: Settings
    engine: Engine
    signing_key: SigningKey
    clients: Mapping[str, Client]
    cookies: URLSafeTimedSerializer
    throttle: LoginThrottle
    # The realm's revokeRefreshToken: off (the export's, Keycloak's default), a refresh token
    # stays usable until it expires or its login ends; on, it is single use.
    revoke_refresh_tokens: bool = False

    @property
    def issuer(self) -> str:
        return self.settings.issuer

    @property
    def development(self) -> bool:
        return self.settings.env == "development"

    def jwks(self) -> dict[str, Any]:
        """The JWKS document, also usable in-process as a token validator's key source."""
        return self.signing_key.jwks()

    def discovery(self) -> dict[str, Any]:
        oidc = self.issuer + OIDC_PATH
        grant_types = [AUTHORIZATION_CODE, REFRESH_TOKEN, CLIENT_CREDENTIALS]
        if password_grant_allowed(self.settings):
            grant_types.append(PASSWORD)
        return {
            "issuer": self.issuer,
            "authorization_endpoint": oidc + "/auth",
            "token_endpoint": oidc + "/token",
            "userinfo_endpoint": oidc + "/userinfo",
            "end_session_endpoint": oidc + "/logout",
            "jwks_uri": oidc + "/certs",
            "grant_types_supported": grant_types,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(SUPPORTED_SCOPES),
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "preferred_username",
                "name",
                "given_name",
                "family_name",
                "email",
            ],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "authorization_response_iss_parameter_supported": True,
            "frontchannel_logout_supported": False,
            "backchannel_logout_supported": False,
        }


def embedded_issuer(app: Flask | None = None) -> EmbeddedIssuer:
    """The issuer installed on ``app`` (default: the current app)."""
    issuer: EmbeddedIssuer = (app or current_app).extensions[EXTENSION]
    return issuer


def init_embedded_issuer(app: Flask, settings: Settings, engine: Engine) -> None:
    """Mount the embedded issuer at ``EMBEDDED_ISSUER_PATH``; refused in production and when
    another issuer is configured. Creates the signing key under ``<var>/oidc`` on first use."""
    if settings.env == "production":
        raise RuntimeError(
            "the embedded issuer is for development and tests; set KENTRA_OIDC_ISSUER"
        )
    if not settings.uses_embedded_issuer:
        raise RuntimeError(
            "KENTRA_OIDC_ISSUER is set: tokens come from that issuer, not the embedded one"
        )
    if "babel" not in app.extensions:
        # Mounted on an app of its own (the platform's has its catalogue already): the pages'
        # texts in their source language, Greek.
        Babel(app, default_locale="el")
    _install(app, settings, engine)


def _install(app: Flask, settings: Settings, engine: Engine) -> EmbeddedIssuer:
    """Mount without the production check (tests use it to show production behaviour)."""
    secret = settings.secret_key.encode() if settings.secret_key else None
    cookie_secret = secret or load_or_create_cookie_secret(settings.var_dir)
    limits = rate_limits(app, settings, engine)
    realm = load_realm()
    issuer = EmbeddedIssuer(
        settings=settings,
        engine=engine,
        signing_key=load_or_create_signing_key(settings.var_dir),
        clients=build_clients(settings),
        cookies=URLSafeTimedSerializer(cookie_secret, salt="kentra.auth.issuer.browser"),
        throttle=LoginThrottle(
            engine,
            BruteForcePolicy.from_realm(realm),
            RateLimit(settings.login_failure_limit, limits.storage, limits.clock),
            # Keyed hashes of usernames and addresses: the app's secret key (mounted alone,
            # the issuer's own secret).
            app.secret_key or cookie_secret,
            limits.clock,
        ),
        revoke_refresh_tokens=realm.get("revokeRefreshToken") is True,
    )
    app.extensions[EXTENSION] = issuer
    app.register_blueprint(blueprint, url_prefix=EMBEDDED_ISSUER_PATH)
    return issuer


# --- responses -------------------------------------------------------------------------------


class OAuthError(Exception):
    """An RFC 6749 error answer of the token endpoint."""

    def __init__(
        self, error: str, description: str, status: int = 400, *, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.retry_after = retry_after

    def response(self) -> Response:
        response = _json({"error": self.error, "error_description": self.description}, self.status)
        if self.status == 401:
            response.headers["WWW-Authenticate"] = f'Basic realm="{REALM}"'
        if self.retry_after is not None:
            response.headers["Retry-After"] = str(self.retry_after)
        return response


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def _json(body: Mapping[str, Any], status: int = 200, *, cache: bool = False) -> Response:
    response = Response(
        json.dumps(dict(body), ensure_ascii=False), status, mimetype="application/json"
    )
    if cache:
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _html(body: str, status: int = 200) -> Response:
    response = Response(body, status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = pages.CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _message(issuer: EmbeddedIssuer, title: str, message: str, status: int) -> Response:
    body = pages.message_page(title, message, error=status >= 400, development=issuer.development)
    return _html(body, status)


def _redirect(location: str) -> Response:
    response = Response(status=302)
    response.headers["Location"] = location
    response.headers["Cache-Control"] = "no-store"
    return response


def _with_query(uri: str, params: Mapping[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(name, value) for name, value in params.items() if value is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _param(values: MultiDict[str, str], name: str) -> str | None:
    """One parameter; repeated is an error, empty counts as absent (RFC 6749 §3.1)."""
    found = values.getlist(name)
    if len(found) > 1:
        raise OAuthError("invalid_request", f"Duplicate parameter: {name}")
    return found[0] if found and found[0] != "" else None


def _scope(requested: str | None) -> str:
    """Granted scope: openid if asked for, plus the default scopes; unknown ones refused."""
    asked = requested.split() if requested else []
    unknown = sorted(set(asked) - set(SUPPORTED_SCOPES))
    if unknown:
        raise OAuthError("invalid_scope", "Invalid scopes: " + " ".join(unknown))
    return " ".join((["openid"] if "openid" in asked else []) + list(DEFAULT_SCOPES))


# --- the browser's login state ---------------------------------------------------------------


@dataclass(frozen=True)
class BrowserState:
    csrf_token: str
    session_id: uuid.UUID | None = None
    fresh: bool = False  # not yet sent to the browser


def _read_browser(issuer: EmbeddedIssuer) -> BrowserState:
    raw = request.cookies.get(COOKIE_NAME)
    if raw:
        try:
            data = issuer.cookies.loads(raw, max_age=int(grants.SESSION_LIFETIME.total_seconds()))
            session = data.get("sid")
            return BrowserState(str(data["csrf"]), uuid.UUID(session) if session else None)
        except (BadData, KeyError, TypeError, ValueError, AttributeError):
            pass
    return BrowserState(grants.new_secret(), fresh=True)


def _write_browser(issuer: EmbeddedIssuer, response: Response, state: BrowserState) -> None:
    value = {"csrf": state.csrf_token, "sid": str(state.session_id) if state.session_id else None}
    response.set_cookie(
        COOKIE_NAME,
        issuer.cookies.dumps(value),
        max_age=int(grants.SESSION_LIFETIME.total_seconds()),
        path=request.script_root + EMBEDDED_ISSUER_PATH,
        secure=(
            issuer.settings.env not in ("development", "test")
            or issuer.settings.base_url.startswith("https://")
        ),
        httponly=True,
        samesite="Lax",
    )


def _csrf_ok(browser: BrowserState) -> bool:
    presented = request.form.get("csrf_token", "")
    return (
        not browser.fresh
        and presented != ""
        and hmac.compare_digest(presented.encode(), browser.csrf_token.encode())
    )


def _browser_request() -> tuple[EmbeddedIssuer, BrowserState, MultiDict[str, str]]:
    """What the endpoints a browser is sent to (authorization, logout) start from: the issuer,
    the browser's login state, and the parameters, in the query (GET) or the form (POST)."""
    issuer = embedded_issuer()
    values = request.args if request.method == "GET" else request.form
    return issuer, _read_browser(issuer), values


def _browser_page(
    issuer: EmbeddedIssuer, browser: BrowserState, body: str, status: int = 200
) -> Response:
    """A page of the login or logout flow; a new browser state goes with it as a cookie."""
    response = _html(body, status)
    if browser.fresh:
        _write_browser(issuer, response, browser)
    return response


# --- discovery and keys ----------------------------------------------------------------------


@blueprint.get("/.well-known/openid-configuration")
@public
def openid_configuration() -> Response:
    return _json(embedded_issuer().discovery(), cache=True)


@blueprint.get(OIDC_PATH + "/certs")
@public
def certs() -> Response:
    return _json(embedded_issuer().jwks(), cache=True)


# --- authorization endpoint and login page ---------------------------------------------------


class _PageError(Exception):
    """The request cannot be answered by a redirect (unknown client or redirect URI)."""


class _RedirectError(Exception):
    """An error answered by redirecting to the client (RFC 6749 §4.1.2.1)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    state: str | None
    requested_scope: str | None
    scope: str
    nonce: str | None
    code_challenge: str
    prompt: str | None
    login_hint: str | None

    def fields(self) -> dict[str, str]:
        """The parameters the login form posts back (all checked again on POST)."""
        values = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.requested_scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        return {name: value for name, value in values.items() if value is not None}


def _parse_authorization_request(
    issuer: EmbeddedIssuer, values: MultiDict[str, str]
) -> AuthorizationRequest:
    client_ids = values.getlist("client_id")
    client = issuer.clients.get(client_ids[0]) if len(client_ids) == 1 else None
    if client is None:
        raise _PageError(pages.UNKNOWN_CLIENT)
    redirect_uris = values.getlist("redirect_uri")
    if len(redirect_uris) != 1 or redirect_uris[0] not in client.redirect_uris:
        raise _PageError(pages.BAD_REDIRECT)
    redirect_uri = redirect_uris[0]
    states = values.getlist("state")
    state = states[0] if len(states) == 1 and states[0] else None

    try:
        return _check_authorization_request(client, redirect_uri, values)
    except OAuthError as exc:
        params = {"error": exc.error, "error_description": exc.description, "state": state}
        raise _RedirectError(_with_query(redirect_uri, params | {"iss": issuer.issuer})) from None


def _check_authorization_request(
    client: Client, redirect_uri: str, values: MultiDict[str, str]
) -> AuthorizationRequest:
    """The rest of the request, once client and redirect URI are known good."""
    if _param(values, "response_type") != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported")
    if AUTHORIZATION_CODE not in client.grant_types:
        raise OAuthError("unauthorized_client", "Client is not allowed the code flow")
    if _param(values, "response_mode") not in (None, "query"):
        raise OAuthError("invalid_request", "Only response_mode=query is supported")
    requested_scope = _param(values, "scope")
    scope = _scope(requested_scope)
    challenge = _param(values, "code_challenge")
    if challenge is None:
        raise OAuthError("invalid_request", "Missing parameter: code_challenge")
    if _param(values, "code_challenge_method") != "S256" or not _CHALLENGE.fullmatch(challenge):
        raise OAuthError("invalid_request", "Invalid parameter: code_challenge_method")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        state=_param(values, "state"),
        requested_scope=requested_scope,
        scope=scope,
        nonce=_param(values, "nonce"),
        code_challenge=challenge,
        prompt=_param(values, "prompt"),
        login_hint=_param(values, "login_hint"),
    )


def _issue_code(
    conn: Connection,
    issuer: EmbeddedIssuer,
    authorization: AuthorizationRequest,
    session: grants.LoginSession,
) -> Response:
    code, _expires = grants.issue_grant(
        conn,
        GrantKind.AUTHORIZATION_CODE,
        user_id=session.user_id,
        client_id=authorization.client.client_id,
        session=session,
        scope=authorization.scope,
        redirect_uri=authorization.redirect_uri,
        code_challenge=authorization.code_challenge,
        nonce=authorization.nonce,
    )
    params = {
        "state": authorization.state,
        "session_state": str(session.id),
        "iss": issuer.issuer,
        "code": code,
    }
    return _redirect(_with_query(authorization.redirect_uri, params))


def _login_form(
    issuer: EmbeddedIssuer,
    authorization: AuthorizationRequest,
    browser: BrowserState,
    *,
    username: str = "",
    error: str | None = None,
    invalid: bool = False,
    status: int = 200,
) -> Response:
    body = pages.login_page(
        action=url_for(f"{BLUEPRINT_NAME}.authorize"),
        fields=authorization.fields(),
        csrf_token=browser.csrf_token,
        username=username,
        error=error,
        invalid=invalid,
        development=issuer.development,
    )
    return _browser_page(issuer, browser, body, status)


@blueprint.route(OIDC_PATH + "/auth", methods=["GET", "POST"])
@public
def authorize() -> Response:
    issuer, browser, values = _browser_request()
    try:
        authorization = _parse_authorization_request(issuer, values)
    except _PageError as exc:
        return _message(issuer, pages.LOGIN_ERROR_TITLE, str(exc), 400)
    except _RedirectError as exc:
        return _redirect(exc.location)

    if request.method == "GET":
        return _authorize_get(issuer, authorization, browser)
    return _authorize_post(issuer, authorization, browser)


def _authorize_post(
    issuer: EmbeddedIssuer, authorization: AuthorizationRequest, browser: BrowserState
) -> Response:
    """The login form's answer: check the CSRF token, the throttle, then the credentials."""
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    client_id = authorization.client.client_id
    retry_after: int | None = None
    if not _csrf_ok(browser):
        error, status = pages.FORM_EXPIRED, 400
    elif not username or not password:
        error, status = pages.MISSING_CREDENTIALS, 200
    else:
        attempt, user_id, refusal = _check_password(issuer, username, password, client_id)
        if user_id is not None:
            with issuer.engine.begin() as conn:
                session = grants.start_session(conn, user_id)
                response = _issue_code(conn, issuer, authorization, session)
            issuer.throttle.succeeded(attempt)
            log.info(
                "issuer.login",
                extra={
                    "user_id": str(user_id),
                    "client_id": client_id,
                    "session_id": str(session.id),
                },
            )
            # A new CSRF token with the new session: nothing from before the login carries over.
            _write_browser(issuer, response, BrowserState(grants.new_secret(), session.id))
            return response
        if refusal is not None and refusal.retry_after is not None:
            retry_after = refusal.retry_after
            error, status = pages.too_many_failures(retry_after), 429
        else:
            # A locked username gets the answer of a wrong password, as from Keycloak.
            error, status = pages.WRONG_CREDENTIALS, 200
    response = _login_form(
        issuer,
        authorization,
        browser,
        username=username,
        error=error,
        invalid=status == 200,
        status=status,
    )
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _check_password(
    issuer: EmbeddedIssuer, username: str, password: str, client_id: str
) -> tuple[LoginAttempt, uuid.UUID | None, Refusal | None]:
    """The throttle first, then the password: (the attempt, the user's id when the password
    is right, the refusal when the throttle stopped the attempt). Failures are counted and
    logged here."""
    throttle = issuer.throttle
    attempt = throttle.attempt(username, client_address())
    refusal = throttle.refusal(attempt)
    if refusal is not None:
        throttle.failed(attempt, refusal.reason, client_id=client_id)
        return attempt, None, refusal
    with issuer.engine.connect() as conn:
        stored = stored_credentials(conn, username)
    # The slow hash runs with no database connection held.
    user_id = check_credentials(stored, password)
    if user_id is None:
        throttle.failed(attempt, FailureReason.INVALID_CREDENTIALS, client_id=client_id)
    return attempt, user_id, None


def _authorize_get(
    issuer: EmbeddedIssuer, authorization: AuthorizationRequest, browser: BrowserState
) -> Response:
    if authorization.prompt != "login" and browser.session_id is not None:
        with issuer.engine.begin() as conn:
            session = grants.active_session(conn, browser.session_id)
            if session is not None:
                log.info(
                    "issuer.sso",
                    extra={
                        "user_id": str(session.user_id),
                        "client_id": authorization.client.client_id,
                    },
                )
                return _issue_code(conn, issuer, authorization, session)
    if authorization.prompt == "none":
        params = {"error": "login_required", "state": authorization.state, "iss": issuer.issuer}
        return _redirect(_with_query(authorization.redirect_uri, params))
    return _login_form(issuer, authorization, browser, username=authorization.login_hint or "")


# --- token endpoint --------------------------------------------------------------------------


def _authenticate_client(issuer: EmbeddedIssuer) -> Client:
    """client_secret_basic or client_secret_post; a public client names itself only."""
    form = request.form
    form_id = _param(form, "client_id")
    form_secret = _param(form, "client_secret")
    authorization = request.authorization
    secret: str | None
    if authorization is not None:
        if authorization.type != "basic":
            raise OAuthError("invalid_client", "Unsupported client authentication", 401)
        if form_secret is not None:
            raise OAuthError("invalid_request", "Use one client authentication method")
        # RFC 6749 §2.3.1: the id and secret are form-encoded before Basic encoding.
        client_id: str | None = unquote_plus(authorization.username or "")
        secret = unquote_plus(authorization.password or "")
        if form_id is not None and form_id != client_id:
            raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    else:
        client_id, secret = form_id, form_secret
    client = issuer.clients.get(client_id or "")
    if client is None:
        raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    if client.public:
        return client
    if secret is None or not client.secret_matches(secret):
        log.info("issuer.client_authentication_failed", extra={"client_id": client.client_id})
        raise OAuthError("invalid_client", "Invalid client or Invalid client credentials", 401)
    return client


def _tokens(
    conn: Connection,
    issuer: EmbeddedIssuer,
    client: Client,
    account: Account,
    *,
    scope: str,
    session: grants.LoginSession | None,
    nonce: str | None = None,
    refresh: bool = True,
    id_token: bool = True,
) -> dict[str, Any]:
    now = int(time.time())
    session_id = session.id if session else None
    access_token = sign(
        issuer.signing_key,
        access_token_claims(
            issuer=issuer.issuer,
            account=account,
            client_id=client.client_id,
            scope=scope,
            session_id=session_id,
            now=now,
        ),
    )
    body: dict[str, Any] = {"access_token": access_token, "expires_in": ACCESS_TOKEN_LIFETIME}
    if refresh:
        refresh_token, expires_at = grants.issue_grant(
            conn,
            GrantKind.REFRESH_TOKEN,
            user_id=account.id,
            client_id=client.client_id,
            session=session,
            scope=scope,
        )
        body["refresh_expires_in"] = max(0, int(expires_at.timestamp()) - now)
        body["refresh_token"] = refresh_token
    else:
        body["refresh_expires_in"] = 0
    body["token_type"] = ACCESS_TOKEN_TYPE
    if id_token and "openid" in scope.split():
        body["id_token"] = sign(
            issuer.signing_key,
            id_token_claims(
                issuer=issuer.issuer,
                account=account,
                client_id=client.client_id,
                scope=scope,
                session_id=session_id,
                auth_time=int(session.created_at.timestamp()) if session else now,
                nonce=nonce,
                access_token=access_token,
                now=now,
            ),
        )
    body["not-before-policy"] = 0
    if session is not None:
        body["session_state"] = str(session.id)
    body["scope"] = scope
    return body


def _pkce_verified(verifier: str | None, challenge: str | None) -> bool:
    if verifier is None or challenge is None or not _VERIFIER.fullmatch(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return hmac.compare_digest(computed, challenge)


def _consume(issuer: EmbeddedIssuer, kind: GrantKind, value: str, client: Client) -> grants.Grant:
    """Consume the code or refresh token; a replay revokes its session's refresh tokens. A
    refresh token the realm does not revoke on use is only looked up (it stays usable)."""
    with issuer.engine.begin() as conn:
        if kind is GrantKind.REFRESH_TOKEN and not issuer.revoke_refresh_tokens:
            grant = grants.find_grant(conn, kind, value, client.client_id)
            replayed = False
        else:
            grant = grants.consume_grant(conn, kind, value, client.client_id)
            replayed = grant is None and grants.handle_replay(conn, kind, value, client.client_id)
    if replayed:
        log.warning("issuer.grant_replayed", extra={"client_id": client.client_id, "kind": kind})
    if grant is None:
        raise _invalid_grant(
            "Code not valid" if kind is GrantKind.AUTHORIZATION_CODE else "Invalid refresh token"
        )
    if grant.expires_at <= utcnow():
        raise _invalid_grant(
            "Code is expired" if kind is GrantKind.AUTHORIZATION_CODE else "Token is not active"
        )
    return grant


def _active_account(conn: Connection, grant: grants.Grant) -> tuple[grants.LoginSession, Account]:
    session = grants.active_session(conn, grant.session_id) if grant.session_id else None
    account = load_account(conn, grant.user_id) if session else None
    if session is None or account is None or not account.enabled:
        raise _invalid_grant("Session not active")
    return session, account


def _authorization_code_grant(issuer: EmbeddedIssuer, client: Client) -> dict[str, Any]:
    code = _param(request.form, "code")
    redirect_uri = _param(request.form, "redirect_uri")
    verifier = _param(request.form, "code_verifier")
    if code is None:
        raise OAuthError("invalid_request", "Missing parameter: code")
    grant = _consume(issuer, GrantKind.AUTHORIZATION_CODE, code, client)
    if redirect_uri is None or not hmac.compare_digest(
        redirect_uri.encode(), (grant.redirect_uri or "").encode()
    ):
        raise _invalid_grant("Incorrect redirect_uri")
    if not _pkce_verified(verifier, grant.code_challenge):
        raise _invalid_grant("PKCE verification failed")
    with issuer.engine.begin() as conn:
        session, account = _active_account(conn, grant)
        body = _tokens(
            conn, issuer, client, account, scope=grant.scope, session=session, nonce=grant.nonce
        )
    log.info(
        "issuer.token",
        extra={"user_id": str(account.id), "client_id": client.client_id, "grant": "code"},
    )
    return body


def _refresh_token_grant(issuer: EmbeddedIssuer, client: Client) -> dict[str, Any]:
    value = _param(request.form, "refresh_token")
    if value is None:
        raise OAuthError("invalid_request", "Missing parameter: refresh_token")
    requested = _param(request.form, "scope")
    grant = _consume(issuer, GrantKind.REFRESH_TOKEN, value, client)
    if requested is not None and not set(requested.split()) <= set(grant.scope.split()):
        raise OAuthError("invalid_scope", "Scope not granted by the refresh token")
    with issuer.engine.begin() as conn:
        session, account = _active_account(conn, grant)
        # The scope stays the one granted at login; ID tokens after a refresh carry no nonce.
        body = _tokens(conn, issuer, client, account, scope=grant.scope, session=session)
    log.info(
        "issuer.token",
        extra={"user_id": str(account.id), "client_id": client.client_id, "grant": "refresh"},
    )
    return body


def _password_grant(issuer: EmbeddedIssuer, client: Client) -> dict[str, Any]:
    if not password_grant_allowed(issuer.settings):
        raise OAuthError("unauthorized_client", "Client not allowed for direct access grants")
    username = _param(request.form, "username")
    password = _param(request.form, "password")
    if username is None or password is None:
        raise OAuthError("invalid_request", "Missing parameter: username and password")
    scope = _scope(_param(request.form, "scope"))
    attempt, user_id, refusal = _check_password(issuer, username, password, client.client_id)
    if refusal is not None and refusal.retry_after is not None:
        raise OAuthError(
            "temporarily_unavailable",
            "Too many failed logins from this address",
            429,
            retry_after=refusal.retry_after,
        )
    if user_id is None:
        # A locked username gets the answer of a wrong password, as from Keycloak.
        raise _invalid_grant("Invalid user credentials")
    issuer.throttle.succeeded(attempt)
    with issuer.engine.begin() as conn:
        account = load_account(conn, user_id)
        assert account is not None
        if not account.profile_complete:
            # As Keycloak: the password was right, but the user profile lacks a required field.
            raise _invalid_grant("Account is not fully set up")
        session = grants.start_session(conn, user_id)
        body = _tokens(conn, issuer, client, account, scope=scope, session=session)
    log.info(
        "issuer.login",
        extra={"user_id": str(user_id), "client_id": client.client_id, "grant": "password"},
    )
    return body


def _client_credentials_grant(issuer: EmbeddedIssuer, client: Client) -> dict[str, Any]:
    if client.public:
        raise OAuthError(
            "unauthorized_client", "Public client not allowed to retrieve service account"
        )
    scope = _scope(_param(request.form, "scope"))
    with issuer.engine.begin() as conn:
        account = load_account(conn, ensure_service_account(conn, client))
        if account is None or not account.enabled:
            raise _invalid_grant("Service account disabled")
        # Like Keycloak: no refresh token and no ID token for the client credentials grant.
        body = _tokens(
            conn, issuer, client, account, scope=scope, session=None, refresh=False, id_token=False
        )
    log.info(
        "issuer.token",
        extra={"user_id": str(account.id), "client_id": client.client_id, "grant": "client"},
    )
    return body


_GRANTS: dict[str, Callable[[EmbeddedIssuer, Client], dict[str, Any]]] = {
    AUTHORIZATION_CODE: _authorization_code_grant,
    REFRESH_TOKEN: _refresh_token_grant,
    PASSWORD: _password_grant,
    CLIENT_CREDENTIALS: _client_credentials_grant,
}


@blueprint.post(OIDC_PATH + "/token")
@public
def token() -> Response:
    issuer = embedded_issuer()
    try:
        body = _grant(issuer)
    except OAuthError as exc:
        return exc.response()
    return _json(body)


def _grant(issuer: EmbeddedIssuer) -> dict[str, Any]:
    client = _authenticate_client(issuer)
    grant_type = _param(request.form, "grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", "Missing form parameter: grant_type")
    handler = _GRANTS.get(grant_type)
    if handler is None:
        raise OAuthError("unsupported_grant_type", "Unsupported grant_type")
    if grant_type not in client.grant_types:
        raise OAuthError("unauthorized_client", f"Client not allowed the {grant_type} grant")
    return handler(issuer, client)


# --- logout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogoutRequest:
    redirect_to: str | None
    state: str | None
    client_id: str | None
    hint: dict[str, Any] | None  # the verified claims of id_token_hint


class _LogoutRefused(Exception):
    pass


def _parse_logout(issuer: EmbeddedIssuer, values: MultiDict[str, str]) -> LogoutRequest:
    try:
        hint = _param(values, "id_token_hint")
        redirect_to = _param(values, "post_logout_redirect_uri")
        state = _param(values, "state")
        client_id = _param(values, "client_id")
    except OAuthError:
        raise _LogoutRefused(pages.BAD_LOGOUT_REQUEST) from None
    hint_claims: dict[str, Any] | None = None
    if hint is not None:
        try:
            hint_claims = verify(
                issuer.signing_key,
                hint,
                issuer=issuer.issuer,
                token_type=ID_TOKEN_TYPE,
                check_expiry=False,
            )
        except UntrustedToken:
            raise _LogoutRefused(pages.BAD_ID_TOKEN_HINT) from None
        hinted_client = str(hint_claims.get("azp") or hint_claims.get("aud"))
        if client_id is not None and client_id != hinted_client:
            raise _LogoutRefused(pages.CLIENT_MISMATCH)
        client_id = hinted_client
    client = issuer.clients.get(client_id) if client_id else None
    if client_id is not None and client is None:
        raise _LogoutRefused(pages.UNKNOWN_CLIENT)
    if redirect_to is not None and (
        client is None or redirect_to not in client.post_logout_redirect_uris
    ):
        raise _LogoutRefused(pages.BAD_POST_LOGOUT_REDIRECT)
    return LogoutRequest(redirect_to, state, client_id, hint_claims)


@blueprint.route(OIDC_PATH + "/logout", methods=["GET", "POST"])
@public
def logout() -> Response:
    """RP-initiated logout. With a valid ``id_token_hint`` the session ends at once; without
    one the user confirms on a page (a form with a CSRF token), like Keycloak. A
    ``post_logout_redirect_uri`` must be registered for the client (named by ``client_id`` or
    by the hint); ``state`` is passed back."""
    issuer, browser, values = _browser_request()
    try:
        logout_request = _parse_logout(issuer, values)
    except _LogoutRefused as exc:
        return _message(issuer, pages.LOGOUT_TITLE, str(exc), 400)
    if logout_request.hint is None and not (request.method == "POST" and _csrf_ok(browser)):
        return _logout_confirmation(issuer, logout_request, browser)
    return _end_login(issuer, logout_request, browser)


def _logout_confirmation(
    issuer: EmbeddedIssuer, logout_request: LogoutRequest, browser: BrowserState
) -> Response:
    fields = {
        "post_logout_redirect_uri": logout_request.redirect_to,
        "state": logout_request.state,
        "client_id": logout_request.client_id,
    }
    body = pages.logout_page(
        action=url_for(f"{BLUEPRINT_NAME}.logout"),
        fields={name: value for name, value in fields.items() if value is not None},
        csrf_token=browser.csrf_token,
        development=issuer.development,
    )
    return _browser_page(issuer, browser, body)


def _end_login(
    issuer: EmbeddedIssuer, logout_request: LogoutRequest, browser: BrowserState
) -> Response:
    """End the browser's login session and the one the hint names; revoke their tokens."""
    sessions = {browser.session_id}
    if logout_request.hint is not None:
        with contextlib.suppress(ValueError):
            sessions.add(uuid.UUID(str(logout_request.hint.get("sid"))))
    with issuer.engine.begin() as conn:
        ended = [grants.end_session(conn, sid) for sid in sessions if sid is not None]
    for user_id in ended:
        if user_id is not None:
            log.info("issuer.logout", extra={"user_id": str(user_id)})
    if logout_request.redirect_to is not None:
        location = _with_query(logout_request.redirect_to, {"state": logout_request.state})
        response = _redirect(location)
    else:
        response = _message(issuer, pages.LOGOUT_TITLE, pages.LOGGED_OUT, 200)
    _write_browser(issuer, response, BrowserState(grants.new_secret()))
    return response


# --- userinfo --------------------------------------------------------------------------------


def _bearer_error(description: str | None) -> Response:
    if description is None:
        response = _json({"error": "invalid_request"}, 401)
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}"'
        return response
    response = _json({"error": "invalid_token", "error_description": description}, 401)
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"'
    )
    return response


@blueprint.route(OIDC_PATH + "/userinfo", methods=["GET", "POST"])
@public
def userinfo() -> Response:
    issuer = embedded_issuer()
    authorization = request.authorization
    if authorization is None or authorization.type != "bearer" or not authorization.token:
        return _bearer_error(None)
    try:
        claims = verify(
            issuer.signing_key,
            authorization.token,
            issuer=issuer.issuer,
            token_type=ACCESS_TOKEN_TYPE,
        )
        user_id = uuid.UUID(str(claims["sub"]))
        session_id = uuid.UUID(str(claims["sid"])) if claims.get("sid") else None
    except (UntrustedToken, ValueError):
        return _bearer_error("Token verification failed")
    with issuer.engine.connect() as conn:
        active = session_id is None or grants.active_session(conn, session_id) is not None
        account = load_account(conn, user_id)
    if not active or account is None or not account.enabled:
        return _bearer_error("Session not active")
    return _json(userinfo_claims(account, str(claims.get("scope", ""))))


__all__ = [
    "BLUEPRINT_NAME",
    "COOKIE_NAME",
    "EmbeddedIssuer",
    "embedded_issuer",
    "init_embedded_issuer",
]
