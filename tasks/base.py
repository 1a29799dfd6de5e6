"""The tenant-aware task base, and sending tasks only after the database commit.

The tenant travels in the message headers (``kentra_tenant``), never in the arguments. Before
the task body runs, the worker checks the tenant is active, opens a session bound to its schema
and sets the tenant context (used by logs); afterwards it commits (or rolls back) and clears
both, so nothing of one tenant survives into the next task on the same worker process.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from celery import Task
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from kentra.platform.core.database import get_engine
from kentra.tenants.binding import current_tenant, tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

TENANT_HEADER = "kentra_tenant"
log = logging.getLogger(__name__)


class TenantNotActive(Exception):
    """The task's tenant does not exist or is not active; the task does not run."""


# The running task's session: a context variable, not a task attribute, because one task
# instance serves every execution in a process (and several at once with thread pools).
_task_session: ContextVar[Session | None] = ContextVar("kentra_task_session", default=None)


class TenantTask(Task):  # type: ignore[type-arg]
    """Base for tasks that work inside one tenant's schema. Use ``self.session`` in the body."""

    abstract = True

    @property
    def session(self) -> Session:
        session = _task_session.get()
        if session is None:
            raise RuntimeError("the tenant session exists only while the task runs")
        return session

    def apply_async(  # type: ignore[override]  # adds the tenant= option
        self, args: Any = None, kwargs: Any = None, **options: Any
    ) -> Any:
        tenant: MunicipalityCode | None = options.pop("tenant", None) or current_tenant()
        if tenant is None:
            raise ValueError(
                f"{self.name} is a tenant task: give tenant=… or send it inside a tenant context"
            )
        headers = dict(options.pop("headers", None) or {})
        headers[TENANT_HEADER] = tenant.value
        return super().apply_async(args, kwargs, headers=headers, **options)

    def _tenant_from_request(self) -> MunicipalityCode:
        raw = getattr(self.request, TENANT_HEADER, None)
        if raw is None:
            raw = (self.request.headers or {}).get(TENANT_HEADER)
        if raw is None:
            raise TenantNotActive(f"{self.name} was sent without a tenant")
        return parse_municipality_code(str(raw))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        code = self._tenant_from_request()
        engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
        with tenant_session(engine, code) as session:
            status = session.scalar(select(Tenant.status).where(Tenant.code == code.value))
            if status != TenantStatus.ACTIVE:
                raise TenantNotActive(f"tenant {code.value} is not active")
            token = _task_session.set(session)
            try:
                return super().__call__(*args, **kwargs)
            finally:
                _task_session.reset(token)


_PENDING = "kentra_pending_tasks"


def send_after_commit(session: Session, task: TenantTask, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` for the session's tenant once the session's transaction commits.

    A rollback drops the message: a task never sees data that was not committed, and never
    runs for work that was undone.
    """
    tenant = getattr(session, "tenant", None) or current_tenant()
    if tenant is None:
        raise ValueError("send_after_commit needs a tenant-bound session")
    if not event.contains(session, "after_commit", _send_pending):
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_rollback", _drop_pending)
    session.info.setdefault(_PENDING, []).append((task, args, kwargs, tenant))


def _send_pending(session: Session) -> None:
    for task, args, kwargs, tenant in session.info.pop(_PENDING, []):
        task.apply_async(args, kwargs, tenant=tenant)


def _drop_pending(session: Session) -> None:
    dropped = session.info.pop(_PENDING, [])
    if dropped:
        log.info("dropped tasks of a rolled-back transaction", extra={"count": len(dropped)})
