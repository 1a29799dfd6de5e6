"""Errors as RFC 9457 problem details (``application/problem+json``), for every path.

Clients never see a stack trace: unexpected exceptions are logged server-side and answered
with a generic 500 problem.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger(__name__)


def problem_response(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
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


def unexpected_exception_problem(error: Exception) -> Response:
    log.error("unhandled error", exc_info=error, extra={"error_type": type(error).__name__})
    if wants_html():
        return error_page(500)
    return problem_response(500, "Internal Server Error", "An unexpected error occurred.")


def stale_data_problem(_error: StaleDataError) -> Response:
    """Two edits passed their If-Match check at the same moment; the version column caught the
    second at UPDATE (docs/adr/0015). The request's transaction is rolled back."""
    return problem_response(
        412,
        "Precondition Failed",
        "This record was changed since you read it. Read it again, then repeat your change.",
    )


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_exception_problem)
    app.register_error_handler(StaleDataError, stale_data_problem)
    app.register_error_handler(Exception, unexpected_exception_problem)
