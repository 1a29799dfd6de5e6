"""Municipality codes: the only source of schema names."""

from __future__ import annotations

import pytest

from kentra.tenants.codes import (
    InvalidMunicipalityCode,
    code_from_schema_name,
    parse_municipality_code,
)

BAD_CODES = [
    "4501; drop schema x",
    "'",
    "45O1",  # letter O
    "999",
    "04501",
    "",
    "   ",
    "45 01",
    "４５０１",  # full-width digits: str.isdigit() accepts them, we must not
    "٤٥٠١",  # Arabic-Indic digits
    "4501\n",  # a newline inside is stripped; see test_surrounding_whitespace
    "m_4501",
    "-451",
]


@pytest.mark.parametrize("raw", [c for c in BAD_CODES if c != "4501\n"])
def test_malformed_codes_are_rejected_with_a_clear_message(raw: str) -> None:
    with pytest.raises(InvalidMunicipalityCode, match="exactly 4 digits"):
        parse_municipality_code(raw)


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_municipality_code(" 4501\n").value == "4501"


def test_schema_name_and_lock_key_derive_from_the_validated_code() -> None:
    code = parse_municipality_code("0101")
    assert code.schema_name == "m_0101"
    assert code.number == 101
    assert str(code) == "0101"


def test_schema_names_read_back_from_the_catalogue() -> None:
    assert code_from_schema_name("m_7403").value == "7403"
    with pytest.raises(InvalidMunicipalityCode):
        code_from_schema_name("public")
    with pytest.raises(InvalidMunicipalityCode):
        code_from_schema_name("m_74;3")
