"""Names for invited users (docs/adr/0027): one field as typed, split into the first and last
name that Keycloak's user profile requires, without the characters it refuses in names."""

from __future__ import annotations

import pytest

from kentra.auth.identity import PERSON_NAME_PROHIBITED, person_name_allowed, split_full_name


@pytest.mark.parametrize(
    ("typed", "names"),
    [
        ("Μαρία Παπαδοπούλου", ("Μαρία", "Παπαδοπούλου")),
        # The known limit: a compound given name lends its second part to the surname.
        ("Άννα Μαρία Παπαδοπούλου", ("Άννα", "Μαρία Παπαδοπούλου")),
        ("Γιώργος Παπαδόπουλος-Νικολάου", ("Γιώργος", "Παπαδόπουλος-Νικολάου")),
        ("  Ελένη \t Παππά  ", ("Ελένη", "Παππά")),
        ("Μαρία (Μαίρη) Παπαδοπούλου", ("Μαρία", "Μαίρη Παπαδοπούλου")),
        ("Παπαδοπούλου/Νικολάου Ρένα", ("Παπαδοπούλου", "Νικολάου Ρένα")),
        ("D'Arcy O'Neil", ("D'Arcy", "O'Neil")),  # apostrophes are allowed
        ("Σωκράτης", ("Σωκράτης", "")),  # one word: Keycloak asks for the surname at login
        ("", ("", "")),
    ],
)
def test_a_name_as_typed_is_split_at_the_first_space(typed: str, names: tuple[str, str]) -> None:
    assert split_full_name(typed) == names


def test_what_the_split_gives_keycloak_accepts() -> None:
    typed = "Α" + "".join(sorted(PERSON_NAME_PROHIBITED)) + "\x07Β Γ"
    first, last = split_full_name(typed)
    assert (first, last) == ("Α", "Β Γ")
    assert person_name_allowed(first)
    assert person_name_allowed(last)


@pytest.mark.parametrize("character", [*sorted(PERSON_NAME_PROHIBITED), "\x00", "\x85", "\n"])
def test_keycloaks_prohibited_characters_are_refused(character: str) -> None:
    assert not person_name_allowed(f"Μαρία{character}")


def test_ordinary_names_are_allowed() -> None:
    assert all(map(person_name_allowed, ["Μαρία", "Παπαδόπουλος-Νικολάου", "D'Arcy", "Jr.", ""]))
