"""A person's identifiers, checked against what else is known of them.

Each identifier's own shape (ΑΜΚΑ, ΑΦΜ, a telephone number) is checked by its field in
``platform.api.fields``, with python-stdnum and phonenumbers. What a field alone cannot tell is
whether an ΑΜΚΑ belongs to the person it is typed for: its first six digits are the date of
birth (DDMMYY). python-stdnum guesses the century (1900s, else 2000s); the century is taken
from the person's date of birth instead, so a person born in 1905 or 2005 is not refused.
"""

from __future__ import annotations

from datetime import date

from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l

# Refusals (DomainError): Greek, translated when shown.
AMKA_NOT_BIRTH_DATE = _l(
    "Ο ΑΜΚΑ δεν συμφωνεί με την ημερομηνία γέννησης: τα 6 πρώτα ψηφία του πρέπει να είναι "
    "%(expected)s (ΗΗΜΜΕΕ)."
)
AMKA_NOT_BIRTH_YEAR = _l(
    "Ο ΑΜΚΑ δεν συμφωνεί με το έτος γέννησης: το 5ο και το 6ο ψηφίο του πρέπει να είναι "
    "%(expected)s."
)


def check_amka_against_birth(
    amka: str, *, born_on: date | None = None, birth_year: int | None = None
) -> None:
    """Refuse an ΑΜΚΑ (already valid in itself) whose date disagrees with the person's date of
    birth, or with the year alone when only the year is known; nothing to check without
    either."""
    if born_on is not None:
        expected = born_on.strftime("%d%m%y")
        if amka[:6] != expected:
            raise DomainError(
                "beneficiaries.amka_not_birth_date",
                422,
                AMKA_NOT_BIRTH_DATE,
                field="amka",
                expected=expected,
            )
    elif birth_year is not None:
        expected = f"{birth_year % 100:02d}"
        if amka[4:6] != expected:
            raise DomainError(
                "beneficiaries.amka_not_birth_year",
                422,
                AMKA_NOT_BIRTH_YEAR,
                field="amka",
                expected=expected,
            )
