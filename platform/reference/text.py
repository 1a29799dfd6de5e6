"""Text folding for name search: case and accents are ignored ("αθηνα" finds «Δήμος Αθηναίων»)."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Lower-case, strip diacritics and unify the final sigma, so that comparisons ignore them."""
    decomposed = unicodedata.normalize("NFD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())
