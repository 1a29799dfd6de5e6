"""Samples of the shared web routes: the stylesheet and the language switch."""

from __future__ import annotations

from sqlalchemy import Engine


def prepare(_engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    return {"filename": "kentra.css", "language": "en"}


def cleanup(_engine: Engine) -> None:
    """Nothing was created."""
