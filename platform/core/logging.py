"""Structured logs: one JSON object per line, with the tenant code of the request or task.

Log records name objects by id, never by personal data (see docs/operations.md). Exceptions
are the other way personal data reaches a log: their messages quote the values that failed (a
database error repeats the bound parameters, the value that did not parse, the key of a
unique violation). So every exception is logged by its type, its SQLSTATE and the frames where
it happened, never by its message: in our own records (:func:`describe_exception`), in any
library's traceback (the formatters) and in the arguments libraries hand to their messages
(:class:`ValueFreeFilter`: Celery's task failures, werkzeug's request lines).
"""

from __future__ import annotations

import logging
import re
import sys
import sysconfig
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
# The innermost frames are the informative ones; a SQLAlchemy traceback has some thirty.
MAX_FRAMES = 25
_PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Longest prefix first, so a virtualenv inside the checkout is cut at site-packages.
_PATH_PREFIXES = sorted(
    {str(_PROJECT_ROOT), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"]},
    key=len,
    reverse=True,
)


# The tenant (a MunicipalityCode) the current request or task acts for. Set and read through
# kentra.tenants.binding (set_current_tenant, tenant_context, current_tenant); it lives here so
# that the kernel's log records can name the tenant without importing the layer above.
current_tenant_var: ContextVar[Any] = ContextVar("kentra_tenant", default=None)


def qualified_name(error_type: type[BaseException]) -> str:
    module = error_type.__module__
    return (
        error_type.__qualname__ if module == "builtins" else f"{module}.{error_type.__qualname__}"
    )


def _short_path(filename: str) -> str:
    for prefix in _PATH_PREFIXES:
        if filename.startswith(prefix + "/"):
            return filename[len(prefix) + 1 :]
    return filename


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and what caused it, outermost first (``__cause__``, else ``__context__``)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def _frames(tb: TracebackType | None) -> list[str]:
    frames = traceback.extract_tb(tb)[-MAX_FRAMES:]
    return [f"{_short_path(f.filename)}:{f.lineno} in {f.name}" for f in frames]


def describe_exception(error: BaseException) -> dict[str, Any]:
    """What an operator needs of an exception, without its message: the type, the types of
    its causes, the SQLSTATE of a database error and where it was raised."""
    chain = _chain(error)
    sqlstate = next(
        (state for e in chain if isinstance(state := getattr(e, "sqlstate", None), str)), None
    )
    return {
        "error_type": qualified_name(type(error)),
        "error_causes": [qualified_name(type(e)) for e in chain[1:]],
        "sqlstate": sqlstate,
        "where": _frames(error.__traceback__),
    }


def format_exception_without_values(error: BaseException) -> str:
    """A traceback as Python prints it, each exception's line reduced to its type."""
    parts = []
    for position, link in enumerate(reversed(_chain(error))):
        if position:
            parts.append("\nThe above exception led to the following exception:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(f"  {frame}\n" for frame in _frames(link.__traceback__))
        parts.append(qualified_name(type(link)) + " (message not logged)\n")
    return "".join(parts).rstrip("\n")


class TenantFilter(logging.Filter):
    """Adds ``tenant`` (the municipality code, or null) to every record, and ``request_id``
    to the records written while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        code = current_tenant_var.get()
        record.tenant = code.value if code is not None else None
        if not hasattr(record, "request_id"):
            request_id = _current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


def _current_request_id() -> str | None:
    from flask import g, has_request_context  # noqa: PLC0415 - the worker logs without Flask

    if not has_request_context():
        return None
    request_id = g.get("request_id")
    return request_id if isinstance(request_id, str) else None


# Keys of Celery's task-failure context (celery.app.trace) that carry values: the exception's
# text, the formatted traceback, the task's arguments and its result.
_CELERY_VALUE_KEYS = frozenset({"exc", "traceback", "args", "kwargs", "return_value"})
_QUERY_STRING = re.compile(r"\?\S*")


class ValueFreeFilter(logging.Filter):
    """Takes values out of what libraries log: exceptions passed as message arguments become
    their type, Celery's task context loses the exception text and the task's arguments, and
    werkzeug's request line loses its query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        error_type = (
            qualified_name(record.exc_info[0]) if record.exc_info and record.exc_info[0] else None
        )
        if isinstance(record.args, Mapping):
            record.args = _without_values(record.args, error_type)
        elif isinstance(record.args, tuple):
            record.args = tuple(_value_free_argument(a, record.name) for a in record.args)
        data = getattr(record, "data", None)
        if isinstance(data, Mapping):
            record.data = _without_values(data, error_type)
        if isinstance(record.msg, BaseException):
            record.msg = qualified_name(type(record.msg))
        return True


def _without_values(context: Mapping[str, Any], error_type: str | None) -> dict[str, Any]:
    cleaned = dict(context)
    for key in _CELERY_VALUE_KEYS & cleaned.keys():
        cleaned[key] = error_type if key == "exc" and error_type else "(not logged)"
    return cleaned


def _value_free_argument(argument: object, logger_name: str) -> object:
    if isinstance(argument, BaseException):
        return qualified_name(type(argument))
    if logger_name == "werkzeug" and isinstance(argument, str):
        return _QUERY_STRING.sub("", argument)
    return argument


class ValueFreeJsonFormatter(JsonFormatter):
    """JSON lines whose ``exc_info`` is a traceback without the exceptions' messages."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return format_exception_without_values(ei[1])


# The attributes every LogRecord has; the others came as ``extra`` (or from our filters).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "tenant",
    "taskName",
}


class ValueFreeTextFormatter(logging.Formatter):
    """Plain lines (``KENTRA_LOG_FORMAT=text``) with the same value-free tracebacks, and the
    record's extra fields (request id, status, error type…) as ``key=value`` after the message."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return format_exception_without_values(ei[1])

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        extras = " ".join(
            f"{key}={value}"
            for key, value in vars(record).items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        )
        line = super().formatMessage(record)
        return f"{line} {extras}" if extras else line

    def format(self, record: logging.LogRecord) -> str:
        # logging caches the formatted traceback on the record; another handler's (with
        # messages) must not be reused.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


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
    handler.addFilter(ValueFreeFilter())
    if json_format:
        handler.setFormatter(
            ValueFreeJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(tenant)s",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(
            ValueFreeTextFormatter("%(asctime)s %(levelname)s %(name)s [%(tenant)s] %(message)s")
        )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if getattr(h, "_kentra", False)]:
        root.removeHandler(existing)
    handler._kentra = True  # type: ignore[attr-defined]  # marks our handler for reconfiguration
    root.addHandler(handler)
    root.setLevel(level)
    # pgserver narrates its start and atexit bookkeeping at INFO; that is noise in our logs.
    logging.getLogger("pgserver").setLevel(max(logging.WARNING, root.level))
