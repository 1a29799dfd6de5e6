"""The input layer: what any value from outside must be before the platform uses it.

One set of rules for the API and the pages alike (docs/adr/0020):

- the request (:func:`refuse_hostile_request`, before authentication and tenancy): a JSON body
  nested deeper than :data:`JSON_MAX_DEPTH` is a 400 before it is parsed; a query string with
  a control character is a 400;
- the URL (:func:`init_app`'s converters): an ``<int:…>`` segment beyond BIGINT, or a text
  segment with a control, direction or zero-width character, matches no route (404);
- every field of every schema (:func:`harden_field`, run by the base ``Schema`` of
  :mod:`kentra.platform.api`, which the pages' forms load through too): text is NFC and free
  of control characters (tab and line breaks only in multi-line fields), of direction
  overrides and isolates and of zero-width characters, and no longer than its column (or a
  default); integers fit their column (BIGINT unless the column is INTEGER); dates lie in
  :data:`DATE_MIN` … :data:`DATE_MAX`. Names need a letter (:data:`NAME`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, abort, current_app, request
from marshmallow import validate
from sqlalchemy import Column, Integer, SmallInteger, String
from webargs.core import is_json
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

from kentra.platform.core.config import Settings


def N_(message: str) -> str:  # noqa: N802 - gettext's "no-op" marker, extracted by pybabel
    """Mark the Greek part of a message for the pages' catalog; the pages translate it."""
    return message


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
# No record of the programme is dated outside this span (contracts, openings, policies).
DATE_MIN, DATE_MAX = date(1900, 1, 1), date(2100, 12, 31)
# Our bodies nest three levels (a policy's bands); 32 leaves room and stops a parser bomb.
JSON_MAX_DEPTH = 32
# JSON integers longer than this are no id or count of ours (10**30 still reaches the field's
# range check, so it is a 422 naming the field); Python refuses 4,300 digits with a ValueError.
JSON_MAX_INTEGER_DIGITS = 100
# Text fields without a length of their own (their column is TEXT).
SINGLE_LINE_MAX = 1_000
MULTILINE_MAX = 10_000
MULTILINE = "multiline"

CONTROL_CHARACTERS = N_("Το κείμενο περιέχει χαρακτήρες ελέγχου, που δεν επιτρέπονται.")
INVISIBLE_CHARACTERS = N_(
    "Το κείμενο περιέχει αόρατους χαρακτήρες κατεύθυνσης ή μηδενικού πλάτους, που δεν επιτρέπονται."
)
NEEDS_A_LETTER = N_("Το όνομα πρέπει να περιέχει τουλάχιστον ένα γράμμα.")
NUMBER_OUT_OF_RANGE = N_("Ο αριθμός είναι εκτός των επιτρεπτών ορίων.")
DATE_OUT_OF_RANGE = N_("Η ημερομηνία πρέπει να είναι από 01/01/1900 έως 31/12/2100.")
TEXT_TOO_LONG = N_("Το κείμενο είναι πολύ μεγάλο.")
# Bilingual, as the API's messages are; pages show the Greek part, in English when chosen.
MESSAGES = {
    CONTROL_CHARACTERS: "The text contains control characters, which are not allowed.",
    INVISIBLE_CHARACTERS: (
        "The text contains invisible direction or zero-width characters, which are not allowed."
    ),
    NEEDS_A_LETTER: "A name must contain at least one letter.",
    NUMBER_OUT_OF_RANGE: "The number is outside the allowed range.",
    DATE_OUT_OF_RANGE: "The date must be between 1900-01-01 and 2100-12-31.",
    TEXT_TOO_LONG: "The text is too long.",
}


def bilingual(greek: str) -> str:
    return f"{greek} {MESSAGES[greek]}"


