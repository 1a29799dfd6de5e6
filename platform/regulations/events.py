"""The regulations module's domain events (ADR 0035): published by its operations, after
which subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kentra.tasks.events import RecordChanged


@dataclass(frozen=True)
class RegulationChanged(RecordChanged):
    """A version of a centre's operating regulation was uploaded or changed state."""

    object_type: ClassVar[str] = "regulation"
    version_id: int
