"""The staff module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kentra.platform.core.interfaces import lazy_interface

if TYPE_CHECKING:
    from kentra.platform.staff.events import StaffChanged
    from kentra.platform.staff.models import StaffMember
    from kentra.platform.staff.operations import OFFBOARDING_TASK_NAME

__all__ = [
    "OFFBOARDING_TASK_NAME",
    "StaffChanged",
    "StaffMember",
]
__getattr__ = lazy_interface(__name__, __file__, __all__)
