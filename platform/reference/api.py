"""The reference module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from kentra.platform.reference.access import access_municipality_by_code, search_municipalities
from kentra.platform.reference.models import Municipality, Region, RegionalUnit, municipality_ref
from kentra.platform.reference.text import fold

__all__ = [
    "Municipality",
    "Region",
    "RegionalUnit",
    "access_municipality_by_code",
    "fold",
    "municipality_ref",
    "search_municipalities",
]
