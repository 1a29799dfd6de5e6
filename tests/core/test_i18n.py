"""The kernel's texts (``kentra.platform.core.i18n``, ADR 0045): translated each time they are
shown, and declared without loading Flask, so the command line runs without it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

from flask import Flask
from flask_babel import force_locale
from markupsafe import escape

from kentra.platform.core.i18n import LazyString, lazy_decimal, lazy_gettext
from kentra.platform.policy.operations import FIRST_BAND_NOT_ZERO

# What `kentra db upgrade` must not load: the web framework and what comes with it.
WEB_PACKAGES = {"flask", "flask_babel", "werkzeug", "jinja2"}


def test_a_text_is_greek_outside_a_request_and_in_each_requests_language(app: Flask) -> None:
    greek = "Η πρώτη ζώνη πρέπει να ξεκινά από πληθυσμό 0."
    assert isinstance(FIRST_BAND_NOT_ZERO, LazyString)
    assert str(FIRST_BAND_NOT_ZERO) == greek
    with app.test_request_context(), force_locale("en"):
        assert str(FIRST_BAND_NOT_ZERO) == "The first band must start at population 0."
    # Not cached: the next request in Greek sees Greek again.
    with app.test_request_context(), force_locale("el"):
        assert str(FIRST_BAND_NOT_ZERO) == greek


def test_a_text_is_a_string_where_one_is_expected() -> None:
    text = lazy_gettext("Ο Δήμος %(code)s <δοκιμή>", code="9999")
    assert text == "Ο Δήμος 9999 <δοκιμή>"
    assert {text: 1}["Ο Δήμος 9999 <δοκιμή>"] == 1  # hashable as its text
    assert str(escape(text)) == "Ο Δήμος 9999 &lt;δοκιμή&gt;"  # escaped in a page
    assert "Δήμος" in text
    assert repr(text) == "l'Ο Δήμος 9999 <δοκιμή>'"  # as Flask-Babel's, in a debugger


def test_a_number_is_written_as_the_requests_language_writes_it(app: Flask) -> None:
    size = lazy_decimal(Decimal("1.5"))
    with app.test_request_context(), force_locale("el"):
        assert str(size) == "1,5"
    with app.test_request_context(), force_locale("en"):
        assert str(size) == "1.5"


def test_the_upgrade_command_loads_no_web_framework() -> None:
    """``kentra db upgrade`` imports the domain's migration steps and their refusal messages;
    Flask (and Jinja, Werkzeug) stays out of the process (B2's CLI time)."""
    script = (
        "import sys\n"
        "from kentra.platform.app.cli import main\n"
        "main(['db', 'upgrade', '--json'], standalone_mode=False)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    *report, loaded_line = completed.stdout.strip().splitlines()
    assert json.loads("\n".join(report))["summary"]["failed"] == 0
    loaded = set(json.loads(loaded_line))
    assert "sqlalchemy" in loaded  # the check sees what the command loaded
    assert loaded & WEB_PACKAGES == set()
