"""How pages write times and dates: as people in Greece read them, whatever the server's zone.

Times are stored in UTC (``timestamptz``); a page shows them in Europe/Athens, day first.
Registered as Jinja filters by :func:`init_app`: ``{{ version.uploaded_at | local_time }}``,
``{{ request.submitted_at | local_day }}``, ``{{ unit.closed_on | day }}``.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask

from kentra.platform.core.models import PLATFORM_TIMEZONE

NOTHING = "—"


def local_time(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:MM in Europe/Athens; a dash for no time."""
    return NOTHING if moment is None else f"{moment.astimezone(PLATFORM_TIMEZONE):%d/%m/%Y %H:%M}"


def local_day(moment: datetime | None) -> str:
    """The day of ``moment`` in Europe/Athens (near midnight, UTC's day may be another)."""
    return NOTHING if moment is None else f"{moment.astimezone(PLATFORM_TIMEZONE):%d/%m/%Y}"


def day(value: date | None) -> str:
    """A calendar date (no zone): dd/mm/yyyy."""
    return NOTHING if value is None else f"{value:%d/%m/%Y}"


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(local_time=local_time, local_day=local_day, day=day)
