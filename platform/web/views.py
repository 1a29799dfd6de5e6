"""The shared web plumbing: the stylesheet and the language switch (both public)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from kentra.auth.flask import public
from kentra.platform.web.i18n import LANGUAGE_COOKIE, LANGUAGES

blueprint = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _local(target: str | None) -> str:
    """Only a path of this site: never an absolute URL or a scheme-relative one."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@blueprint.get("/language/<language>")
@public
def choose_language(language: str) -> ResponseReturnValue:
    """Remember the language for a year and go back to the page the visitor was on."""
    response = redirect(_local(request.args.get("next")), 303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response
