"""Languages of the web pages: Greek (the source language of every message) and English.

Messages are written in Greek and wrapped in ``_()``; ``translations/en`` holds their English.
The visitor's choice is a cookie set by ``GET /language/<code>``; without one, Greek (the
API's clients may ask for English with ``Accept-Language``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel

LANGUAGES: dict[str, str] = {"el": "Ελληνικά", "en": "English"}
DEFAULT_LANGUAGE = "el"
LANGUAGE_COOKIE = "kentra_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"

babel = Babel()


def select_language() -> str:
    """The visitor's choice (the cookie); else, for the API's clients, the best of
    ``Accept-Language`` (pages stay Greek until English is chosen); else Greek."""
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    if request.path.startswith("/api/"):
        return request.accept_languages.best_match(LANGUAGES, DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_language,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(TRANSLATIONS),
    )
