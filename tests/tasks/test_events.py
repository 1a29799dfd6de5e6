"""Explicit domain events (ADR 0035): ``publish`` records the event on the session, its
subscribers are sent once per tenant after the commit by the one ``send_after_commit``,
nothing is sent on a rollback, and a failed send is logged without failing the commit."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from kentra.platform.compliance.models import ComplianceStatus
from kentra.platform.compliance.tasks import recompute_compliance
from kentra.platform.policy.recompute import RECOMPUTE_TASK_NAME
from kentra.platform.regulations.events import RegulationChanged
from kentra.platform.staff.events import StaffChanged
from kentra.platform.units.events import UnitChanged
from kentra.platform.units.models import Unit
from kentra.tasks.base import pending_sends
from kentra.tasks.events import Event, publish, published, subscribe, subscribers
from kentra.tenants.binding import TenantSession, tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.compliance import test_compliance as helpers
from tests.compliance.test_compliance import compliant_centre, stored
from tests.worker_support import delivered

Tenants = Callable[..., list[MunicipalityCode]]
tenants = helpers.tenants  # the fixture: scratch tenants and their summary rows removed


@dataclass(frozen=True)
class NobodyListens(Event):
    thing_id: int


def test_compliance_follows_the_three_modules_events() -> None:
    for event in (UnitChanged, StaffChanged, RegulationChanged):
        assert [task.name for task in subscribers(event)] == [RECOMPUTE_TASK_NAME]
    assert subscribers(NobodyListens) == ()


def test_subscribing_is_explicit_and_idempotent() -> None:
    subscribe(UnitChanged, recompute_compliance)  # a second import subscribes nothing more
    assert len(subscribers(UnitChanged)) == 1
    with pytest.raises(TypeError, match="not an Event"):
        subscribe(Unit, recompute_compliance)  # type: ignore[arg-type]


def test_many_events_of_one_transaction_send_one_task_per_subscriber_and_tenant(
    tenant_a_db: TenantSession, tenant_a: MunicipalityCode
) -> None:
    session = tenant_a_db
    for event in (UnitChanged(1), UnitChanged(2), StaffChanged(3), RegulationChanged(4)):
        publish(session, event)
    publish(session, NobodyListens(5))
    assert published(session) == [
        UnitChanged(1),
        UnitChanged(2),
        StaffChanged(3),
        RegulationChanged(4),
        NobodyListens(5),
    ]
    assert pending_sends(session) == [(RECOMPUTE_TASK_NAME, tenant_a.value)]
    session.rollback()  # nothing is sent: this test has no worker
    assert published(session) == []
    assert pending_sends(session) == []


def test_an_event_needs_a_tenant(engine: Engine) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="tenant-bound"):
        publish(session, UnitChanged(1))
    with Session(engine) as session, pytest.raises(TypeError, match="not an Event"):
        publish(session, "unit 1 changed")  # type: ignore[arg-type]


def test_delivered_after_the_commit_by_the_worker_and_dropped_on_rollback(
    engine: Engine, tenants: Tenants, worker: subprocess.Popen[bytes]
) -> None:
    (code,) = tenants("5004")
    centre = compliant_centre(engine, "5004")
    with (
        delivered() as sent,
        pytest.raises(RuntimeError),
        tenant_session(engine, code) as session,
    ):
        session.get_one(Unit, centre).premises_accessible = False
        publish(session, UnitChanged(centre))
        raise RuntimeError("undone")
    assert sent == []
    with delivered() as sent, tenant_session(engine, code) as session:
        session.get_one(Unit, centre).premises_accessible = False
        publish(session, UnitChanged(centre))
        publish(session, UnitChanged(centre))
        assert sent == []  # not before the commit
    assert len(sent) == 1
    row = stored(engine, "5004", centre)
    assert row is not None
    assert (row.status, row.unmet) == (ComplianceStatus.NON_COMPLIANT, ["premises_accessible"])


def test_a_failed_send_is_logged_and_the_commit_stands(
    engine: Engine,
    tenant_a: MunicipalityCode,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broker_down(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError("broker unreachable at 10.0.0.1 for Μαρία")

    monkeypatch.setattr(recompute_compliance, "apply_async", broker_down)
    caplog.set_level(logging.ERROR, logger="kentra.tasks.base")
    with tenant_session(engine, tenant_a) as session:
        publish(session, StaffChanged(1))
    [record] = [r for r in caplog.records if r.name == "kentra.tasks.base"]
    assert record.getMessage() == "a task could not be sent after the commit"
    assert record.task == RECOMPUTE_TASK_NAME  # type: ignore[attr-defined]
    assert record.tenant == tenant_a.value  # type: ignore[attr-defined]
    assert record.exc_info is not None
    assert record.exc_info[0] is ConnectionError


def test_a_tenant_bound_session_of_another_code_sends_to_that_tenant(
    tenant_b_db: TenantSession, tenant_b: MunicipalityCode
) -> None:
    publish(tenant_b_db, RegulationChanged(9))
    assert pending_sends(tenant_b_db) == [(RECOMPUTE_TASK_NAME, tenant_b.value)]
    tenant_b_db.rollback()
    assert pending_sends(tenant_b_db) == []
