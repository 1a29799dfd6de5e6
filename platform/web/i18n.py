"""Languages of the web pages: Greek (the source language of every message) and English.

Messages are written in Greek and wrapped in ``_()``; ``translations/en`` holds their English.
The visitor's choice is a cookie set by ``GET /language/<code>``; without one, Greek.
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
    chosen = request.cookies.get(LANGUAGE_COOKIE, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_language,
        default_locale=DEFAULT_LANGUAGE,
        default_translation_directories=str(TRANSLATIONS),
    )
