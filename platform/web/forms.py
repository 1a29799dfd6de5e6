"""What a server-rendered form shows back: typed values, messages by field, a notice.

A refused form is rendered again from a :class:`FormState`, so nothing typed is lost; the
macros of ``web/forms.html`` put each message next to its field (``aria-describedby``) and
the error summary links to the fields.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import marshmallow as ma

# Operations write their messages in Greek, then English: the pages show the Greek sentences.
_ENGLISH_TAIL = re.compile(r"(?<=\.)\s+(?=[A-Za-z])")


def greek_part(message: str) -> str:
    """``message`` up to its first English sentence."""
    return _ENGLISH_TAIL.split(message, maxsplit=1)[0]


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


def validation_messages(error: ma.ValidationError) -> dict[str, list[str]]:
    """A schema's messages by field, flattened to strings (nested lists become one line)."""
    if not isinstance(error.messages, dict):
        return {"_schema": [str(m) for m in error.messages]}
    return {
        str(name): [greek_part(str(m)) for m in messages]
        if isinstance(messages, list)
        else [greek_part(str(messages))]
        for name, messages in error.messages.items()
    }


def filled(values: Mapping[str, str]) -> dict[str, str]:
    """An empty field is a missing one: its message is "required", not a format rule's."""
    return {name: value for name, value in values.items() if value.strip()}
