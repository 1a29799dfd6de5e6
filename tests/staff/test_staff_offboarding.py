"""The daily offboarding: accounts whose contract ended (end date entered in advance) are
disabled the day after, once, tenant by tenant; a provider failure waits for the next run."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select

from kentra.auth.adapters import identity_admin
from kentra.auth.identity import UserSpec
from kentra.auth.issuer.models import IdentityUser
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.core.config import Settings
from kentra.platform.core.models import local_today, utcnow
from kentra.platform.staff import tasks as staff_tasks
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.helpers import removed_afterwards

CODE = "3801"


@pytest.fixture
def tenant(scratch_tenants: Callable[..., list[MunicipalityCode]]) -> MunicipalityCode:
    (code,) = scratch_tenants(CODE)
    return code


@pytest.fixture
def usernames(engine: Engine) -> Iterator[list[str]]:
    with removed_afterwards(engine, IdentityUser.username) as made:
        yield made


def invited_member(
    engine: Engine, settings: Settings, tenant: MunicipalityCode, usernames: list[str], ends: int
) -> int:
    """A member invited as a user, whose contract ends ``ends`` days from today."""
    email = f"leaver-{uuid.uuid4().hex[:8]}@example.gr"
    usernames.append(email)
    with tenant_session(engine, tenant) as session:
        unit = ensure_unit(session, centre="kk-off", unit=None, kind=UnitKind.CENTRE, name="κ")
        user_id = identity_admin(settings, engine).ensure_user(
            UserSpec(
                username=email,
                email=email,
                role=Role.STAFF,
                municipality_code=tenant.value,
                unit=UnitPath(tenant.value, "kk-off"),
            )
        )
        member = StaffMember(
            unit_id=unit.id,
            full_name="Αποχωρών",
            email=email,
            profile_code="psychologist",
            start_date=local_today() - timedelta(days=400),
            end_date=local_today() + timedelta(days=ends),
            fte=Decimal("1.00"),
            identity_user_id=user_id,
            invited_at=utcnow(),
        )
        session.add(member)
        session.flush()
        return member.id


def state(engine: Engine, tenant: MunicipalityCode, member_id: int) -> tuple[bool, bool, int]:
    """(account enabled, disabled_at recorded, audit rows of the disabling)."""
    with tenant_session(engine, tenant) as session:
        member = session.get(StaffMember, member_id)
        assert member is not None
        events = session.scalars(
            select(AuditEvent.id).where(
                AuditEvent.action == "staff.account_disabled",
                AuditEvent.object_id == str(member_id),
            )
        ).all()
        recorded = member.account_disabled_at is not None
        email = member.email
    with engine.connect() as conn:
        enabled = conn.scalar(select(IdentityUser.enabled).where(IdentityUser.username == email))
    return bool(enabled), recorded, len(events)


def test_ended_contracts_lose_their_account_once_and_future_ones_keep_it(
    engine: Engine, settings: Settings, tenant: MunicipalityCode, usernames: list[str]
) -> None:
    ended = invited_member(engine, settings, tenant, usernames, ends=-1)
    ends_today = invited_member(engine, settings, tenant, usernames, ends=0)
    later = invited_member(engine, settings, tenant, usernames, ends=5)

    first = staff_tasks.offboard_all(engine, settings)
    assert first["failed"] == 0
    assert first["done"] == first["tenants"] >= 3  # a fan-out run over every active tenant
    assert state(engine, tenant, ended) == (False, True, 1)
    # The last working day is today: the account closes tomorrow.
    assert state(engine, tenant, ends_today) == (True, False, 0)
    assert state(engine, tenant, later) == (True, False, 0)

    staff_tasks.offboard_all(engine, settings)
    assert state(engine, tenant, ended) == (False, True, 1)  # not again


class FailingIdentity:
    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        raise RuntimeError(f"Keycloak answered 500 for {username}")


def test_a_provider_failure_records_nothing_and_waits_for_the_next_run(
    engine: Engine,
    settings: Settings,
    tenant: MunicipalityCode,
    usernames: list[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ended = invited_member(engine, settings, tenant, usernames, ends=-3)
    with monkeypatch.context() as patched:
        patched.setattr(staff_tasks, "identity_admin", lambda *_a: FailingIdentity())
        outcome = staff_tasks.offboard_all(engine, settings)
    assert outcome["failed"] >= 1
    assert state(engine, tenant, ended) == (True, False, 0)
    assert usernames[-1] not in caplog.text  # the provider's message names the user
    staff_tasks.offboard_all(engine, settings)
    assert state(engine, tenant, ended) == (False, True, 1)


def test_beat_runs_the_offboarding_daily() -> None:
    from kentra.tasks.celery_app import celery

    entry = celery.conf.beat_schedule["staff-offboarding-daily"]
    celery.loader.import_default_modules()
    assert entry["task"] == staff_tasks.DAILY_TASK_NAME
    assert entry["task"] in celery.tasks
