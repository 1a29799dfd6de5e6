"""Fixtures the regulation tests (API and pages) share."""

from __future__ import annotations

import pytest
from flask import Flask

from kentra.auth.roles import Role
from kentra.platform.core.config import Settings
from tests.tokens import TokenFactory


@pytest.fixture
def small_upload_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    """The app's upload limit lowered to 4 KiB for one test (the setting is read per request)."""
    kentra = app.extensions["kentra"]
    limit = 4096
    monkeypatch.setitem(
        app.extensions,
        "kentra",
        type(kentra)(
            settings=Settings(**{**kentra.settings.__dict__, "max_upload_bytes": limit}),
            engine=kentra.engine,
            broker_url=kentra.broker_url,
        ),
    )
    return limit


@pytest.fixture
def ministry(tokens: TokenFactory) -> dict[str, str]:
    """A ministry officer's headers (the pages' module has its own signed-in client)."""
    return tokens.headers(Role.MINISTRY_OFFICER)
