"""The municipalities module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.municipalities.access import access_profile
    from kentra.platform.municipalities.models import TenantProfile, TenantSetting

__all__ = [
    "TenantProfile",
    "TenantSetting",
    "access_profile",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
