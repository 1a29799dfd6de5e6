"""The one family of refusals (issue 12): a domain operation that will not do what it was asked
raises :class:`DomainError`, never an exception class of its own.

A refusal has a stable ``code`` (``<module>.<what>``, e.g. ``units.centre_exists``), for clients
and tests to tell refusals apart; the HTTP ``status`` it is answered with; a ``message`` written
in Greek and marked for translation (``lazy_gettext``, so the English catalogue lists it), with
``%(name)s`` placeholders filled from ``params`` (the first three arguments are positional,
so a placeholder may be called ``code``); and, when it is about one input, the ``field``. It is rendered once, in the language of the request: as RFC 9457 problem+json by
the API (:mod:`kentra.platform.core.problems`), and next to the form's field or as the form's
notice by the pages (:func:`kentra.platform.web.forms.refusal_state`).

``str(error)`` is the code: a refusal's message may name a person or a place, and exceptions
reach logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kentra.platform.core.i18n import LazyString


class DomainError(Exception):
    """A refusal of the domain; see the module docstring."""

    def __init__(
        self,
        code: str,
        status: int,
        message: LazyString,
        /,
        *,
        field: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.message = message
        self.field = field
        self.params = params
        # Further refusals of the same request, answered together (see ``together``).
        self.also: tuple[DomainError, ...] = ()

    @classmethod
    def together(cls, refusals: Sequence[DomainError]) -> DomainError:
        """Several refusals of one request (e.g. a rule per field, all checked at once) as
        one: the first's code and status, every message."""
        first, *rest = refusals
        first.also = tuple(rest)
        return first

    @property
    def detail(self) -> str:
        """The message(s) in the current request's language, placeholders filled in."""
        return " ".join(error.text() for error in (self, *self.also))

    def text(self) -> str:
        """This refusal's own message in the current request's language."""
        text = str(self.message)
        return text % self.params if self.params else text

    def field_messages(self) -> dict[str, list[str]]:
        """The messages of the refusals that are about a field, by field."""
        messages: dict[str, list[str]] = {}
        for error in (self, *self.also):
            if error.field is not None:
                messages.setdefault(error.field, []).append(error.text())
        return messages
