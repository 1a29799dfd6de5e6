"""The regulations module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.regulations.events import RegulationChanged
    from kentra.platform.regulations.models import RegulationStatus, RegulationVersion

__all__ = [
    "RegulationChanged",
    "RegulationStatus",
    "RegulationVersion",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
