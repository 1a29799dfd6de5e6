"""The regulations module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from kentra.platform.regulations.events import RegulationChanged
from kentra.platform.regulations.models import RegulationStatus, RegulationVersion

__all__ = [
    "RegulationChanged",
    "RegulationStatus",
    "RegulationVersion",
]
