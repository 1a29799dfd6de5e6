"""The Flask application factory: ``flask --app kentra.platform.app.factory run``."""

from __future__ import annotations

import importlib
import logging
import pkgutil
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from kentra.auth import flask as auth
from kentra.auth.flask import declare_public_endpoint
from kentra.auth.permissions import check_permission_table
from kentra.auth.tokens import HttpJwks, JwksCache, JwksSource, TokenValidator
from kentra.auth.web import exempt_from_csrf, init_web_login
from kentra.platform.api import API_PREFIX, Api
from kentra.platform.app import health, wiring
from kentra.platform.core import headers, inputs, problems
from kentra.platform.core.config import ConfigError, Settings, broker_url
from kentra.platform.core.database import get_engine, init_request_boundary
from kentra.platform.core.files import write_once
from kentra.platform.core.logging import configure_logging
from kentra.platform.ratelimits import limits as ratelimit
from kentra.platform.supervision.operations import tenant_route_lookup
from kentra.platform.web import formats as web_formats
from kentra.platform.web import forms as web_forms
from kentra.platform.web import i18n as web_i18n
from kentra.platform.web import navigation as web_navigation
from kentra.tenants import routing

log = logging.getLogger("kentra.request")


@dataclass(frozen=True)
class KentraExtension:
    """What the app holds for the rest of the platform: ``app.extensions["kentra"]``."""

    settings: Settings
    engine: Engine
    broker_url: str


def discover_blueprints(module_name: str = "blueprint") -> list[Any]:
    """Every ``blueprint`` object of the ``kentra.platform.<module>.<module_name>`` modules:
    API blueprints in ``blueprint.py``, web pages in ``views.py``."""
    import kentra.platform  # noqa: PLC0415

    found = []
    for module in sorted(
        pkgutil.iter_modules(kentra.platform.__path__, "kentra.platform."), key=lambda m: m.name
    ):
        if not module.ispkg:
            continue
        try:
            blueprint_module = importlib.import_module(f"{module.name}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{module.name}.{module_name}":
                raise
            continue
        found.append(blueprint_module.blueprint)
    return found


def _start_request_log(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    g.request_started = time.perf_counter()
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex


def _finish_request_log(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    if not log.isEnabledFor(logging.INFO):
        return response
    started = g.get("request_started")
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.path,  # never the query string: it may carry search terms
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2) if started else None,
            "request_id": g.get("request_id"),
        },
    )
    return response


def app_secret_key(settings: Settings) -> str:
    """KENTRA_SECRET_KEY; outside production, a random one kept under var/ (mode 0600)."""
    if settings.secret_key:
        return settings.secret_key
    if settings.env == "production":
        raise ConfigError(
            "KENTRA_SECRET_KEY is required in production (it signs the session cookie)"
        )
    path = settings.var_dir / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_once(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


def token_validator(
    settings: Settings, app: Flask, jwks: JwksSource | None = None
) -> TokenValidator:
    """The validator for the configured issuer: Keycloak's JWKS over HTTP, or the embedded
    issuer's key read in-process (no HTTP call to ourselves)."""
    if jwks is None and settings.uses_embedded_issuer:
        from kentra.auth.issuer.server import embedded_issuer  # noqa: PLC0415

        def jwks() -> Mapping[str, Any]:
            return embedded_issuer(app).jwks()

    source = jwks or HttpJwks(f"{settings.issuer}/protocol/openid-connect/certs")
    return TokenValidator(settings.issuer, JwksCache(source))


class KentraFlask(Flask):
    """Flask, with :meth:`ensure_sync`'s answer remembered per function. Flask asks it of
    every preprocessor, view, after-request and teardown function on every request, and each
    answer inspects the function's code flags (ADR 0029); the functions are module-level and
    registered once, so the answer does not change. Only plain functions are remembered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        synced = self._synced.get(func)
        if synced is None:
            synced = super().ensure_sync(func)
            if isinstance(func, FunctionType):
                self._synced[func] = synced
        return synced


def create_app(settings: Settings | None = None, *, jwks: JwksSource | None = None) -> Flask:
    settings = settings or Settings.from_env()
    wiring.install()  # onboarding approval provisions tenants with the modules' steps
    configure_logging(settings.log_level, json_format=settings.log_json)
    # "kentra" is a namespace package: Flask cannot find a root path for it by itself.
    app = KentraFlask("kentra", root_path=str(Path(__file__).resolve().parent), static_folder=None)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_content_length,
        SECRET_KEY=app_secret_key(settings),
        API_TITLE="Kentra",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        PROPAGATE_EXCEPTIONS=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["kentra"] = KentraExtension(
        settings=settings, engine=get_engine(settings), broker_url=broker_url(settings)
    )

    # URL preprocessors run before before_request, in registration order: the request id and
    # timer first (so 413 and tenant 404 answers carry them), then the body limit, then tenancy.
    app.url_value_preprocessor(_start_request_log)
    # Before any route is added: bounded <int:…> and clean text segments; then the body's
    # size, the request's JSON depth and its query string are checked before authentication
    # and tenancy.
    inputs.init_app(app)
    auth.init_app(app, token_validator(settings, app, jwks))
    routing.init_app(app, tenant_route_lookup())
    # after_request functions run in reverse order: the boundary commits, then the log line
    # is written with the final status.
    app.after_request(_finish_request_log)
    init_request_boundary(app)

    problems.init_app(app)
    headers.init_app(app, settings)
    ratelimit.init_app(app, settings)
    api = Api(app)
    api_blueprints = discover_blueprints()
    for blueprint in api_blueprints:
        api.register_blueprint(blueprint)
    app.register_blueprint(health.blueprint)
    exempt_from_csrf(*api_blueprints, health.blueprint)  # bearer tokens, no cookie
    for pages in discover_blueprints("views"):
        app.register_blueprint(pages)
    web_i18n.init_app(app)
    web_forms.init_app(app)
    web_formats.init_app(app)
    web_navigation.init_app(app)
    declare_public_endpoint(app, "web.static")  # the stylesheet
    if settings.uses_embedded_issuer:
        from kentra.auth.issuer.server import blueprint as issuer_blueprint  # noqa: PLC0415
        from kentra.auth.issuer.server import init_embedded_issuer  # noqa: PLC0415

        init_embedded_issuer(app, settings, app.extensions["kentra"].engine)
        exempt_from_csrf(issuer_blueprint)  # its login form carries a token of its own
    init_web_login(app, settings)
    declare_public_endpoint(app, "api-docs.openapi_json")  # the API description is public
    check_permission_table()
    if settings.proxy_hops:
        # Trust exactly that many proxies' X-Forwarded-For/-Proto, no more (spoofing).
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops
        )
    return app
