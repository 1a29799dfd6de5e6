"""The regulations module's domain events (ADR 0035): published by its operations, after
which subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass

from kentra.tasks.events import Event


@dataclass(frozen=True)
class RegulationChanged(Event):
    """A version of a centre's operating regulation was uploaded or changed state."""

    version_id: int
