"""Optimistic concurrency for edits: ETag on read, If-Match on write (RFC 9110 §13.1.1).

Editable rows carry a ``version`` column that SQLAlchemy bumps on every UPDATE
(``version_id_col``). A read answers ``ETag: "<version>"``; a write must send it back in
``If-Match``: none is a 428, another is a 412, so an edit made on stale data never overwrites
a newer one. Web forms carry the same version in a hidden field (:func:`stale_form_version`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, request

PRECONDITION_REQUIRED = (
    "Send the ETag you read in If-Match, so that your change cannot overwrite a newer one."
)
PRECONDITION_FAILED = (
    "This record was changed since you read it. Read it again, then repeat your change."
)
# One element of an entity-tag list: the weak prefix (case-sensitive), a quoted opaque tag
# (which may itself hold commas, so the list is not split on them), then a comma or the end.
_LIST_ELEMENT = re.compile(r'[ \t]*(W/)?("[^"]*")[ \t]*(?:,|$)')


# The API document's account of the above (ADR 0031): the ETag a read answers, and the
# If-Match a write needs with its 428 and 412.
ETAG_HEADER = {
    "ETag": {
        "description": "The record's version: send it back in If-Match to change it.",
        "schema": {"type": "string", "example": '"3"'},
    }
}
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the record as you read it (strong comparison; `*` is refused).",
    "schema": {"type": "string", "example": '"3"'},
}
V = TypeVar("V", bound=Callable[..., Any])


def documents_if_match(blueprint: Any) -> Callable[[V], V]:
    """Document that a write needs If-Match (the view calls :func:`require_if_match`): the
    header, and the 428 and 412 answers. ``tests/test_api.py`` holds every view that calls
    ``require_if_match`` to this decorator."""

    def document(view: V) -> V:
        view = blueprint.doc(parameters=[IF_MATCH_PARAMETER])(view)
        view = blueprint.alt_response(428, "PRECONDITION_REQUIRED")(view)
        documented: V = blueprint.alt_response(412, "PRECONDITION_FAILED")(view)
        return documented

    return document


def etag(version: int) -> str:
    return f'"{version}"'


def with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag(version)
    return response


def require_if_match(version: int) -> None:
    """Abort unless the request's If-Match names ``version`` (``*`` is not accepted: an
    edit must say which state it was made on).

    If-Match uses the strong comparison (RFC 9110 §13.1.1): a weak validator (``W/"1"``)
    never matches, since it only claims semantic equivalence, not the same state."""
    sent = request.headers.get("If-Match")
    if sent is None:
        abort(428, PRECONDITION_REQUIRED)
    if etag(version) not in strong_tags(sent):
        abort(412, PRECONDITION_FAILED)


def strong_tags(header: str) -> set[str]:
    """The strong entity-tags of an If-Match list; weak ones are left out, and a malformed
    list (``w/"1"``, an unquoted tag) names none at all."""
    tags: set[str] = set()
    position = 0
    while position < len(header):
        element = _LIST_ELEMENT.match(header, position)
        if element is None:
            return set()
        weak, tag = element.groups()
        if not weak:
            tags.add(tag)
        position = element.end()
    return tags


def stale_form_version(sent: str | None, version: int) -> bool:
    """Whether a web form's hidden ``version`` field is missing or not the current one."""
    return sent is None or sent.strip() != str(version)
