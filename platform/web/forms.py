"""What a server-rendered form shows back: typed values, messages by field, a notice.

A refused form is rendered again from a :class:`FormState`, so nothing typed is lost; the
macros of ``web/forms.html`` put each message next to its field (``aria-describedby``) and
the error summary links to the fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, current_app, flash, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError

from kentra.platform.core import inputs
from kentra.platform.core.database import request_session
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.problems import http_exception_problem

# Operations write their messages in Greek, then English: the pages show the Greek sentences.
_ENGLISH_TAIL = re.compile(r"(?<=\.)\s+(?=[A-Za-z])")


def greek_part(message: str) -> str:
    """``message`` up to its first English sentence."""
    return _ENGLISH_TAIL.split(message, maxsplit=1)[0]


def page_message(message: str) -> str:
    """A schema's message as a page shows it: the Greek part, in English when the page is (the
    input layer's messages, common to every form, are in the pages' catalog)."""
    greek = greek_part(message)
    return gettext(greek) if greek in inputs.MESSAGES else greek


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    notice: str | None = None

    def summary(
        self, labels: Mapping[str, str], anchors: Mapping[str, str] | None = None
    ) -> list[tuple[str, str, str]]:
        """(anchor, label, message) of every error, in the order of ``labels``; messages of
        fields the form does not show come last, under the form's own anchor."""
        anchors = anchors or {}
        found = [
            (anchors.get(name, name), labels[name], message)
            for name in labels
            for message in self.errors.get(name, [])
        ]
        found += [
            ("main", "", message)
            for name, messages in self.errors.items()
            if name not in labels
            for message in messages
        ]
        return found


def form_page(
    template: str, state: FormState, status: int = 200, **context: Any
) -> tuple[str, int]:
    """A page with a form, answered with ``status``: ``template`` given the form's ``state``
    and ``has_errors`` when the form was refused (the layout's title then begins "Error" and
    the focus moves to the error summary), with the page's own ``context``."""
    has_errors = bool(state.errors or state.notice)
    return render_template(template, state=state, has_errors=has_errors, **context), status


def _leaves(messages: Any) -> list[str]:
    """The texts of a field's messages, those of a list's items too (``{0: ["…"]}``)."""
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _leaves(value)]
    if isinstance(messages, list | tuple):
        return [text for value in messages for text in _leaves(value)]
    return [str(messages)]


def validation_messages(error: ma.ValidationError) -> dict[str, list[str]]:
    """A schema's messages by field, flattened to strings (a list's items' messages become
    the list field's), as the page shows them."""
    if not isinstance(error.messages, dict):
        return {"_schema": [page_message(m) for m in _leaves(error.messages)]}
    return {
        str(name): list(dict.fromkeys(page_message(m) for m in _leaves(messages)))
        for name, messages in error.messages.items()
    }


def filled(values: Mapping[str, str]) -> dict[str, str]:
    """An empty field is a missing one: its message is "required", not a format rule's."""
    return {name: value for name, value in values.items() if value.strip()}


def refusal_state(values: dict[str, str], error: DomainError) -> tuple[FormState, int]:
    """The form shown again after an operation refused it, and the status to answer: the
    message next to its field when it is about one (422), as the form's notice otherwise
    (409 for a state conflict, 502 when another service failed), every typed value kept."""
    errors = error.field_messages()
    everything_placed = all(e.field for e in (error, *error.also))
    notice = None if everything_placed and error.status == 422 else error.detail
    return FormState(values, errors, notice=notice), error.status


# --- the POST of a page form -------------------------------------------------------------------

STALE_FORM = _l(
    "Η φόρμα έληξε ή δεν στάλθηκε από αυτή τη σελίδα, οπότε τίποτα δεν αποθηκεύτηκε. "
    "Ελέγξτε τα στοιχεία και πατήστε ξανά το κουμπί."
)
CHANGED_MEANWHILE = _l(
    "Κάποιος άλλος άλλαξε τα στοιχεία στο μεταξύ, οπότε οι αλλαγές σας δεν αποθηκεύτηκαν. "
    "Οι τιμές που πληκτρολογήσατε φαίνονται παρακάτω· ελέγξτε τις και πατήστε ξανά το κουμπί."
)
R = TypeVar("R")
# Shows the form again: the state to show and the status to answer.
Render = Callable[[FormState, int], ResponseReturnValue]


def form_values(names: Iterable[str]) -> dict[str, str]:
    """What the request's form sent for ``names``, "" for what it did not."""
    return {name: request.form.get(name, "") for name in names}


def submit_form(
    values: dict[str, str],
    render: Render,
    *,
    load: Callable[[], Any],
    run: Callable[[Any], str],
    saved: str | Callable[[], str],
    changed_since: bool = False,
    changed_notice: Any = CHANGED_MEANWHILE,
) -> ResponseReturnValue:
    """The POST of every page form, in one order (post/redirect/get):

    1. ``changed_since`` (the version the form carries is stale): the form again, 409, with
       ``changed_notice`` and what was typed — the next save is made on the version now shown;
    2. ``load()`` (the API's schema): a ``ValidationError`` shows each message at its field, 422;
    3. ``run(data)`` (the operation), which returns where to go: a ``DomainError`` shows the
       refusal (:func:`refusal_state`); a concurrent change caught at flush (``StaleDataError``)
       rolls back and answers like 1;
    4. ``saved`` (or what it returns, once ``run`` is done) is flashed and the browser is sent on (303), so a reload never posts again.

    ``values`` is what was typed (every refusal shows it again); ``render(state, status)``
    shows the form."""
    if changed_since:
        return render(FormState(values, notice=str(changed_notice)), 409)
    try:
        data = load()
    except ma.ValidationError as error:
        return render(FormState(values, validation_messages(error)), 422)
    try:
        target = run(data)
    except DomainError as error:
        return render(*refusal_state(values, error))
    except StaleDataError:
        request_session().rollback()
        return render(FormState(values, notice=str(changed_notice)), 409)
    flash(saved() if callable(saved) else saved, "success")
    return redirect(target, 303)


def stale_form(
    values: dict[str, str], render: Render, notice: Any = STALE_FORM
) -> ResponseReturnValue:
    """A form refused for its CSRF token (see :func:`on_stale_form`): shown again, 400."""
    return render(FormState(values, notice=str(notice)), 400)


# --- a form sent with a missing or stale CSRF token -----------------------------------------

_STALE = "_kentra_on_stale_form"
F = TypeVar("F", bound=Callable[..., Any])


def on_stale_form(render: Callable[..., ResponseReturnValue]) -> Callable[[F], F]:
    """Mark a page's form view (put it right below the route): when CSRFProtect refuses the
    POST (no token, or an expired one), the view does not run, and ``render(**view_args)``
    answers instead, the form shown again with what was typed and the stale notice (400)."""

    def mark(view: F) -> F:
        setattr(view, _STALE, render)
        return view

    return mark


def _stale_form(error: CSRFError) -> ResponseReturnValue:
    view = current_app.view_functions.get(request.endpoint or "")
    render: Callable[..., ResponseReturnValue] | None = getattr(view, _STALE, None)
    if render is None:
        return http_exception_problem(error)  # the 400 page, or a problem
    return render(**(request.view_args or {}))


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, _stale_form)
