"""Domain events, published explicitly and delivered after the commit.

An operation that changes something another module follows says so in one line::

    publish(session, UnitChanged(unit_id=unit.id))

Events are small frozen dataclasses (:class:`Event`), defined by the module that publishes
them (``kentra.platform.units.events``, …), holding ids only — never personal data, because
nothing stops a subscriber from logging one. A module that follows an event registers a
:class:`~kentra.tasks.base.TenantTask` for it, explicitly, where the task is defined::

    subscribe(UnitChanged, recompute_compliance)

``publish`` hands each subscriber to the one :func:`~kentra.tasks.base.send_after_commit`: the
task is sent for the session's tenant once the transaction commits, never if it rolls back,
and once per subscriber and tenant however many events the transaction published (a
subscriber learns *that* its tenant changed, and reads the committed data itself). A send
that fails after the commit is logged (the change itself stands); the daily jobs repair what
a lost message left behind.

Nothing here listens to the ORM: a change that does not publish is not followed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, fields
from typing import ClassVar

from sqlalchemy.orm import Session

from kentra.tasks.base import PUBLISHED, TenantTask, send_after_commit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of domain events: subclass it with a frozen dataclass of ids."""


@dataclass(frozen=True)
class RecordChanged(Event):
    """An event about one record of the tenant, by its id (the dataclass's one field): the
    object that the change's audit entry names (``audit.record_change``), so a write cannot
    announce one record and audit another."""

    object_type: ClassVar[str]

    @property
    def object_id(self) -> str:
        (only,) = fields(self)
        return str(getattr(self, only.name))


_subscribers: defaultdict[type[Event], list[TenantTask]] = defaultdict(list)


def subscribe(event_type: type[Event], task: TenantTask) -> None:
    """Send ``task`` (for the event's tenant, after commit) whenever ``event_type`` is
    published. Idempotent: a module imported twice subscribes once."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"{event_type!r} is not an Event class")
    if all(existing.name != task.name for existing in _subscribers[event_type]):
        _subscribers[event_type].append(task)


def subscribers(event_type: type[Event]) -> tuple[TenantTask, ...]:
    """The tasks subscribed to ``event_type`` (and to its base classes)."""
    found: list[TenantTask] = []
    for klass in event_type.__mro__:
        if isinstance(klass, type) and issubclass(klass, Event):
            found += [task for task in _subscribers.get(klass, ()) if task not in found]
    return tuple(found)


def publish(session: Session, event: Event) -> None:
    """Record ``event`` on the session and queue its subscribers for after the commit.

    The session must be bound to a tenant (a :class:`~kentra.tenants.binding.TenantSession`,
    or a tenant context): the subscribers run for that tenant.
    """
    if not isinstance(event, Event):
        raise TypeError(f"{event!r} is not an Event")
    session.info.setdefault(PUBLISHED, []).append(event)
    for task in subscribers(type(event)):
        send_after_commit(session, task)


def published(session: Session) -> list[Event]:
    """The events published in the session's open transaction (cleared by commit or
    rollback): what an operation announced, for tests and diagnostics."""
    return list(session.info.get(PUBLISHED, ()))
