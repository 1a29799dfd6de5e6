"""Keyset paging (kentra.platform.core.paging) on a real query: the reference municipalities."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from kentra.platform.core.errors import DomainError
from kentra.platform.core.paging import page_of
from kentra.platform.reference.models import Municipality

QUERY = select(Municipality.code, Municipality.name_el).order_by(Municipality.code)


def crafted(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_pages_forward_and_back_cover_the_list_once(engine: Engine) -> None:
    with Session(engine) as session:
        everything = [row.code for row in session.execute(QUERY)]
        first = page_of(session, QUERY, order="code", per_page=100)
        assert first.previous_cursor is None
        assert first.next_cursor is not None
        seen = [row.code for row in first.items]
        page = first
        while page.next_cursor:
            page = page_of(session, QUERY, cursor=page.next_cursor, order="code", per_page=100)
            seen += [row.code for row in page.items]
        assert seen == everything  # 332: pages of 100, 100, 100, 32
        assert page.next_cursor is None
        assert page.previous_cursor is not None
        back = page_of(session, QUERY, cursor=page.previous_cursor, order="code", per_page=100)
        assert [row.code for row in back.items] == everything[200:300]


def test_a_page_is_never_larger_than_the_limit(engine: Engine) -> None:
    with Session(engine) as session:
        assert len(page_of(session, QUERY, order="code", per_page=10_000).items) == 200


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",  # not base64
        crafted("name\n>s:x"),  # made for another order
        crafted("code\nnonsense"),  # not a bookmark
        crafted("code\n>i:1~i:2~i:3"),  # a bookmark of another number of columns
    ],
)
def test_a_cursor_that_does_not_fit_is_refused(engine: Engine, cursor: str) -> None:
    with Session(engine) as session, pytest.raises(DomainError) as refused:
        page_of(session, QUERY, cursor=cursor, order="code")
    assert (refused.value.code, refused.value.status, refused.value.field) == (
        "core.bad_cursor",
        422,
        "cursor",
    )
