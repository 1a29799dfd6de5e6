"""Validation of municipality codes, the only source of tenant schema names.

A schema name is never built from raw input: only from a :class:`MunicipalityCode`, which only
:func:`parse_municipality_code` constructs, after checking the text is exactly four ASCII digits.
Whether the code is a real municipality is checked against the reference data by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CODE = re.compile(r"[0-9]{4}", re.ASCII)
SCHEMA_PREFIX = "m_"


class InvalidMunicipalityCode(ValueError):
    """The text is not a well-formed ELSTAT municipality code."""


@dataclass(frozen=True, slots=True)
class MunicipalityCode:
    value: str

    @property
    def schema_name(self) -> str:
        return SCHEMA_PREFIX + self.value

    @property
    def number(self) -> int:
        """The code as an integer, used as the per-tenant advisory-lock key."""
        return int(self.value)

    def __str__(self) -> str:
        return self.value


def parse_municipality_code(raw: str) -> MunicipalityCode:
    """Accept exactly four ASCII digits (surrounding whitespace ignored), e.g. ``"0101"``."""
    text = raw.strip()
    if _CODE.fullmatch(text) is None:
        raise InvalidMunicipalityCode(
            f"{raw!r} is not a municipality code: a code is exactly 4 digits (ELSTAT), e.g. 0101 or 4501"
        )
    return MunicipalityCode(text)


def code_from_schema_name(schema: str) -> MunicipalityCode:
    """Inverse of :attr:`MunicipalityCode.schema_name`, for names read back from the catalogue."""
    if not schema.startswith(SCHEMA_PREFIX):
        raise InvalidMunicipalityCode(f"{schema!r} is not a tenant schema name")
    return parse_municipality_code(schema.removeprefix(SCHEMA_PREFIX))