# C0 and C1 controls but tab and line breaks; DEL; lone surrogates (a JSON "\ud800" escape),
# which no database text can hold.
_CONTROL = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_LINE_BREAKS = "\\t\\n\\r\\u2028\\u2029"
# Bidi_Control (overrides, embeddings, isolates, marks), zero-width characters and the other
# invisible format characters of U+2060…U+2069: they make a text read differently from what it
# is (a name shown reversed, two look-alike names).
_INVISIBLE = "\\u061c\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff"
_SINGLE_LINE_CONTROL = re.compile(f"[{_CONTROL}{_LINE_BREAKS}]")
_MULTILINE_CONTROL = re.compile(f"[{_CONTROL}]")
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")


# The same rules as JSON Schema patterns, for the API document (every text field that has no
# pattern of its own): no control or invisible character (lone surrogates cannot be written in
# a JSON text, so the pattern need not name them).
_PATTERN_EXCLUDED = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f"
_PATTERN_INVISIBLE = "\\u061c\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff"
_PATTERN_LINE_BREAKS = "\\t\\n\\r\\u2028\\u2029"
SINGLE_LINE_PATTERN = f"^[^{_PATTERN_EXCLUDED}{_PATTERN_LINE_BREAKS}{_PATTERN_INVISIBLE}]*$"
MULTILINE_PATTERN = f"^[^{_PATTERN_EXCLUDED}{_PATTERN_INVISIBLE}]*$"


def has_control_characters(value: str) -> bool:
    """Whether a one-line value (a query parameter, a login field, an OAuth parameter) holds a
    control character or a line break: none of them is ever a value of ours."""
    return _SINGLE_LINE_CONTROL.search(value) is not None


def multiline(**metadata: Any) -> dict[str, Any]:
    """A text field's metadata when it may hold tab and line breaks (a textarea)."""
    return {**metadata, MULTILINE: True}


def normalised(value: Any) -> Any:
    """``value`` with every string in it in Unicode NFC (ά typed as α + U+0301 becomes U+03AC),
    so the same text is stored, compared and counted one way."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, Mapping):
        return {key: normalised(value[key]) for key in value}
    if isinstance(value, list | tuple):
        return [normalised(item) for item in value]
    return value


class CleanText(validate.Validator):
    """Text without control characters (tab and line breaks allowed in multi-line fields),
    direction overrides or zero-width characters."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.control = _MULTILINE_CONTROL if multiline else _SINGLE_LINE_CONTROL

    def __call__(self, value: Any) -> Any:
        # Only ever on a String field (harden_field), whose every kind deserializes to str.
        if self.control.search(value):
            raise ma.ValidationError(bilingual(CONTROL_CHARACTERS))
        if _INVISIBLE_RE.search(value):
            raise ma.ValidationError(bilingual(INVISIBLE_CHARACTERS))
        return value


class HasLetter(validate.Validator):
    """A name: at least one letter (not only digits, punctuation or spaces)."""

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str) and not any(character.isalpha() for character in value):
            raise ma.ValidationError(bilingual(NEEDS_A_LETTER))
        return value


NAME = HasLetter()


def _column_int_range(column: Column[Any] | None) -> tuple[int, int]:
    if column is not None and isinstance(column.type, SmallInteger):
        return INT16_MIN, INT16_MAX
    # BigInteger is a subclass of Integer: only a plain INTEGER column is 32 bits.
    if column is not None and type(column.type) is Integer:
        return INT32_MIN, INT32_MAX
    return INT64_MIN, INT64_MAX


def _column_length(column: Column[Any] | None) -> int | None:
    if column is not None and isinstance(column.type, String):
        return column.type.length
    return None


def _within(validators: list[Any], low: Any, high: Any) -> bool:
    """Whether the field's own ``Range`` validators already keep values within [low, high]."""
    ranges = [v for v in validators if isinstance(v, validate.Range)]
    lows = [r.min for r in ranges if r.min is not None]
    highs = [r.max for r in ranges if r.max is not None]
    return bool(lows and highs and max(lows) >= low and min(highs) <= high)


