"""The tenant-aware task base, on a real Celery worker process."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from celery.result import AsyncResult
from sqlalchemy import Engine

from kentra.platform.audit.operations import record_tenant_event
from kentra.platform.municipalities.probes import describe_tenant
from kentra.tasks import app as celery_app
from kentra.tasks.base import TENANT_HEADER, _task_session, send_after_commit
from kentra.tenants.binding import current_tenant, tenant_context, tenant_session
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.models import TenantStatus
from kentra.tenants.provisioning import change_status
from tests.helpers import marked_audit_rows

Scratch = Callable[..., list[MunicipalityCode]]
TIMEOUT = 60
pytestmark = pytest.mark.worker


def test_two_tenants_at_once_each_get_their_own_answer(
    worker: subprocess.Popen[bytes], tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    sent: list[tuple[MunicipalityCode, AsyncResult[Any]]] = []
    for _ in range(4):  # interleaved, so both worker children serve both tenants
        for code in (tenant_a, tenant_b):
            sent.append((code, describe_tenant.apply_async(tenant=code)))
    for code, result in sent:
        answer = result.get(timeout=TIMEOUT)
        assert answer["tenant"] == code.value
        assert answer["profile_code"] == code.value
        assert answer["current_schema"] == code.schema_name
        # The tenant travelled in the headers, not in the task's arguments.
        meta = AsyncResult(result.id, app=celery_app)
        assert meta.args in ([], ())
        assert meta.kwargs == {}


def test_tasks_are_sent_only_after_commit(
    worker: subprocess.Popen[bytes], engine: Engine, tenant_a: MunicipalityCode
) -> None:
    undone, done = uuid.uuid4().hex, uuid.uuid4().hex
    with pytest.raises(RuntimeError), tenant_session(engine, tenant_a) as session:
        record_tenant_event(
            session, actor="test", action="probe.request", details={"marker": "x" + undone}
        )
        send_after_commit(session, describe_tenant, marker=undone)
        raise RuntimeError("the request failed: nothing may be sent")
    with tenant_session(engine, tenant_a) as session:
        send_after_commit(session, describe_tenant, marker=done)
        # Not yet sent while the transaction is open: the task could not see this row otherwise.
        record_tenant_event(
            session, actor="test", action="probe.request", details={"marker": "x" + done}
        )

    deadline = time.monotonic() + TIMEOUT
    while marked_audit_rows(engine, tenant_a, done) == 0:
        assert time.monotonic() < deadline, "the committed task never ran"
        time.sleep(0.2)
    time.sleep(1.0)  # give a wrongly sent task time to show up
    assert marked_audit_rows(engine, tenant_a, undone) == 0


def test_a_task_for_a_suspended_tenant_does_not_run(
    worker: subprocess.Popen[bytes], engine: Engine, scratch_tenants: Scratch
) -> None:
    (code,) = scratch_tenants("0801")
    change_status(engine, code.value, TenantStatus.SUSPENDED)
    result = describe_tenant.apply_async(kwargs={"marker": "suspended"}, tenant=code)
    with pytest.raises(Exception, match="not active"):
        result.get(timeout=TIMEOUT)
    assert marked_audit_rows(engine, code, "suspended") == 0


def test_a_tenant_task_needs_a_tenant() -> None:
    with pytest.raises(ValueError, match="tenant task"):
        describe_tenant.apply_async()


def test_the_tenant_context_is_bound_during_and_cleared_after_the_task(
    engine: Engine, tenant_b: MunicipalityCode
) -> None:
    # In-process run of the same base class the worker uses (Task.apply runs __call__ here).
    result = describe_tenant.apply(headers={TENANT_HEADER: tenant_b.value}, throw=True)
    assert result.get()["current_schema"] == tenant_b.schema_name
    assert current_tenant() is None
    assert _task_session.get() is None
    with pytest.raises(RuntimeError, match="only while the task runs"):
        _ = describe_tenant.session


def test_sending_inside_a_tenant_context_uses_that_tenant(
    worker: subprocess.Popen[bytes], tenant_b: MunicipalityCode
) -> None:
    with tenant_context(tenant_b):
        result = describe_tenant.apply_async()
    assert result.get(timeout=TIMEOUT)["tenant"] == tenant_b.value


def test_send_after_commit_needs_a_tenant_session(engine: Engine) -> None:
    from sqlalchemy.orm import Session

    with Session(engine) as session, pytest.raises(ValueError, match="tenant-bound"):
        send_after_commit(session, describe_tenant)
