"""The WSGI app B3 serves under gunicorn (``tests.benchmarks.auth_app:build()``): the platform's
app three times in one process, by path prefix, so every variant runs in the same workers on the same database.

- ``/cached/…``: the app as production builds it (a cache of validated tokens);
- ``/uncached/…``: the same, its validator without the cache (every token verified);
- ``/public/…``: the same, the measured endpoint declared public (no authentication at all):
  no token is read; the view's reader is the principal of the bench token's claims, made once
  at start (``KENTRA_BENCH_CLAIMS``), since the endpoint reads through a scoped loader that
  needs one (ADR 0041).

Tokens are signed by the bench process; the public key comes as a JWKS file (``KENTRA_BENCH_JWKS``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import g
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.wrappers import Response

from kentra.auth.flask import declare_public_endpoint
from kentra.auth.principal import Principal
from kentra.auth.tokens import JwksCache, TokenValidator
from kentra.platform.app.factory import create_app
from kentra.platform.core.config import Settings

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

JWKS_ENV = "KENTRA_BENCH_JWKS"
CLAIMS_ENV = "KENTRA_BENCH_CLAIMS"
VARIANTS = ("cached", "uncached", "public")
ENDPOINT = "municipalities.get_profile"
CPU_HEADER = "X-Bench-Thread-CPU-ns"


def build() -> DispatcherMiddleware:
    settings = Settings.from_env()
    document: Mapping[str, Any] = json.loads(Path(os.environ[JWKS_ENV]).read_text())

    def jwks() -> Mapping[str, Any]:
        return document

    mounts = {}
    for variant in VARIANTS:
        app = create_app(settings, jwks=jwks)
        if variant == "uncached":
            app.extensions["kentra_auth"] = TokenValidator(
                settings.issuer, JwksCache(jwks), cache_size=0
            )
        elif variant == "public":
            declare_public_endpoint(app, ENDPOINT)
            reader = Principal.from_claims(json.loads(Path(os.environ[CLAIMS_ENV]).read_text()))
            app.before_request(partial(_sign_in_as, reader))
        mounts[f"/{variant}"] = app
    return ThreadCpu(DispatcherMiddleware(Response("no such variant", status=404), mounts))


def _sign_in_as(principal: Principal) -> None:
    """The public variant's reader, set after ``authenticate`` left none: no token checked."""
    g.principal = principal


class ThreadCpu:
    """Adds the CPU time the serving thread spent on the request until its answer started
    (``CPU_HEADER``, ns): contention from other threads and processes does not count."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.thread_time_ns()

        def timed(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append((CPU_HEADER, str(time.thread_time_ns() - started)))
            return start_response(status, headers, exc_info)

        return self.app(environ, timed)
