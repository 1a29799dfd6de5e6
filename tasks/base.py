"""The tenant-aware task base, and sending tasks only after the database commit.

The tenant travels in the message headers (``kentra_tenant``), never in the arguments. Before
the task body runs, the worker checks the tenant is active, opens a session bound to its schema
and sets the tenant context (used by logs); afterwards it commits (or rolls back) and clears
both, so nothing of one tenant survives into the next task on the same worker process.

A tenant task sent by a fan-out (:mod:`kentra.tasks.fanout`, header ``kentra_fanout``) also
keeps the run's record: done in the same transaction as its work; on failure, sent again
(Celery's retry, bounded) or failed; and, every half batch, the next pending tenants of the
run sent (:func:`~kentra.tasks.fanout.refill_due`).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import Any, NoReturn

from celery import Task
from celery.exceptions import Retry
from sqlalchemy import Engine, bindparam, event, select
from sqlalchemy.orm import Session

from kentra.platform.core.database import get_engine
from kentra.tasks import fanout
from kentra.tenants.binding import current_tenant, tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus

TENANT_HEADER = "kentra_tenant"
log = logging.getLogger(__name__)


class TenantNotActive(Exception):
    """The task's tenant does not exist or is not active; the task does not run."""


class TenantTaskFailed(Exception):
    """A fan-out tenant's attempt failed. Its message is the original error's type only: the
    original's text (a row's values, a provider's answer naming a user) goes neither to the
    logs nor to the result backend."""


# The running task's session: a context variable, not a task attribute, because one task
# instance serves every execution in a process (and several at once with thread pools).
_task_session: ContextVar[Session | None] = ContextVar("kentra_task_session", default=None)


class TenantTask(Task):  # type: ignore[type-arg]
    """Base for tasks that work inside one tenant's schema. Use ``self.session`` in the body."""

    abstract = True
    # A fan-out sends its tenants' tasks without a result (the run's record holds it); what
    # failed is still kept: TenantTaskFailed with the error's type.
    store_errors_even_if_ignored = True

    @property
    def session(self) -> Session:
        session = _task_session.get()
        if session is None:
            raise RuntimeError("the tenant session exists only while the task runs")
        return session

    def apply_async(  # type: ignore[override]  # adds the tenant= option
        self, args: Any = None, kwargs: Any = None, **options: Any
    ) -> Any:
        headers = dict(options.pop("headers", None) or {})
        tenant: MunicipalityCode | None = options.pop("tenant", None) or current_tenant()
        if tenant is not None:
            headers[TENANT_HEADER] = tenant.value
        elif TENANT_HEADER not in headers:  # a retry carries its request's headers
            raise ValueError(
                f"{self.name} is a tenant task: give tenant=… or send it inside a tenant context"
            )
        return super().apply_async(args, kwargs, headers=headers, **options)

    def _header(self, name: str) -> Any:
        raw = getattr(self.request, name, None)
        if raw is None:
            raw = (self.request.headers or {}).get(name)
        return raw

    def _tenant_from_request(self) -> MunicipalityCode:
        raw = self._header(TENANT_HEADER)
        if raw is None:
            raise TenantNotActive(f"{self.name} was sent without a tenant")
        return parse_municipality_code(str(raw))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        code = self._tenant_from_request()
        raw_run = self._header(fanout.FANOUT_HEADER)
        run_id = int(raw_run) if raw_run is not None else None
        engine = get_engine(self.app.settings)  # type: ignore[attr-defined]
        refill = False
        try:
            with tenant_session(engine, code) as session:
                _check_active(session, code)
                token = _task_session.set(session)
                try:
                    result = super().__call__(*args, **kwargs)
                finally:
                    _task_session.reset(token)
                if run_id is not None:
                    refill = fanout.record_done(session, run_id, code.value)  # with the work
        except Exception as exc:
            if run_id is None:
                raise
            self._fanout_failed(engine, run_id, code, exc)
        if refill and run_id is not None and not self.request.is_eager:
            fanout.refill(engine, run_id)
        return result

    def _fanout_failed(
        self, engine: Engine, run_id: int, code: MunicipalityCode, exc: Exception
    ) -> NoReturn:
        """Record a fan-out tenant's failed attempt (its work rolled back) and send it again,
        up to :data:`fanout.MAX_RETRIES` times, or record it failed and move the run on. What
        is raised carries the error's type only (:class:`TenantTaskFailed`)."""
        if isinstance(exc, Retry):  # the body asked for its own retry
            cause = exc.exc if isinstance(exc.exc, Exception) else exc
            fanout.record_failure(engine, run_id, code.value, type(cause).__name__, final=False)
            raise exc
        error_type = type(exc).__name__
        retries = int(self.request.retries or 0)
        final = isinstance(exc, TenantNotActive) or retries >= fanout.MAX_RETRIES
        refill = fanout.record_failure(engine, run_id, code.value, error_type, final=final)
        if final:
            if refill and not self.request.is_eager:
                fanout.refill(engine, run_id)
            raise TenantTaskFailed(error_type) from None
        raise self.retry(
            exc=TenantTaskFailed(error_type),
            countdown=fanout.retry_delay(retries),
            max_retries=fanout.MAX_RETRIES,
        )


