"""Texts marked for translation and translated when shown (the kernel's i18n, ADR 0045).

Domain code declares its texts when it is imported (a module's refusal messages, the names of
states), and the command line and the Celery worker import that code without ever showing
one. Flask-Babel imports Flask, so its own ``lazy_gettext`` would load the web framework into
every process: ``kentra db upgrade`` paid about a fifth of a second for it (B2). A text here is
Babel's ``LazyProxy`` (Babel is below Flask-Babel, no Flask), and Flask-Babel is imported the
first time a text is shown.

Shown inside a request a text is in the request's language; outside one, the Greek source.
Like Flask-Babel's lazy string it can be hashed and put in a page, and it is never cached: the
same text is shown in Greek to one request and in English to the next.

``pybabel extract`` finds these texts by the names ``lazy_gettext`` and ``_l`` (Makefile).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.support import LazyProxy
from markupsafe import Markup, escape


class LazyString(LazyProxy):
    """A text computed each time it is shown (see the module)."""

    def __html__(self) -> Markup:
        return escape(str(self))

    def __hash__(self) -> int:
        return hash(str(self))

    def __repr__(self) -> str:
        return f"l{str(self)!r}"


def _gettext(string: str, **variables: Any) -> str:
    from flask_babel import gettext  # noqa: PLC0415 - only when shown (the module says why)

    return str(gettext(string, **variables))


def _format_decimal(number: float | Decimal) -> str:
    from flask_babel import format_decimal  # noqa: PLC0415 - only when shown

    return str(format_decimal(number))


def lazy_gettext(string: str, **variables: Any) -> LazyString:
    """``string`` (Greek) in the language of the request that shows it."""
    return LazyString(_gettext, string, enable_cache=False, **variables)


def lazy_decimal(number: float | Decimal) -> LazyString:
    """``number`` written as the request's language writes it (1.5 or 1,5) when shown."""
    return LazyString(_format_decimal, number, enable_cache=False)
