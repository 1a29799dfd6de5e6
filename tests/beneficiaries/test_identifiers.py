"""An ΑΜΚΑ checked in itself (``api.fields.Amka``) and against the person's date of birth
(``beneficiaries.identifiers``)."""

from __future__ import annotations

from datetime import date

import marshmallow as ma
import pytest
from stdnum import luhn

from kentra.platform.api import Schema
from kentra.platform.api.fields import INVALID_AMKA, Amka
from kentra.platform.beneficiaries.identifiers import check_amka_against_birth
from kentra.platform.core.errors import DomainError


def amka_of(birth: str, serial: str = "0123") -> str:
    """A valid ΑΜΚΑ for a date written DDMMYY (the check digit computed)."""
    body = birth + serial
    return body + luhn.calc_check_digit(body)


class PersonSchema(Schema):
    amka = Amka()


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (amka_of("150385"), amka_of("150385")),
        ("150385 0123 3", "15038501233"),
        ("150385-01233", "15038501233"),
    ],
)
def test_a_valid_amka_is_kept_as_its_eleven_digits(typed: str, kept: str) -> None:
    assert PersonSchema().load({"amka": typed}) == {"amka": kept}


@pytest.mark.parametrize(
    "typed",
    [
        "15038501234",  # the check digit is wrong
        "1503850123",  # ten digits
        "150385012333",  # twelve
        amka_of("320185"),  # the 32nd of January
        amka_of("151385"),  # the 13th month
        "1503850123Α",
        "",
    ],
)
def test_an_invalid_amka_is_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(ma.ValidationError) as refused:
        PersonSchema().load({"amka": typed})
    assert refused.value.messages == {"amka": [INVALID_AMKA]}


@pytest.mark.parametrize(
    "born_on",
    [date(1985, 3, 15), date(1905, 3, 15), date(2005, 3, 15)],
)
def test_the_century_is_the_date_of_births_not_a_guess(born_on: date) -> None:
    # The same six digits for 1905, 1985 and 2005: each agrees with its own date.
    amka = amka_of(born_on.strftime("%d%m%y"))
    check_amka_against_birth(amka, born_on=born_on)


def test_an_amka_of_another_date_is_refused_with_the_digits_expected() -> None:
    with pytest.raises(DomainError) as refused:
        check_amka_against_birth(amka_of("150385"), born_on=date(1985, 3, 16))
    error = refused.value
    assert (error.code, error.status, error.field) == (
        "beneficiaries.amka_not_birth_date",
        422,
        "amka",
    )
    assert "160385" in error.detail


def test_with_only_the_year_known_the_year_digits_are_checked() -> None:
    check_amka_against_birth(amka_of("010160"), birth_year=1960)
    with pytest.raises(DomainError) as refused:
        check_amka_against_birth(amka_of("010160"), birth_year=1961)
    assert refused.value.code == "beneficiaries.amka_not_birth_year"
    assert "61" in refused.value.detail


def test_without_a_date_of_birth_there_is_nothing_to_check() -> None:
    check_amka_against_birth(amka_of("010160"))
