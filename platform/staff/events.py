"""The staff module's domain events (ADR 0035): published by its operations, after which
subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kentra.tasks.events import RecordChanged


@dataclass(frozen=True)
class StaffChanged(RecordChanged):
    """A member of the roster was added or changed (dates, unit, profile, head, account)."""

    object_type: ClassVar[str] = "staff_member"
    member_id: int
