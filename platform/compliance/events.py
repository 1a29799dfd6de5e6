"""Keeping ``shared.centre_compliance`` current in the same transaction as every change.

Listeners on :class:`kentra.tenants.binding.TenantSession` (the only sessions that can write
a tenant's units, staff and regulation versions), registered when this module is imported —
which ``kentra.platform.compliance`` does, so they are active wherever the package is loaded:
the web app (blueprint discovery), the worker (its task module) and every process that loads
the models (``load_all_models``: migrations, provisioning, tests):

- ``after_flush`` and ``do_orm_execute`` note in ``session.info`` that the flush (or a bulk
  UPDATE/DELETE/INSERT) touched a watched table;
- ``before_commit`` flushes what is pending, and if anything was noted, recomputes every
  centre of the session's tenant and upserts/deletes its rows (:func:`recompute_tenant`),
  before the transaction commits: the summary commits, or rolls back, with the change;
- ``after_rollback`` forgets the note.

Nothing here commits; nothing here sends tasks. A change made by a session that is not bound
to a tenant cannot reach the tenant tables, so it is not watched.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from kentra.platform.compliance.operations import recompute_tenant
from kentra.platform.regulations.models import RegulationVersion
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import Unit
from kentra.tenants.binding import TenantSession

log = logging.getLogger(__name__)

# The tenant tables compliance is computed from.
WATCHED: tuple[type[Any], ...] = (Unit, StaffMember, RegulationVersion)
CHANGED = "kentra_compliance_changed"


def _touches_watched(session: Session) -> bool:
    return any(
        isinstance(instance, WATCHED)
        for collection in (session.new, session.dirty, session.deleted)
        for instance in collection
    )


def note_flush(session: Session, _context: Any) -> None:
    # In after_flush, new/dirty/deleted still hold what was just flushed.
    if not session.info.get(CHANGED) and _touches_watched(session):
        session.info[CHANGED] = True


def note_bulk_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, WATCHED):
        state.session.info[CHANGED] = True


def recompute_before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit recomputes
    session.flush()  # before_commit runs before the commit's own flush
    if not session.info.pop(CHANGED, False):
        return
    tenant = getattr(session, "tenant", None)
    if tenant is None:  # pragma: no cover - only TenantSession is listened to
        return
    results = recompute_tenant(session, tenant.value)
    log.debug("compliance recomputed", extra={"centres": len(results)})


def forget_changes(session: Session) -> None:
    session.info.pop(CHANGED, None)


def register() -> None:
    """Listen on every TenantSession (idempotent)."""
    for name, listener in (
        ("after_flush", note_flush),
        ("do_orm_execute", note_bulk_statement),
        ("before_commit", recompute_before_commit),
        ("after_rollback", forget_changes),
    ):
        if not event.contains(TenantSession, name, listener):
            event.listen(TenantSession, name, listener)


register()
