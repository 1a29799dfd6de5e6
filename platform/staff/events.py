"""The staff module's domain events (ADR 0035): published by its operations, after which
subscribers (compliance) run for the tenant once the transaction commits."""

from __future__ import annotations

from dataclasses import dataclass

from kentra.tasks.events import Event


@dataclass(frozen=True)
class StaffChanged(Event):
    """A member of the roster was added or changed (dates, unit, profile, head, account)."""

    member_id: int
