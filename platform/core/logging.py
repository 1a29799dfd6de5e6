"""Structured logs: one JSON object per line, with the tenant code of the request or task.

Log records name objects by id, never by personal data (see docs/operations.md).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

from kentra.tenants.binding import current_tenant


class TenantFilter(logging.Filter):
    """Adds ``tenant`` (the municipality code, or null) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        code = current_tenant()
        record.tenant = code.value if code is not None else None
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (test capture, reloads)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(level: str = "INFO", *, json_format: bool = True) -> None:
    handler = StderrHandler()
    handler.addFilter(TenantFilter())
    if json_format:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(tenant)s",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(tenant)s] %(message)s")
        )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_kentra", False)]:
        root.removeHandler(existing)
    handler._kentra = True  # type: ignore[attr-defined]  # marks our handler for reconfiguration
    root.addHandler(handler)
    root.setLevel(level)
    # pgserver narrates its start and atexit bookkeeping at INFO; that is noise in our logs.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
