"""The reference module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.reference.access import (
        NO_SUCH_MUNICIPALITY,
        access_municipality_by_code,
        search_municipalities,
    )
    from kentra.platform.reference.models import (
        Municipality,
        Region,
        RegionalUnit,
        municipality_ref,
    )
    from kentra.platform.reference.text import fold

__all__ = [
    "NO_SUCH_MUNICIPALITY",
    "Municipality",
    "Region",
    "RegionalUnit",
    "access_municipality_by_code",
    "fold",
    "municipality_ref",
    "search_municipalities",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
