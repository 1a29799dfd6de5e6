"""One paginator for every list: keyset paging (sqlakeyset), never OFFSET.

A page is read with ``WHERE (sort key) > (the last row's key) ORDER BY … LIMIT n``, so page
1,000 costs what page 1 costs (an OFFSET would read and drop every row before it), and a row
added or removed meanwhile neither repeats nor skips a row on the next page. The query must
order by a key that is unique: end its ``ORDER BY`` with the primary key.

A cursor is opaque to clients: the list's order (``order``, e.g. ``"name:asc"``) and
sqlakeyset's bookmark (the sort key's values and the direction), in URL-safe base64. A cursor
that does not decode, or was made for another order, is refused as ``core.bad_cursor``
(422, field ``cursor``): a key of one order is never compared with another order's columns.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlakeyset import (
    BadBookmark,
    InvalidPage,
    select_page,
    serialize_bookmark,
    unserialize_bookmark,
)
from sqlalchemy import Select
from sqlalchemy.orm import Session

from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
BAD_CURSOR = _l("Ο δείκτης της σελίδας δεν είναι έγκυρος· ξεκινήστε από την πρώτη σελίδα.")
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows, and the cursors of the pages after and before it (None
    on the last and on the first page)."""

    items: list[T]
    next_cursor: str | None
    previous_cursor: str | None


_SEPARATOR = "\n"


def _encode(order: str, bookmark: str) -> str:
    raw = f"{order}{_SEPARATOR}{bookmark}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(order: str, cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        made_for, _, bookmark = base64.urlsafe_b64decode(padded).decode().partition(_SEPARATOR)
        marker = unserialize_bookmark(bookmark) if made_for == order else None
    except (binascii.Error, UnicodeDecodeError, ValueError, BadBookmark) as error:
        raise bad_cursor() from error
    if marker is None:  # a cursor of another order
        raise bad_cursor()
    return marker


def keyset_cursor(order: str, key: Sequence[Any], *, backwards: bool = False) -> str:
    """The cursor of the page after (``backwards``: before) the row whose sort key is ``key``,
    in :func:`page_of`'s format: for a hot list read without sqlakeyset (the units list reads
    its rows with ``read_rows``), whose cursors must be the same as its pages'."""
    return _encode(order, serialize_bookmark((tuple(key), backwards)))


def keyset_place(order: str, cursor: str) -> tuple[tuple[Any, ...], bool]:
    """The sort key and the direction (True: the page before it) a cursor of ``order`` points
    at; a cursor that does not decode, of another order, or with no key is refused as
    ``core.bad_cursor``."""
    key, backwards = _decode(order, cursor)
    if not key:
        raise bad_cursor()
    return tuple(key), bool(backwards)


def bad_cursor() -> DomainError:
    """The refusal of a cursor that does not fit its list (422 ``core.bad_cursor``)."""
    return DomainError("core.bad_cursor", 422, BAD_CURSOR, field="cursor")


def page_of(
    session: Session,
    query: Select[*tuple[Any, ...]],
    *,
    cursor: str | None = None,
    order: str = "",
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Any]:
    """The page of ``query`` (ordered by a unique key; ``order`` names that order) that
    ``cursor`` points at; the first page without one."""
    marker = _decode(order, cursor) if cursor else None
    try:
        found = select_page(session, query, per_page=min(per_page, MAX_PER_PAGE), page=marker)
    except (InvalidPage, BadBookmark, ValueError, TypeError) as error:
        # A cursor of another list (another sort, another number of key columns).
        raise bad_cursor() from error
    paging = found.paging
    return Page(
        items=list(found),
        next_cursor=_encode(order, paging.bookmark_next) if paging.has_next else None,
        previous_cursor=(_encode(order, paging.bookmark_previous) if paging.has_previous else None),
    )
