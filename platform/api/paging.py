"""Paged lists of the API (ADR 0040): one page of a keyset-paged list
(:mod:`kentra.platform.core.paging`) per request.

- The query arguments, :class:`PageArgsSchema` (each list's arguments schema derives from it):
  ``cursor``, opaque, from a ``Link`` of a page answered before (none: the first page), and
  ``per_page``, 1 to :data:`~kentra.platform.core.paging.MAX_PER_PAGE`, by default
  :data:`~kentra.platform.core.paging.DEFAULT_PER_PAGE`. A cursor that does not decode, or of
  another list, is a 422 ``core.bad_cursor``.
- The body is the page's items, the list as it was before lists were paged.
- The pages around it are in an RFC 8288 ``Link`` header (:func:`link_header`):
  ``<…?cursor=…>; rel="next"`` and ``rel="prev"``, the request's own path and query with the
  cursor replaced; no ``Link`` on a list that fits one page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import request

from kentra.platform.api import Schema
from kentra.platform.core.paging import DEFAULT_PER_PAGE, MAX_PER_PAGE, Page

CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"
CURSOR_MAX_LENGTH = 2000
INVALID_PER_PAGE = (
    f"Από 1 έως {MAX_PER_PAGE} στοιχεία ανά σελίδα. From 1 to {MAX_PER_PAGE} items a page."
)
INVALID_CURSOR = (
    "Ο δείκτης της σελίδας προέρχεται από την κεφαλίδα Link μιας σελίδας. "
    "A cursor comes from a page's Link header."
)

# The API document's account of the header (ADR 0031, 0037).
LINK_HEADER = {
    "Link": {
        "description": "The pages before and after this one (RFC 8288): "
        '`<…?cursor=…>; rel="prev"` and `<…?cursor=…>; rel="next"`, each the request\'s own '
        "path and query with another cursor; absent on a list that fits one page.",
        "schema": {
            "type": "string",
            "example": '</api/v1/reference/municipalities?per_page=50&cursor=Y29kZQo-czowMTAx>; rel="next"',
        },
    }
}


class PageArgsSchema(Schema):
    """One page of a list: ``cursor`` (none: the first page) and ``per_page``."""

    cursor = ma.fields.String(
        validate=[
            ma.validate.Regexp(CURSOR_PATTERN, error=INVALID_CURSOR),
            ma.validate.Length(max=CURSOR_MAX_LENGTH, error=INVALID_CURSOR),
        ],
        metadata={
            "description": "The page to read: the cursor of a `Link` this list answered "
            "(opaque; bound to the list's order). None: the first page. One that does not "
            "fit is a 422 `core.bad_cursor`.",
            "pattern": CURSOR_PATTERN,
        },
    )
    per_page = ma.fields.Integer(
        strict=False,
        load_default=DEFAULT_PER_PAGE,
        validate=ma.validate.Range(min=1, max=MAX_PER_PAGE, error=INVALID_PER_PAGE),
        metadata={
            "description": f"Items a page: 1 to {MAX_PER_PAGE}, by default {DEFAULT_PER_PAGE}."
        },
    )


def page_url(cursor: str) -> str:
    """The request's path and query (a reference relative to its origin) with ``cursor``."""
    query = [(name, value) for name, value in request.args.items(multi=True) if name != "cursor"]
    query.append(("cursor", cursor))
    return f"{request.script_root}{request.path}?{urlencode(query)}"


def link_header(page: Page[Any]) -> dict[str, str]:
    """The ``Link`` header of ``page`` (RFC 8288): its previous and next pages; none for a
    list of one page."""
    links = [
        f'<{page_url(cursor)}>; rel="{relation}"'
        for relation, cursor in (("prev", page.previous_cursor), ("next", page.next_cursor))
        if cursor
    ]
    return {"Link": ", ".join(links)} if links else {}


def paged(items: Any, page: Page[Any]) -> tuple[Any, int, dict[str, str]]:
    """A list operation's answer: ``items`` (the page's items as the body shows them), with
    the page's ``Link`` header."""
    return items, 200, link_header(page)
