"""Shared API plumbing: our subclasses of flask-smorest's ``Api`` and ``Blueprint``.

Every error of the API is a problem document (RFC 9457), see :mod:`kentra.platform.core.problems`.
Every schema derives from :class:`Schema`, which applies the input layer
(:mod:`kentra.platform.core.inputs`) to each of its fields; the pages load their forms through
the same schemas.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import re
from datetime import date
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import flask
import flask_smorest
import marshmallow as ma
from flask import Response
from sqlalchemy import Column
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import HTTPException

from kentra.auth.flask import PUBLIC, declare_public_endpoint, requirement_of
from kentra.platform.api import docs
from kentra.platform.core import inputs
from kentra.platform.core.problems import PROBLEM_MEDIA_TYPE, http_exception_problem

API_PREFIX = "/api/v1"


class ProblemSchema(ma.Schema):
    """An error, as every error of the API is sent (RFC 9457, ``application/problem+json``;
    :func:`kentra.platform.core.problems.problem_response`)."""

    type = ma.fields.String(required=True, metadata={"example": "about:blank"})
    title = ma.fields.String(required=True, metadata={"example": "Forbidden"})
    status = ma.fields.Integer(required=True, metadata={"example": 403})
    code = ma.fields.String(
        metadata={
            "description": "A refusal's stable code, ``<module>.<what>``, for programs to tell "
            "refusals apart (the detail is for people, in the request's language).",
            "example": "units.centre_exists",
        }
    )
    detail = ma.fields.String(metadata={"description": "What went wrong, for a person to read."})
    instance = ma.fields.String(metadata={"description": "The request's path."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={
            "description": "Messages by where the input came from (``json``, ``query``, "
            "``form``, ``files``) and field: a list of messages, or for a list's items and "
            "nested objects the same shape again by index or name (422).",
            "example": {"json": {"postal_code": ["A postal code has 5 digits."]}},
        },
    )


# The refusals every operation may answer (a malformed query string, the database away for a
# moment), those of an operation with a path parameter (nothing of that name, or not yours),
# and those of one that takes a body (malformed, too large, or refused by the schema).
_EVERY_OPERATION = (400, 503)
_WITH_PATH_PARAMETERS = (404,)
_WITH_BODY = (400, 413, 422)
_WRITES = frozenset({"post", "put", "patch", "delete"})
# The URL's codes as the server reads them (any other value names nothing: 404).
MUNICIPALITY_CODE = {
    "type": "string",
    "pattern": "^[0-9]{4}$",
    "description": "a municipality's 4-digit ELSTAT code",
    "example": "4501",
}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "municipality_code": MUNICIPALITY_CODE,
    "code": MUNICIPALITY_CODE,
    "regional_unit_code": {
        "type": "string",
        "pattern": "^[0-9]{2}$",
        "description": "a regional unit's 2-digit ELSTAT prefix",
        "example": "45",
    },
}


# What tells a caller how to authenticate: Keycloak's (or the embedded issuer's) discovery
# document, and the bearer access token it issues.
BEARER = "bearer"
OPENID_CONNECT = "openIdConnect"
# Answers every authenticated operation may give besides its own; a tenant's operations also
# answer 404 for a municipality that is not there or not the caller's (the same answer).
_AUTHENTICATED_RESPONSES = {"401": "UNAUTHORIZED", "403": "FORBIDDEN"}
_TENANT_RESPONSES = {"404": "NOT_FOUND"}
_TENANT_PATH = "{municipality_code}"
_RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def openapi_path(rule: str) -> str:
    """A Flask rule's path as the OpenAPI document writes it: ``<int:unit_id>`` -> ``{unit_id}``
    (as apispec's Flask plugin does)."""
    return _RULE_ARGUMENT.sub(r"{\1}", rule)


class Api(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest's Api, answering errors as problem+json and describing them, and the
    authentication every operation needs, as they really are."""

    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" answer: each operation lists the statuses it really answers.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: flask.Flask, *args: Any, **kwargs: Any) -> None:
        """flask-smorest's, with the document's pages at ``/api/v1/docs`` (Swagger UI) and
        ``/api/v1/docs/redoc`` (ReDoc), public, their files served by the platform."""
        app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
        app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "unused: our template names the files")
        app.config.setdefault("OPENAPI_REDOC_PATH", "docs/redoc")
        app.config.setdefault("OPENAPI_REDOC_URL", "unused: our template names the file")
        super().init_app(app, *args, **kwargs)
        app.register_blueprint(docs.blueprint)
        for endpoint in (
            "api-docs.openapi_json",
            "api-docs.openapi_swagger_ui",
            "api-docs.openapi_redoc",
            f"{docs.blueprint.name}.asset",
        ):
            declare_public_endpoint(app, endpoint)

    def _openapi_swagger_ui(self) -> Response:
        return docs.swagger_ui_page(self.spec.title, flask.url_for("api-docs.openapi_json"))

    def _openapi_redoc(self) -> Response:
        return docs.redoc_page(self.spec.title, flask.url_for("api-docs.openapi_json"))

    def handle_http_exception(self, error: HTTPException) -> Response:
        return http_exception_problem(error)

    def _openapi_json(self) -> Response:
        # A copy: apispec's dict shares its registered components, which must stay as they are.
        app = flask.current_app
        document = describe_refusals(
            describe_security(copy.deepcopy(self.spec.to_dict()), app), app
        )
        return flask.current_app.response_class(
            flask.json.dumps(document, indent=2, sort_keys=False), mimetype="application/json"
        )


def describe_security(document: dict[str, Any], app: flask.Flask) -> dict[str, Any]:
    """The OpenAPI document with what the code enforces: the security schemes, each
    operation's ``security`` from the permission its view declares (none for public ones),
    its 401 and 403 answers (and a tenant's 404), and every error as
    ``application/problem+json``."""
    settings = app.extensions["kentra"].settings
    document["servers"] = [{"url": settings.base_url, "description": "this platform"}]
    components = document.setdefault("components", {})
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of the platform's identity provider (Keycloak).",
        },
        OPENID_CONNECT: {
            "type": "openIdConnect",
            "openIdConnectUrl": f"{settings.issuer}/.well-known/openid-configuration",
        },
    }
    for response in components.get("responses", {}).values():
        content = response.get("content", {})
        if "application/json" in content:
            content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
    endpoints = {
        (openapi_path(rule.rule), method.lower()): rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            requirement = requirement_of(endpoints.get((path, method)), app)
            if requirement == PUBLIC:
                operation["security"] = []
                continue
            operation["security"] = [{BEARER: []}, {OPENID_CONNECT: []}]
            answers = dict(_AUTHENTICATED_RESPONSES)
            if _TENANT_PATH in path:
                answers.update(_TENANT_RESPONSES)
            for status, name in answers.items():
                operation["responses"].setdefault(
                    status, {"$ref": f"#/components/responses/{name}"}
                )
                components.setdefault("responses", {}).setdefault(name, _problem_response(name))
    return document


def _problem_response(name: str) -> dict[str, Any]:
    return {
        "description": name.replace("_", " ").capitalize(),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def describe_refusals(document: dict[str, Any], app: flask.Flask) -> dict[str, Any]:
    """The codes of the paths as the server reads them, and each operation's problem answers
    as the code gives them: 400 and 503 for any request
    (:mod:`kentra.platform.core.inputs`, :mod:`kentra.platform.core.problems`), 404 where the
    path names something, 400, 413 and 422 where a body is read, and on a write the statuses
    of the ``DomainError`` refusals its module raises (:func:`refusal_statuses`)."""
    views = {
        (openapi_path(rule.rule), method.lower()): app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    responses = document.setdefault("components", {}).setdefault("responses", {})
    for path, operations in document.get("paths", {}).items():
        for parameter in operations.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS:
                parameter["schema"] = dict(PATH_PARAMETERS[parameter["name"]])
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = set(_EVERY_OPERATION)
            if "{" in path:
                statuses.update(_WITH_PATH_PARAMETERS)
            if "requestBody" in operation:
                statuses.update(_WITH_BODY)
            view = views.get((path, method))
            if method in _WRITES and view is not None:
                statuses.update(
                    refusal_statuses(Path(inspect.getfile(inspect.unwrap(view))).parent)
                )
            for status in sorted(statuses):
                name = HTTPStatus(status).name
                operation["responses"].setdefault(
                    str(status), {"$ref": f"#/components/responses/{name}"}
                )
                responses.setdefault(name, _problem_response(name))
    return document


@functools.cache
def refusal_statuses(module: Path) -> frozenset[int]:
    """The statuses of the ``DomainError(code, status, …)`` a domain module's source raises
    (``tests/core/test_errors.py`` holds each to a literal)."""
    statuses: set[int] = set()
    for source in module.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "DomainError"
                and len(node.args) > 1
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, int)
            ):
                statuses.add(node.args[1].value)
    return frozenset(statuses)


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

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's, with a schema class made once, here: webargs would build it anew
        on every request (measured on the units list, the API's most frequent read: B5)."""
        return super().arguments(schema() if isinstance(schema, type) else schema, *args, **kwargs)

    def paged_list(self, arguments: Any, schema: Any) -> Any:
        """A paged list's query and answer (ADR 0040), said once for every list: its
        ``arguments`` (a :class:`~kentra.platform.api.paging.PageArgsSchema`) in the query
        string, ``schema`` as the 200's body, and the pages around it in a ``Link`` header. The
        view answers :func:`~kentra.platform.api.paging.paged` (or sets the header itself)."""
        from kentra.platform.api.paging import LINK_HEADER  # noqa: PLC0415 - paging imports this module

        query = self.arguments(arguments, location="query")
        answer = self.response(200, schema, headers=LINK_HEADER)
        return lambda view: query(answer(view))


class SchemaOpts(ma.SchemaOpts):
    """``class Meta: model = …``: the table the schema's fields are stored in, whose column
    types bound them (``String(n)`` a text's length, ``INTEGER`` a number's range)."""

    def __init__(self, meta: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(meta, *args, **kwargs)
        self.model = getattr(meta, "model", None)


class SchemaMeta(ma.schema.SchemaMeta):
    """Declared fields in marshmallow's order (inherited field groups first, then the schema's
    own), except a record's ``id``, which leads, so the API document lists it first."""

    @classmethod
    def get_declared_fields(
        mcs,  # noqa: N804 - marshmallow's name
        klass: Any,
        cls_fields: list[tuple[str, ma.fields.Field[Any]]],
        inherited_fields: list[tuple[str, ma.fields.Field[Any]]],
        dict_cls: type[dict[str, Any]] = dict,
    ) -> dict[str, ma.fields.Field[Any]]:
        fields = super().get_declared_fields(klass, cls_fields, inherited_fields, dict_cls)
        return dict_cls({"id": fields["id"], **fields}) if "id" in fields else fields


class Schema(ma.Schema, metaclass=SchemaMeta):
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


Found = TypeVar("Found")


def found_or_404(found: Found | None, message: str) -> Found:
    """What an access function found, or the 404 problem saying ``message`` when it found
    nothing: there is no such thing, or it is not the caller's (one answer for both)."""
    if found is None:
        flask_smorest.abort(404, message=message)
    assert found is not None  # abort() raises
    return found


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
