"""Shared API plumbing: our subclasses of flask-smorest's ``Api`` and ``Blueprint``.

Every error of the API is a problem document (RFC 9457), see :mod:`kentra.platform.core.problems`.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Response
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from kentra.platform.core.problems import http_exception_problem

API_PREFIX = "/api/v1"


class Api(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors as problem+json."""

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_exception_problem(error)


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint; our routes all live under ``/api/v1``.

    Unknown arguments are refused in every location (webargs would silently drop unknown
    query parameters), so a misspelt filter is a 422, not a list that ignores it.
    """

    ARGUMENTS_PARSER = FlaskParser(unknown=ma.RAISE)

    def __init__(self, name: str, import_name: str, *, url_prefix: str, **kwargs: Any) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX + url_prefix, **kwargs)


class Schema(ma.Schema):
    """Base schema: unknown fields are rejected, so typos surface as 422 instead of vanishing."""

    class Meta:
        unknown = ma.RAISE
        ordered = True
