"""Samples of the supervision routes: a regional unit whose reference seat is unknown (Κέας-
Κύθνου, 63). Nothing is created: an empty PUT from the ministry is refused on its input."""

from __future__ import annotations

from sqlalchemy import Engine


def prepare(_engine: Engine, _unit_ids: dict[str, int]) -> dict[str, str]:
    return {"regional_unit_code": "63"}


def cleanup(_engine: Engine) -> None:
    """Nothing was created."""
