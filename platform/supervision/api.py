"""The supervision module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.supervision.access import BASIS_TEXT, access_supervision
    from kentra.platform.supervision.operations import supervised_municipality_codes

__all__ = [
    "BASIS_TEXT",
    "access_supervision",
    "supervised_municipality_codes",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
