"""The beneficiaries module's domain events (ADR 0035): published by its operations; nothing
subscribes yet (the work queue and the statistics will)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kentra.tasks.events import RecordChanged


@dataclass(frozen=True)
class BeneficiaryChanged(RecordChanged):
    """A person was registered or their record changed."""

    object_type: ClassVar[str] = "beneficiary"
    beneficiary_id: int
