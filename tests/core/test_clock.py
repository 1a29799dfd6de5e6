"""The programme's "today" is the date in Greece: between midnight in Athens and midnight UTC
the two differ, and contracts, regulations and policy versions follow the Greek date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kentra.platform.core import models
from kentra.platform.core.models import local_today


class FrozenDatetime(datetime):
    """00:30 on 26 November in Athens, still 25 November in UTC."""

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        moment = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
        return moment.astimezone(tz) if tz is not None else moment.replace(tzinfo=None)


def test_today_is_the_date_in_greece(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "datetime", FrozenDatetime)
    assert models.utcnow().date().isoformat() == "2026-11-25"
    assert local_today().isoformat() == "2026-11-26"
