"""The pages speak Greek, and English on request: every message has its English translation.

Greek is the source language of every message (``_("…")`` in templates and code); the English
catalog is ``platform/web/translations/en``. ``make translations`` extracts and updates it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from kentra.platform.web.i18n import LANGUAGE_COOKIE

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "platform/web/translations/en/LC_MESSAGES/messages.po"


def test_every_message_of_the_pages_has_an_english_translation(tmp_path: Path) -> None:
    template = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "lazy_gettext",
            "-k",
            "_l",
            "-o",
            str(template),
            "--no-location",
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
    )
    with template.open("rb") as source:
        wanted = {m.id for m in read_po(source) if m.id}
    with CATALOG.open("rb") as source:
        catalog = read_po(source)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in wanted - translated)
    assert missing == [], f"{len(missing)} messages have no English: run `make translations`"


def test_pages_are_greek_by_default_and_english_when_chosen(client: FlaskClient) -> None:
    greek = client.get("/")
    assert greek.status_code == 200
    assert 'lang="el"' in greek.get_data(as_text=True)

    switched = client.get("/language/en?next=/onboarding")
    assert switched.status_code == 303
    assert switched.headers["Location"] == "/onboarding"
    assert f"{LANGUAGE_COOKIE}=en" in switched.headers["Set-Cookie"]
    english = client.get("/")
    assert 'lang="en"' in english.get_data(as_text=True)
    assert "Skip to main content" in english.get_data(as_text=True)
    client.get("/language/el")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "relative"]
)
def test_the_language_switch_only_goes_back_to_this_site(client: FlaskClient, target: str) -> None:
    response = client.get("/language/en", query_string={"next": target})
    assert response.headers["Location"] == "/"
    client.get("/language/el")


def test_an_unknown_language_changes_nothing(client: FlaskClient) -> None:
    response = client.get("/language/xx?next=/onboarding")
    assert response.status_code == 303
    assert "Set-Cookie" not in response.headers
