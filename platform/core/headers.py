"""Security headers of every response: a government service's pages cannot be framed, load
nothing from elsewhere, run no inline script, and are only reached over TLS once seen there.

Set on every answer (pages, API, problems, static files) unless the view set its own: the
embedded issuer's pages carry a stricter policy of their own (``default-src 'none'`` with the
hash of their one inline style), which is kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request

from kentra.platform.core.config import Settings

# Where a browser may send a form: here, and the identity provider (the logout form's answer
# redirects there, and Chromium applies form-action to a form's redirects too).
_FORM_ACTION = "form-action 'self'"
# Powerful features no page of the platform uses.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
# The full address within the platform (CSRF checks compare the Referer over TLS); nothing
# to other sites: a page's query string may carry a searched name.
REFERRER_POLICY = "same-origin"


# The API document's pages (Swagger UI, ReDoc: kentra.platform.api.docs): scripts and
# everything else from here only, as every page; the viewers also set inline styles
# (style attributes, styled-components), draw icons from data: URIs, and ReDoc searches in a
# worker it makes from a blob. No form, no frame, no inline script.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        "form-action 'none'",
    ]
)


def content_security_policy(settings: Settings) -> str:
    parts = urlsplit(settings.issuer)
    issuer_origin = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(
        [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
            f"{_FORM_ACTION} {issuer_origin}",
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every answer carries (HSTS is added on TLS only: see :func:`init_app`)."""
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }


def init_app(app: Flask, settings: Settings) -> None:
    headers = list(security_headers(settings).items())
    # HSTS over plain HTTP is ignored by browsers and would pin a development host; behind a
    # TLS-terminating proxy, request.is_secure needs KENTRA_PROXY_HOPS (X-Forwarded-Proto).
    hsts = f"max-age={settings.hsts_seconds}" if settings.hsts_seconds > 0 else None

    @app.after_request
    def _security_headers(response: Response) -> Response:
        # One pass over the response's headers (setdefault would scan them once per header).
        present = {name.lower() for name in response.headers.keys()}  # noqa: SIM118
        response.headers.extend([(n, v) for n, v in headers if n.lower() not in present])
        if hsts is not None and request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", hsts)
        return response
