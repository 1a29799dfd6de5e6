"""The units module's domain events (ADR 0035): published by its operations, after which
subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass

from kentra.tasks.events import Event


@dataclass(frozen=True)
class UnitChanged(Event):
    """A unit of the tenant was registered, edited or closed."""

    unit_id: int
