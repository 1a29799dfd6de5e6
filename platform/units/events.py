"""The units module's domain events (ADR 0035): published by its operations, after which
subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kentra.tasks.events import RecordChanged


@dataclass(frozen=True)
class UnitChanged(RecordChanged):
    """A unit of the tenant was registered, edited or closed."""

    object_type: ClassVar[str] = "unit"
    unit_id: int
