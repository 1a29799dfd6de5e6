"""Authentication and authorization of every request.

Order, before any view (URL preprocessors, see platform/app/factory.py):

1. ``authenticate``: a bearer token is validated (no database work); a bad one is a 401 with
   ``WWW-Authenticate``. The principal is kept in ``g``.
2. ``authorize``: the endpoint's declared requirement (``@requires`` or ``@public``; an
   endpoint with neither is refused — deny by default). No principal → 401. Outside tenant URLs
   the principal needs the permission through some role.
3. On tenant URLs, ``kentra.tenants.routing`` resolves the tenant and calls
   :func:`authorize_tenant`: a tenant the principal's roles do not reach is a 404 (the same
   answer as a tenant that does not exist); reached but without the permission is a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlencode

from flask import Flask, abort, current_app, g, redirect, request
from werkzeug.exceptions import Unauthorized

from kentra.auth.permissions import Permission
from kentra.auth.principal import ANONYMOUS, Principal, PublicReader
from kentra.auth.tokens import InvalidToken, TokenValidator

F = TypeVar("F", bound=Callable[..., Any])
REQUIREMENT_ATTRIBUTE = "_kentra_requirement"
PUBLIC = "public"
REALM = "kentra"


def requires(permission: Permission) -> Callable[[F], F]:
    """Declare the permission an endpoint needs (checked before the view runs)."""

    def mark(view: F) -> F:
        setattr(view, REQUIREMENT_ATTRIBUTE, permission)
        return view

    return mark


def public(view: F) -> F:
    """Declare an endpoint open to anonymous callers (health, reference data, login)."""
    setattr(view, REQUIREMENT_ATTRIBUTE, PUBLIC)
    return view


def declare_public_endpoint(app: Flask, endpoint: str) -> None:
    """Mark an endpoint registered by a library (e.g. the OpenAPI document) as public."""
    app.extensions.setdefault("kentra_public_endpoints", set()).add(endpoint)


def requirement_of(endpoint: str | None, app: Flask | None = None) -> Permission | str | None:
    """What an endpoint declared: a Permission, PUBLIC, or None (undeclared: refused)."""
    app = app or current_app
    if endpoint in app.extensions.get("kentra_public_endpoints", ()):
        return PUBLIC
    view = app.view_functions.get(endpoint or "")
    requirement: Permission | str | None = getattr(view, REQUIREMENT_ATTRIBUTE, None)
    return requirement


def current_principal() -> Principal | None:
    principal: Principal | None = g.get("principal")
    return principal


def signed_in_principal() -> Principal:
    """The request's principal, in a view behind ``@requires``, where authentication has run."""
    principal = current_principal()
    if principal is None:
        raise RuntimeError("a principal exists only in an authenticated request")
    return principal


def current_reader() -> PublicReader:
    """Who reads public data in this request: the principal, or a visitor not signed in (the
    loaders of public data take it; every other loader takes ``signed_in_principal()``)."""
    return current_principal() or ANONYMOUS


def current_actor() -> str:
    """Who the request's changes are recorded as (the principal's subject), in a view behind
    ``@requires``."""
    return signed_in_principal().actor


class BearerChallenge(Unauthorized):
    """401 with an RFC 6750 challenge: ``Bearer realm="kentra"[, error="…", error_description="…"]``."""

    def __init__(self, description: str, challenge: str) -> None:
        super().__init__(description)
        self.challenge = challenge

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [*super().get_headers(*args, **kwargs), ("WWW-Authenticate", self.challenge)]


def _unauthorized(error: str | None = None, description: str | None = None) -> NoReturn:
    """Refuse the request; name the error when a token was given (values are fixed strings)."""
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}", error_description="{description or error}"'
    raise BearerChallenge(description or "Authentication is required.", challenge)


# Blueprints that authenticate their own callers: the embedded issuer's token endpoint takes
# client credentials in a Basic header (RFC 6749 §2.3.1), which is not ours to refuse.
SELF_AUTHENTICATING_BLUEPRINTS = frozenset({"oidc_issuer"})


def authenticate(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    g.principal = None
    if request.blueprint in SELF_AUTHENTICATING_BLUEPRINTS:
        return
    header = request.headers.get("Authorization")
    if header is None:
        # Web pages (never the API) may run on the login session's principal.
        from_session = current_app.extensions.get("kentra_session_principal")
        if from_session is not None and not request.path.startswith("/api/"):
            g.principal = from_session()
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        _unauthorized("invalid_request", "Use the Bearer scheme.")
    validator: TokenValidator = current_app.extensions["kentra_auth"]
    try:
        # Read from the claims once per token (validate_as): Principal is frozen.
        g.principal = validator.validate_as(token.strip(), Principal.from_claims)
    except InvalidToken as exc:
        _unauthorized("invalid_token", str(exc))


def authorize(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if endpoint is None:  # no route matched: the 404/405 follows
        return
    requirement = requirement_of(endpoint)
    if requirement == PUBLIC:
        return
    if requirement is None:
        abort(403, "This endpoint declares no permission, so it is closed to everyone.")
    principal = current_principal()
    if principal is None:
        if not request.path.startswith("/api/") and "Authorization" not in request.headers:
            # A web page: send the visitor to the login, and back here afterwards.
            abort(redirect(f"/auth/login?{urlencode({'next': request.full_path.rstrip('?')})}"))
        _unauthorized()
    assert isinstance(requirement, Permission)
    if values and "municipality_code" in values:
        return  # decided by authorize_tenant once the tenant is known
    if requirement not in principal.permissions:
        abort(403, "Your role does not allow this.")


def tenant_placement_needed() -> bool:
    """Whether ``authorize_tenant`` needs the tenant's region and supervising municipality for
    the current request: only when a role of its principal reaches municipalities by where they
    are (``Principal.reaches_by_placement``); for the others they change nothing."""
    principal = current_principal()
    return principal is not None and principal.reaches_by_placement


def authorize_tenant(
    tenant_code: str,
    tenant_region: str | None,
    not_found: Callable[[], None],
    *,
    tenant_supervisor: str | None = None,
) -> None:
    """Called by tenant routing once the tenant exists and is active, with its region and its
    supervising municipality (None: not determined, or not read because
    ``tenant_placement_needed()`` said they change nothing)."""
    requirement = requirement_of(request.endpoint)
    if requirement == PUBLIC:
        return
    principal = current_principal()
    assert principal is not None  # authorize() ran first
    assert isinstance(requirement, Permission)
    if not principal.may_enter(tenant_code, tenant_region, tenant_supervisor):
        not_found()
    if not principal.allows(requirement, tenant_code, tenant_region, tenant_supervisor):
        if requirement.personal_data:
            # People's records: to a role without the permission (oversight, the municipality
            # admin) they do not exist, as to another municipality (issue 13).
            not_found()
        abort(403, "Your role does not allow this in this municipality.")


def init_app(app: Flask, validator: TokenValidator) -> None:
    """Register the validator and the two preprocessors (call before tenant routing)."""
    app.extensions["kentra_auth"] = validator
    app.url_value_preprocessor(authenticate)
    app.url_value_preprocessor(authorize)
