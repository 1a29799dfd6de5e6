"""Paged lists of the pages (ADR 0040): the page a request's ``cursor`` points at, or the
first page with the message when the cursor does not fit (another list's, or mangled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import request

from kentra.platform.core.errors import DomainError

T = TypeVar("T")


def page_or_first(read: Callable[..., T]) -> tuple[T, list[str]]:
    """``read(cursor=…)`` with the request's ``cursor``; a cursor that does not fit reads the
    first page, with the refusal's message to show above the list."""
    try:
        return read(cursor=request.args.get("cursor") or None), []
    except DomainError as refusal:
        return read(cursor=None), [str(refusal.detail)]
