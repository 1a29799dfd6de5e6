"""The shared web plumbing: the stylesheet and script, the pages' components from npm, and the
language switch (all public)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, redirect, request, send_from_directory
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

# The components' files the pages load (platform/web/vendor/package.json, installed by
# `make web-assets`): by the name the pages use, where npm put it. Nothing else is served.
VENDOR = Path(__file__).resolve().parent / "vendor" / "node_modules"
VENDOR_FILES: dict[str, str] = {
    "tom-select.js": "tom-select/dist/js/tom-select.complete.min.js",
    "tom-select.css": "tom-select/dist/css/tom-select.default.min.css",
}


def vendor_installed() -> bool:
    """Whether the components are there; without them the pages keep the browser's own
    controls (every form works either way)."""
    return all((VENDOR / path).is_file() for path in VENDOR_FILES.values())


@blueprint.get("/static/vendor/<vendor_file>")
@public
def vendor(vendor_file: str) -> ResponseReturnValue:
    """One component file (cached a day: the packages are pinned)."""
    path = VENDOR_FILES.get(vendor_file)
    if path is None or not (VENDOR / path).is_file():
        abort(404)
    return send_from_directory(VENDOR, path, max_age=86_400)


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
