"""People's names: written in Latin script by ELOT 743, and folded into a key for matching.

**ELOT 743** (ISO 843, transcription) is how Greek passports and services write a Greek name in
Latin script. No maintained Python library implements it (the PyPI candidates are unmaintained
single-function packages, some of ISO 843's older table), so the rules are written here and
tested letter by letter (``tests/beneficiaries/test_names.py``):

- one letter for one letter: α a, β v, γ g, δ d, ε e, ζ z, η i, θ th, ι i, κ k, λ l, μ m,
  ν n, ξ x, ο o, π p, ρ r, σ ς s, τ t, υ y, φ f, χ ch, ψ ps, ω o;
- ου → ou; αυ, ευ, ηυ → av, ev, iv before a vowel or a voiced consonant (β γ δ ζ λ μ ν ρ)
  and af, ef, if before a voiceless one or at the end of the word;
- μπ → b at the start or the end of a word, mp inside it; ντ → nt;
- γγ → ng, γκ → gk, γξ → nx, γχ → nch;
- a diaeresis (ϊ ϋ), or an accent on the first vowel (άυλος), keeps two vowels apart;
- a capital stays a capital (Θ → Th; in a word all in capitals, TH).

The **matching key** is what two spellings of one name share: accents, case and final sigma
folded, Greek written by ELOT 743, then the common Greeklish choices made one (ω/o, η ι υ ει
οι as i, αι as e, ου as u, χ as h, ks as ξ, μπ as b, ντ as d, γκ γγ as g, doubled letters
single), and the words sorted. «Γιώργος», «Giorgos» and «Giwrgos» have one key; «Georgios»
is a different form of the name, near enough for the fuzzy comparison that uses the key.
"""

from __future__ import annotations

import re
import unicodedata

_LETTERS = {
    "α": "a",
    "β": "v",
    "γ": "g",
    "δ": "d",
    "ε": "e",
    "ζ": "z",
    "η": "i",
    "θ": "th",
    "ι": "i",
    "κ": "k",
    "λ": "l",
    "μ": "m",
    "ν": "n",
    "ξ": "x",
    "ο": "o",
    "π": "p",
    "ρ": "r",
    "σ": "s",
    "ς": "s",
    "τ": "t",
    "υ": "y",
    "φ": "f",
    "χ": "ch",
    "ψ": "ps",
    "ω": "o",
}
_VOWELS = frozenset("αεηιουω")
_VOICED = frozenset("βγδζλμνρ")
# Pairs written as one, whatever comes around them.
_PAIRS = {"ου": "ou", "ντ": "nt", "γγ": "ng", "γκ": "gk", "γξ": "nx", "γχ": "nch"}
_TONOS = "\u0301"
_DIAERESIS = "\u0308"


class _Letter:
    """A Greek letter of a word: its base (lower case, no marks) and what was on it."""

    __slots__ = ("accent", "base", "diaeresis", "text", "upper")

    def __init__(self, text: str) -> None:
        marks = unicodedata.normalize("NFD", text)
        self.text = text
        self.base = marks[0].lower()
        self.upper = marks[0].isupper()
        self.accent = _TONOS in marks
        self.diaeresis = _DIAERESIS in marks


def _word_to_latin(letters: list[_Letter]) -> str:
    chunks: list[tuple[str, bool]] = []  # (Latin, whether its first Greek letter was a capital)
    i = 0
    while i < len(letters):
        letter = letters[i]
        following = letters[i + 1] if i + 1 < len(letters) else None
        pair = letter.base + following.base if following else ""
        if following and following.diaeresis:
            pair = ""  # ϊ, ϋ: two vowels, each written alone
        if pair in _PAIRS:
            chunks.append((_PAIRS[pair], letter.upper))
            i += 2
            continue
        if pair == "μπ":
            inside = i > 0 and i + 2 < len(letters)
            chunks.append(("mp" if inside else "b", letter.upper))
            i += 2
            continue
        if pair in {"αυ", "ευ", "ηυ"} and not letter.accent:
            after = letters[i + 2].base if i + 2 < len(letters) else ""
            voiced = after in _VOWELS or after in _VOICED
            chunks.append((_LETTERS[letter.base] + ("v" if voiced else "f"), letter.upper))
            i += 2
            continue
        chunks.append((_LETTERS.get(letter.base, letter.text), letter.upper))
        i += 1
    latin = "".join(text.capitalize() if upper else text for text, upper in chunks)
    all_capitals = len(letters) > 1 and all(letter.upper for letter in letters)
    return latin.upper() if all_capitals else latin


def _is_greek_letter(character: str) -> bool:
    base = unicodedata.normalize("NFD", character)[0].lower()
    return base in _LETTERS


def to_latin(text: str) -> str:
    """``text`` with its Greek words written in Latin script by ELOT 743; anything else as it
    is (a name already in Latin script, a hyphen, a space)."""
    out: list[str] = []
    word: list[_Letter] = []
    for character in unicodedata.normalize("NFC", text):
        if _is_greek_letter(character):
            word.append(_Letter(character))
            continue
        if word:
            out.append(_word_to_latin(word))
            word = []
        out.append(character)
    if word:
        out.append(_word_to_latin(word))
    return "".join(out)


# The Greeklish spellings of one sound, made one (applied in order, on lower-case Latin).
_FOLDS = (
    ("mp", "b"),
    ("nt", "d"),
    ("gk", "g"),
    ("ng", "g"),
    ("gg", "g"),
    ("ch", "h"),
    ("kh", "h"),
    ("ks", "x"),
    ("ph", "f"),
    ("w", "o"),
    ("ou", "u"),
    ("ei", "i"),
    ("oi", "i"),
    ("yi", "i"),
    ("ai", "e"),
    ("y", "i"),
)
_DOUBLED = re.compile(r"(.)\1+")
_NOT_A_LETTER = re.compile(r"[^a-z0-9]+")


def _folded_word(word: str) -> str:
    for spelling, sound in _FOLDS:
        word = word.replace(spelling, sound)
    return _DOUBLED.sub(r"\1", word)


def match_key(name: str) -> str:
    """The key two spellings of one name share (see the module): Latin letters and digits,
    one space between the words, the words in order."""
    latin = to_latin(name.strip())
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", latin) if not unicodedata.combining(c)
    ).lower()
    words = (_folded_word(word) for word in _NOT_A_LETTER.split(plain) if word)
    return " ".join(sorted(words))
