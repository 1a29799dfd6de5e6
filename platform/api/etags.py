"""Optimistic concurrency for edits: ETag on read, If-Match on write (RFC 9110 §13.1.1).

Editable rows carry a ``version`` column that SQLAlchemy bumps on every UPDATE
(``version_id_col``). A read answers ``ETag: "<version>"``; a write must send it back in
``If-Match``: none is a 428, another is a 412, so an edit made on stale data never overwrites
a newer one. Web forms carry the same version in a hidden field (:func:`stale_form_version`).
"""

from __future__ import annotations

from flask import Response, abort, request

PRECONDITION_REQUIRED = (
    "Send the ETag you read in If-Match, so that your change cannot overwrite a newer one."
)
PRECONDITION_FAILED = (
    "This record was changed since you read it. Read it again, then repeat your change."
)


def etag(version: int) -> str:
    return f'"{version}"'


def with_etag(response: Response, version: int) -> Response:
    response.headers["ETag"] = etag(version)
    return response


def require_if_match(version: int) -> None:
    """Abort unless the request's If-Match names ``version`` (``*`` is not accepted: an
    edit must say which state it was made on)."""
    sent = request.headers.get("If-Match")
    if sent is None:
        abort(428, PRECONDITION_REQUIRED)
    candidates = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if etag(version) not in candidates:
        abort(412, PRECONDITION_FAILED)


def stale_form_version(sent: str | None, version: int) -> bool:
    """Whether a web form's hidden ``version`` field is missing or not the current one."""
    return sent is None or sent.strip() != str(version)
