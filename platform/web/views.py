"""The shared web plumbing: the stylesheet and the language switch (both public)."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from kentra.auth.flask import public
from kentra.auth.web import safe_next
from kentra.platform.web.i18n import LANGUAGE_COOKIE, LANGUAGES

blueprint = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blueprint.get("/language/<language>")
@public
def choose_language(language: str) -> ResponseReturnValue:
    """Remember the language for a year and go back to the page the visitor was on."""
    response = redirect(safe_next(request.args.get("next")), 303)
    if language in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response
