"""The service_area module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.service_area.operations import beyond_area, outside_area_message

__all__ = [
    "beyond_area",
    "outside_area_message",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