def harden_field(field: ma.fields.Field[Any], column: Column[Any] | None = None) -> None:
    """Add the input layer's rules to ``field`` (and to the items of a list field), bounded
    by ``column`` where the field is stored in one.

    A schema's fields are shallow copies of the class's: the list of validators is replaced,
    never changed in place (the class's own would grow with every instance)."""
    if isinstance(field, ma.fields.List):
        harden_field(field.inner)
    elif isinstance(field, ma.fields.Tuple):
        for item in field.tuple_fields:
            harden_field(item)
    elif isinstance(field, ma.fields.String):
        clean = CleanText(multiline=bool(field.metadata.get(MULTILINE)))
        field.validators = [clean, *field.validators, *_text_length(field, column)]
        if "pattern" not in field.metadata and not any(
            isinstance(v, validate.Regexp | validate.OneOf) for v in field.validators
        ):
            pattern = MULTILINE_PATTERN if field.metadata.get(MULTILINE) else SINGLE_LINE_PATTERN
            field.metadata = {**field.metadata, "pattern": pattern}
    elif isinstance(field, ma.fields.Integer):
        low, high = _column_int_range(column)
        if not _within(field.validators, low, high):
            error = bilingual(NUMBER_OUT_OF_RANGE)
            field.validators = [*field.validators, validate.Range(low, high, error=error)]
    elif isinstance(field, ma.fields.Date) and not _within(field.validators, DATE_MIN, DATE_MAX):
        error = bilingual(DATE_OUT_OF_RANGE)
        field.validators = [*field.validators, validate.Range(DATE_MIN, DATE_MAX, error=error)]


def _text_length(field: ma.fields.String, column: Column[Any] | None) -> list[validate.Length]:
    """The column's length (``String(n)``), or a default for a TEXT column, unless the field
    is as short already or takes one of a few values."""
    if any(isinstance(v, validate.OneOf) for v in field.validators):
        return []
    longest = _column_length(column) or (
        MULTILINE_MAX if field.metadata.get(MULTILINE) else SINGLE_LINE_MAX
    )
    lengths = [v.max for v in field.validators if isinstance(v, validate.Length)]
    if any(m is not None and m <= longest for m in lengths):
        return []
    return [validate.Length(max=longest, error=bilingual(TEXT_TOO_LONG))]


# --- JSON ---------------------------------------------------------------------------------------

