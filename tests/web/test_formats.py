"""Times and dates as pages show them (kentra.platform.web.formats)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask

from kentra.platform.web.formats import day, local_day, local_time


def test_times_are_shown_in_athens_day_first() -> None:
    summer_night = datetime(2026, 7, 1, 21, 30, tzinfo=UTC)  # EEST, UTC+3
    winter_noon = datetime(2026, 1, 15, 10, 5, tzinfo=UTC)  # EET, UTC+2
    assert local_time(summer_night) == "02/07/2026 00:30"
    assert local_day(summer_night) == "02/07/2026"  # already the next day in Greece
    assert local_time(winter_noon) == "15/01/2026 12:05"
    assert day(date(2026, 3, 9)) == "09/03/2026"
    assert (local_time(None), local_day(None), day(None)) == ("—", "—", "—")


def test_the_pages_filters_are_registered(app: Flask) -> None:
    render = app.jinja_env.from_string("{{ t | local_time }} {{ t | local_day }} {{ d | day }}")
    moment = datetime(2026, 12, 31, 22, 0, tzinfo=UTC)
    assert render.render(t=moment, d=date(2027, 1, 1)) == "01/01/2027 00:00 01/01/2027 01/01/2027"
