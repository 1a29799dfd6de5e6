"""Names in Latin script by ELOT 743 and the key that matches spellings of one name
(``kentra.platform.beneficiaries.names``)."""

from __future__ import annotations

import pytest

from kentra.platform.beneficiaries.names import match_key, to_latin


@pytest.mark.parametrize(
    ("greek", "latin"),
    [
        # One letter for one letter, η ι υ ω and the two-letter ones (θ χ ψ).
        ("Ξανθή Ψαρρά", "Xanthi Psarra"),
        ("Χρήστος", "Christos"),
        ("Σπυρίδων", "Spyridon"),
        ("Ζωή", "Zoi"),
        ("Γεώργιος Παπαδόπουλος", "Georgios Papadopoulos"),
        ("Αικατερίνη", "Aikaterini"),
        # αυ ευ: v before a vowel or a voiced consonant, f before a voiceless one.
        ("Ελευθέριος Βενιζέλος", "Eleftherios Venizelos"),
        ("Ευστάθιος", "Efstathios"),
        ("Ευάγγελος", "Evangelos"),
        ("Ευρυδίκη", "Evrydiki"),
        ("Αύγουστος", "Avgoustos"),
        ("Παύλος", "Pavlos"),
        # ...and two vowels apart: a diaeresis, or the accent on the first.
        ("Ταΰγετος", "Taygetos"),
        ("άυλος", "aylos"),
        # μπ: b at the start and the end of a word, mp inside; ντ always nt.
        ("Μπακογιάννης", "Bakogiannis"),
        ("Λαμπράκης", "Lamprakis"),
        ("Καρίμπ", "Karib"),
        ("Μπάμπης", "Bampis"),
        ("Κωνσταντίνος", "Konstantinos"),
        ("Ντίνος", "Ntinos"),
        # γγ ng, γκ gk, γχ nch.
        ("Αγγελική", "Angeliki"),
        ("Γκίκας", "Gkikas"),
        ("Αγχίαλος", "Anchialos"),
        # Capitals: Th in a name, TH in a word all in capitals.
        ("Θεόδωρος", "Theodoros"),
        ("ΘΕΟΔΩΡΟΣ ΧΑΤΖΗΣ", "THEODOROS CHATZIS"),
        ("ΟΥΡΑΝΙΑ", "OURANIA"),
        # What is not a Greek letter stays as it is.
        ("Παπαδοπούλου-Ιωάννου", "Papadopoulou-Ioannou"),
        ("John Smith", "John Smith"),
        ("Ο'Νιλ 2ος", "O'Nil 2os"),
        ("", ""),
    ],
)
def test_a_greek_name_is_written_by_elot_743(greek: str, latin: str) -> None:
    assert to_latin(greek) == latin


@pytest.mark.parametrize(
    "spellings",
    [
        ("Γιώργος", "Giorgos", "Giwrgos", "GIORGOS", "Γιωργος", "γιώργος "),
        ("Παπαδόπουλος Γιώργος", "Giorgos Papadopoulos", "PAPADOPOULOS  GIORGOS"),
        ("Χρήστος", "Christos", "Hristos", "Khristos"),
        ("Αλέξανδρος", "Alexandros", "Aleksandros"),
        ("Άγγελος", "Angelos", "Aggelos"),
        ("Κωνσταντίνος", "Konstantinos", "Kwnstantinos", "Konstadinos"),
        ("Μπάμπης", "Bampis", "Babis", "Mpampis"),
        ("Σοφία", "ΣΟΦΙΑ", "Sofia", "Sophia"),
        ("Ελένη", "Eleni", "ELENI"),
        ("Ευτυχία", "Eftychia", "Eftihia"),
        ("Ουρανία", "Ourania", "Urania"),
        ("Ζωή Αντωνίου", "Zoi Antoniou", "Antoniou Zoi"),
    ],
)
def test_spellings_of_one_name_have_one_key(spellings: tuple[str, ...]) -> None:
    keys = {match_key(spelling) for spelling in spellings}
    assert len(keys) == 1, keys


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Μαρία", "Μάριος"),
        ("Γιώργος", "Γιώργιος"),
        ("Νίκος Παππάς", "Νίκος Παπάς Αλεξίου"),
        ("Ξένια", "Χένια"),
    ],
)
def test_different_names_have_different_keys(one: str, other: str) -> None:
    assert match_key(one) != match_key(other)


def test_a_key_is_latin_letters_and_digits_in_sorted_words() -> None:
    assert match_key("  Παπαδοπούλου-Ιωάννου, Μαρία 2η ") == "2i ioanu maria papadopulu"
    assert match_key("") == ""
