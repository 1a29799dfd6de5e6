"""Errors as RFC 9457 problem details (``application/problem+json``), for every path.

Clients never see a stack trace: unexpected exceptions are logged server-side and answered
with a generic 500 problem. A lost or refused database connection is a 503 with
``Retry-After``: the database restarting or failing over is an outage that passes.

Each failed request is logged once, as one line with its request id and the exception's
type, SQLSTATE and frames, never its message (which may quote personal data:
:func:`kentra.platform.core.logging.describe_exception`).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from types import TracebackType
from typing import Any

from flask import Flask, Response, g, json, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from kentra.platform.core.database import database_unavailable
from kentra.platform.core.errors import DomainError
from kentra.platform.core.logging import describe_exception, qualified_name

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Seconds a client should wait before trying again while the database is unavailable: a
# restart or a failover takes about that long.
RETRY_AFTER_SECONDS = 10
log = logging.getLogger(__name__)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if code:
        body["code"] = code
    if detail:
        body["detail"] = detail
    body["instance"] = request.path
    if errors:
        body["errors"] = errors
    response = Response(
        json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_html() -> bool:
    """A browser asking for a page (not the API): it gets an HTML error page in the layout,
    with the same status. API clients, and anyone not asking for HTML, get the problem."""
    return not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", "")


def error_page(status: int) -> Response:
    body = render_template("web/error.html", status=status)
    return Response(body, status=status, mimetype="text/html")


def http_exception_problem(error: HTTPException) -> Response:
    status = error.code or 500
    if wants_html():
        response = error_page(status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    # flask-smorest's abort() and webargs put validation messages in error.data.
    data = getattr(error, "data", None) or {}
    errors = data.get("messages") or data.get("errors")
    detail = data.get("message") or (error.description if status < 500 else None)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem_response(status, error.name, detail, errors=errors, headers=headers)


def _request_fields() -> dict[str, Any]:
    # The path, never the query string (it may carry search terms).
    return {"request_id": g.get("request_id"), "method": request.method, "path": request.path}


def unexpected_exception_problem(error: BaseException) -> Response:
    if database_unavailable(error):
        return database_unavailable_problem(error)
    log.error("unhandled error", extra={**_request_fields(), **describe_exception(error)})
    if wants_html():
        return error_page(500)
    return problem_response(500, "Internal Server Error", "An unexpected error occurred.")


def database_unavailable_problem(error: BaseException) -> Response:
    """One line, no traceback: an outage fails every request the same way."""
    log.warning(
        "database unavailable",
        extra={
            **_request_fields(),
            "error_type": qualified_name(type(error)),
            "sqlstate": describe_exception(error)["sqlstate"],
        },
    )
    retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if wants_html():
        response = error_page(503)
        response.headers.update(retry)
        return response
    return problem_response(
        503,
        "Service Unavailable",
        "The database is unavailable for a moment. Try again shortly.",
        headers=retry,
    )


def internal_server_error_problem(error: InternalServerError) -> Response:
    """Flask wraps an exception raised after the view (the commit in an after_request
    function) in an InternalServerError: answer and log the exception it carries."""
    if error.original_exception is not None:
        return unexpected_exception_problem(error.original_exception)
    return http_exception_problem(error)


def domain_error_problem(error: DomainError) -> Response:
    """A refusal a view did not handle itself: problem+json with its code and its message in
    the request's language (each field's message under ``errors`` too, by where the field
    came from, as a schema's 422 puts it); a browser gets the error page of its status."""
    if wants_html():
        return error_page(error.status)
    detail = error.detail
    errors: dict[str, dict[str, list[str]]] = {}
    for field, messages in error.field_messages().items():
        errors.setdefault(_location(field), {})[field] = messages
    return problem_response(
        error.status,
        HTTPStatus(error.status).phrase,
        detail,
        errors=errors or None,
        code=error.code,
    )


def _location(field: str) -> str:
    """Where the field came from, as webargs names the locations of a schema's 422."""
    if field in request.files:
        return "files"
    if field in request.args:  # a list's cursor (core.bad_cursor)
        return "query"
    return "form" if request.form else "json"


def stale_data_problem(_error: StaleDataError) -> Response:
    """Two edits passed their If-Match check at the same moment; the version column caught the
    second at UPDATE (docs/adr/0015). The request's transaction is rolled back."""
    return problem_response(
        412,
        "Precondition Failed",
        "This record was changed since you read it. Read it again, then repeat your change.",
    )


def _log_nothing(
    _exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
) -> None:
    """The error handlers log each failure once, without values."""


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_exception_problem)
    app.register_error_handler(InternalServerError, internal_server_error_problem)
    app.register_error_handler(StaleDataError, stale_data_problem)
    app.register_error_handler(DomainError, domain_error_problem)
    app.register_error_handler(Exception, unexpected_exception_problem)
    # Flask's own "Exception on <path>" record has the full traceback with the messages; the
    # 500 handler above logs the same exception value-free.
    app.log_exception = _log_nothing  # type: ignore[method-assign,assignment]
