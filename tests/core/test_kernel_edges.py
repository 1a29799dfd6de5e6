"""The kernel's input rules, value-free logging, problem answers and cursors at their edges
(platform/core is under the 100 % branch gate, ADR 0039)."""

from __future__ import annotations

import json
import logging

import marshmallow as ma
import pytest
from flask import Flask
from sqlalchemy import Column, SmallInteger
from werkzeug.exceptions import InternalServerError, MethodNotAllowed

from kentra.platform.core import inputs, paging, problems
from kentra.platform.core.errors import DomainError
from kentra.platform.core.logging import ValueFreeFilter, format_exception_without_values

HTML = {"Accept": "text/html"}


def hardened(field: ma.fields.Field[object], column: Column[object] | None = None) -> ma.Schema:
    schema = ma.Schema.from_dict({"value": field})()
    inputs.harden_field(schema.fields["value"], column)
    return schema


def test_a_smallint_column_bounds_its_field_to_16_bits() -> None:
    schema = hardened(ma.fields.Integer(), Column("places", SmallInteger))
    assert schema.load({"value": 32767}) == {"value": 32767}
    with pytest.raises(ma.ValidationError, match="outside the allowed range"):
        schema.load({"value": 32768})


def test_each_item_of_a_tuple_field_is_hardened() -> None:
    schema = hardened(ma.fields.Tuple((ma.fields.String(), ma.fields.Integer())))
    assert schema.load({"value": ["Αθήνα", 1]}) == {"value": ("Αθήνα", 1)}
    with pytest.raises(ma.ValidationError, match="control characters"):
        schema.load({"value": ["Αθ\x00ήνα", 1]})
    with pytest.raises(ma.ValidationError, match="outside the allowed range"):
        schema.load({"value": ["Αθήνα", 2**63]})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "\xff"}', "not UTF-8"),
        (b'{"name": ', "Expecting value"),  # the parser's own refusal, as it is
        (b'{"number": NaN}', "NaN is not a JSON number"),
    ],
)
def test_a_body_that_is_no_json_value_of_ours_is_a_decode_error(body: bytes, reason: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=reason):
        inputs.parse_json(body)


def record(msg: object, args: tuple[object, ...] | None = None) -> logging.LogRecord:
    return logging.LogRecord("kentra.test", logging.ERROR, __file__, 1, msg, args, None)


def test_exceptions_logged_as_arguments_or_as_the_message_lose_their_text() -> None:
    secret = ValueError("ΑΜΚΑ 01017012345")
    as_argument = record("failed: %s (%d tries)", (secret, 3))
    assert ValueFreeFilter().filter(as_argument)
    assert as_argument.getMessage() == "failed: ValueError (3 tries)"
    as_message = record(secret)
    assert ValueFreeFilter().filter(as_message)
    assert as_message.getMessage() == "ValueError"


def test_a_chained_traceback_keeps_each_exception_type_and_no_message() -> None:
    def look_up() -> None:
        raise KeyError("ΑΜΚΑ 01017012345")

    def handle() -> None:
        try:
            look_up()
        except KeyError as inner:
            raise RuntimeError("Παπαδόπουλος") from inner

    with pytest.raises(RuntimeError) as raised:
        handle()
    text = format_exception_without_values(raised.value)
    assert text.count("Traceback (most recent call last):") == 2
    assert "The above exception led to the following exception:" in text
    assert text.index("KeyError (message not logged)") < text.index(
        "RuntimeError (message not logged)"
    )
    assert "01017012345" not in text
    assert "Παπαδόπουλος" not in text


def test_an_internal_error_without_an_exception_is_a_500_problem_without_detail(
    app: Flask,
) -> None:
    with app.test_request_context("/api/v1/units"):
        response = problems.internal_server_error_problem(InternalServerError())
    assert response.status_code == 500
    assert response.mimetype == problems.PROBLEM_MEDIA_TYPE
    body = response.get_json()
    assert body["title"] == "Internal Server Error"
    assert "detail" not in body


def test_a_browser_gets_the_error_page_with_the_exceptions_headers(app: Flask) -> None:
    with app.test_request_context("/units", headers=HTML):
        response = problems.http_exception_problem(MethodNotAllowed(valid_methods=["GET"]))
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert response.headers["Allow"] == "GET"


def test_a_browser_gets_a_refusal_as_the_error_page_of_its_status(app: Flask) -> None:
    refusal = DomainError("core.bad_cursor", 422, paging.BAD_CURSOR, field="cursor")
    with app.test_request_context("/units", headers=HTML):
        response = problems.domain_error_problem(refusal)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    with app.test_request_context("/api/v1/units?cursor=x"):
        answer = problems.domain_error_problem(refusal).get_json()
    assert answer["code"] == "core.bad_cursor"
    assert list(answer["errors"]["query"]) == ["cursor"]


def test_a_cursor_without_a_sort_key_is_refused() -> None:
    cursor = paging.keyset_cursor("units", [])
    with pytest.raises(DomainError) as refused:
        paging.keyset_place("units", cursor)
    assert refused.value.code == "core.bad_cursor"
    assert paging.keyset_place("units", paging.keyset_cursor("units", ["Α", 7])) == (
        ("Α", 7),
        False,
    )
