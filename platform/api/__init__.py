"""Shared API plumbing: our subclasses of flask-smorest's ``Api`` and ``Blueprint``.

Every error of the API is a problem document (RFC 9457), see :mod:`kentra.platform.core.problems`.
Every schema derives from :class:`Schema`, which applies the input layer
(:mod:`kentra.platform.core.inputs`) to each of its fields; the pages load their forms through
the same schemas.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from flask import Response
from sqlalchemy import Column
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from kentra.platform.core import inputs
from kentra.platform.core.problems import http_exception_problem

API_PREFIX = "/api/v1"


class Api(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors as problem+json."""

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_exception_problem(error)


class ArgumentsParser(FlaskParser):
    """webargs' parser, reading JSON bodies through :func:`inputs.parse_json` (NaN, overflowing
    numbers and lone surrogates are a 400 like any malformed body)."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return missing
        return inputs.parse_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """flask-smorest's Blueprint; our routes all live under ``/api/v1``.

    Unknown arguments are refused in every location (webargs would silently drop unknown
    query parameters), so a misspelt filter is a 422, not a list that ignores it.
    """

    ARGUMENTS_PARSER = ArgumentsParser(unknown=ma.RAISE)

    def __init__(self, name: str, import_name: str, *, url_prefix: str, **kwargs: Any) -> None:
        super().__init__(name, import_name, url_prefix=API_PREFIX + url_prefix, **kwargs)


class SchemaOpts(ma.SchemaOpts):
    """``class Meta: model = …``: the table the schema's fields are stored in, whose column
    types bound them (``String(n)`` a text's length, ``INTEGER`` a number's range)."""

    def __init__(self, meta: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(meta, *args, **kwargs)
        self.model = getattr(meta, "model", None)


class Schema(ma.Schema):
    """Base schema: unknown fields are rejected, so typos surface as 422 instead of vanishing;
    text arrives in NFC and every field is held to the input layer's rules."""

    OPTIONS_CLASS = SchemaOpts
    opts: SchemaOpts

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field[Any]) -> None:
        inputs.harden_field(field_obj, self._column(field_obj.attribute or field_name))

    def _column(self, name: str) -> Column[Any] | None:
        model = self.opts.model
        if model is None:
            return None
        column: Column[Any] | None = model.__table__.columns.get(name)
        return column

    @ma.pre_load
    def _normalise_text(self, data: Any, **_kwargs: Any) -> Any:
        return inputs.normalised(data)


def _iso_date(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(document: Any) -> Response:
    """A 200 JSON answer for a document already in its schema's dumped form (for a hot read
    path that skips the schema's dump), dates as ISO 8601 as marshmallow's ``Date`` writes
    them (Flask's own JSON would write HTTP dates). Compact, as Flask's outside debug mode."""
    app = flask.current_app
    body = app.json.dumps(document, default=_iso_date, separators=(",", ":"))
    return app.response_class(body + "\n", mimetype="application/json")
