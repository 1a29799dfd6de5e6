"""The staff module's public interface: what other modules may import (ADR 0043)."""

from __future__ import annotations

from kentra.platform.staff.events import StaffChanged
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import OFFBOARDING_TASK_NAME

__all__ = [
    "OFFBOARDING_TASK_NAME",
    "StaffChanged",
    "StaffMember",
]