# Built once: a task checks its tenant with a statement SQLAlchemy has already keyed.
_TENANT_STATUS = select(Tenant.status).where(Tenant.code == bindparam("code"))


def _check_active(session: Session, code: MunicipalityCode) -> None:
    status = session.scalar(_TENANT_STATUS, {"code": code.value})
    if status != TenantStatus.ACTIVE:
        raise TenantNotActive(f"tenant {code.value} is not active")


_PENDING = "kentra_pending_tasks"
# The events published in the open transaction (kentra.tasks.events), cleared with it.
PUBLISHED = "kentra_published_events"


def send_after_commit(session: Session, task: Task, *args: Any, **kwargs: Any) -> None:  # type: ignore[type-arg]
    """Send ``task`` once ``session``'s transaction commits; a rollback drops it.

    A task never sees data that was not committed, and never runs for work that was undone.
    A :class:`TenantTask` goes to the session's tenant (a tenant-bound session or context is
    required); any other task is sent as it is. The same task with the same arguments for
    the same tenant is sent once per transaction however often it was asked for (events
    coalesce here). A send that fails after the commit is logged by the task's name and the
    error's type, and does not undo or fail the committed work.
    """
    tenant: MunicipalityCode | None = None
    if isinstance(task, TenantTask):
        tenant = getattr(session, "tenant", None) or current_tenant()
        if tenant is None:
            raise ValueError("send_after_commit needs a tenant-bound session")
    if not event.contains(session, "after_commit", _send_pending):
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_rollback", _drop_pending)
    key = (
        task.name,
        tenant.value if tenant is not None else None,
        json.dumps([args, kwargs], sort_keys=True, default=str),
    )
    session.info.setdefault(_PENDING, {}).setdefault(key, (task, args, kwargs, tenant))


def pending_sends(session: Session) -> list[tuple[str, str | None]]:
    """(task name, tenant code) of what the open transaction will send at commit."""
    return [(name, tenant) for name, tenant, _arguments in session.info.get(_PENDING, {})]


def _send_pending(session: Session) -> None:
    session.info.pop(PUBLISHED, None)
    for task, args, kwargs, tenant in session.info.pop(_PENDING, {}).values():
        options = {"tenant": tenant} if tenant is not None else {}
        try:
            task.apply_async(args, kwargs, **options)
        except Exception:  # the commit stands; the daily jobs repair a lost send
            log.exception(
                "a task could not be sent after the commit",
                extra={"task": task.name, "tenant": tenant.value if tenant else None},
            )


def _drop_pending(session: Session) -> None:
    session.info.pop(PUBLISHED, None)
    dropped = session.info.pop(_PENDING, {})
    if dropped:
        log.info("dropped tasks of a rolled-back transaction", extra={"count": len(dropped)})