# A JSON string, escapes included, or an unterminated one up to the end: possessive and always
# matching, so the scan is linear whatever the body (no backtracking, no restarts inside).
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\(?:.|\Z))*+(?:"|\Z)', re.DOTALL)
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_too_deep(body: bytes, limit: int = JSON_MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects deeper than ``limit``, found without
    parsing it (a parser recurses once per level: 1,000 levels are a RecursionError).

    Strings are removed, then everything but brackets; each pass then removes the innermost
    level (every ``[]``), at C speed: ``limit`` passes at most, whatever the body's size."""
    brackets = _JSON_STRING.sub(b"", body).translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if shorter == brackets:  # empty, or unbalanced: the parser says what is wrong
            return False
        brackets = shorter
    return b"[]" in brackets


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError("the number is too large")
    return number


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > JSON_MAX_INTEGER_DIGITS:
        raise ValueError("the number is too long")
    return int(text)


_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


# What a refusal names as its document (webargs reads an empty document as "no body").
_BODY = "<request body>"


def parse_json(body: bytes) -> Any:
    """A request body as JSON, refusing what is JSON to Python but no value of ours: NaN and
    Infinity, numbers that overflow, integers of more than a hundred digits, and lone
    surrogates (``"\\ud800"``, which no database text or UTF-8 answer can hold). Every refusal
    is a :class:`json.JSONDecodeError`, which webargs answers with a 400."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise json.JSONDecodeError(f"not UTF-8: {exc.reason}", _BODY, exc.start) from exc
    try:
        value = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise
        raise json.JSONDecodeError(str(exc), _BODY, 0) from exc
    if _has_lone_surrogate(value):
        raise json.JSONDecodeError("a lone surrogate escape", _BODY, 0)
    return value


# --- the request and the URL ----------------------------------------------------------------------

JSON_TOO_DEEP = f"The JSON body is nested deeper than {JSON_MAX_DEPTH} levels."
QUERY_CONTROL = "The query string contains control characters."


def refuse_hostile_request(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """Before authentication and tenancy (nothing reaches the database): a JSON body nested
    too deep, or a query string carrying a control character, is a 400."""
    if is_json(request.mimetype) and json_too_deep(request.get_data(cache=True)):
        abort(400, JSON_TOO_DEEP)
    for name, value in request.args.items(multi=True):
        if has_control_characters(name) or has_control_characters(value):
            abort(400, QUERY_CONTROL)


def _digits_up_to(highest: int) -> str:
    """A regular expression for the decimal numbers 0 … ``highest`` (leading zeros within
    its length): shorter numbers, or as long with a smaller digit after a common prefix."""
    text = str(highest)
    shorter = f"[0-9]{{1,{len(text) - 1}}}"
    as_long = [
        f"{text[:i]}[0-{int(digit) - 1}][0-9]{{{len(text) - i - 1}}}"
        for i, digit in enumerate(text)
        if digit != "0"
    ]
    return "|".join([shorter, *as_long, text])


class BoundedIntegerConverter(IntegerConverter):
    """``<int:…>`` within BIGINT: a larger id names nothing (404), never a database error.

    The bound is in the pattern, not only in :meth:`to_python`: werkzeug answers a segment its
    pattern matched but the converter refused with 405 when another method's rule matched."""

    regex = _digits_up_to(INT64_MAX)

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = INT64_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


class TextSegmentConverter(UnicodeConverter):
    """The default ``<…>`` / ``<string:…>``: one path segment without control, direction or
    zero-width characters (such a segment names nothing: 404)."""

    def __init__(
        self,
        map: Map,
        minlength: int = 1,
        maxlength: int | None = None,
        length: int | None = None,
    ) -> None:
        super().__init__(map, minlength, maxlength, length)
        self.regex = self.regex.replace("[^/]", f"[^/{_CONTROL}{_LINE_BREAKS}{_INVISIBLE}]", 1)


UPLOAD_ATTRIBUTE = "_kentra_accepts_upload"
# Room for a multipart upload's other fields and boundaries, above the file's own limit.
UPLOAD_FORM_OVERHEAD = 64 * 1024
V = TypeVar("V", bound=Callable[..., Any])


def accepts_upload(view: V) -> V:
    """Mark a view that takes a file: its body may be up to ``max_upload_bytes`` (plus the
    form's overhead) instead of ``max_content_length``; the view checks the file's own size."""
    setattr(view, UPLOAD_ATTRIBUTE, True)
    return view


def reject_oversized_body(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before tenant resolution, so an oversized body never reaches the database.
    if getattr(current_app.view_functions.get(endpoint or ""), UPLOAD_ATTRIBUTE, False):
        settings: Settings = current_app.extensions["kentra"].settings
        request.max_content_length = settings.max_upload_bytes + UPLOAD_FORM_OVERHEAD
    limit = request.max_content_length
    if limit is not None and request.content_length is not None and request.content_length > limit:
        abort(413, f"The request body is larger than {limit} bytes.")


def init_app(app: Flask) -> None:
    """Install the converters (before any route is added) and the request checks: the body's
    size, then hostile input."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.url_map.converters["default"] = TextSegmentConverter
    app.url_map.converters["string"] = TextSegmentConverter
    app.url_value_preprocessor(reject_oversized_body)
    app.url_value_preprocessor(refuse_hostile_request)
