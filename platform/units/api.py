"""The units module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.units.access import (
        access_open_centre,
        access_unit_workspace_by_id,
        access_units,
        access_units_of_centre,
        unit_path,
    )
    from kentra.platform.units.events import UnitChanged
    from kentra.platform.units.models import PREMISES_ITEMS, Unit, UnitKind
    from kentra.platform.units.operations import own_centre_refusal

__all__ = [
    "PREMISES_ITEMS",
    "Unit",
    "UnitChanged",
    "UnitKind",
    "access_open_centre",
    "access_unit_workspace_by_id",
    "access_units",
    "access_units_of_centre",
    "own_centre_refusal",
    "unit_path",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
