"""The test kit itself (ADR 0039): every factory makes a row the schema accepts, in the session
it is given or the one the test bound; the savepoint sessions never commit; the null identity
admin records and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from kentra.auth.identity import IdentityAdmin, UserSpec
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Role
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import Unit, UnitKind
from kentra.tenants.binding import TenantSession, read_rows, tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests import factories
from tests.database import savepoint_connection, savepoint_tenant_session
from tests.identity import FailingIdentityAdmin, NullIdentityAdmin, provider

SHARED_FACTORIES = [
    factories.PolicyVersionFactory,
    factories.StaffingBandFactory,
    factories.ProfessionalProfileFactory,
    factories.OnboardingRequestFactory,
    factories.RegionalUnitSeatDecisionFactory,
    factories.ServiceAreaExceptionFactory,
    factories.CentreComplianceFactory,
    factories.RegulationSubmissionFactory,
    factories.FanoutRunFactory,
    factories.FanoutTenantFactory,
    factories.PlatformAuditEventFactory,
    factories.TenantFactory,
    factories.RateLimitHitFactory,
]
TENANT_FACTORIES = [
    factories.UnitFactory,
    factories.SubUnitFactory,
    factories.UnitServedMunicipalityFactory,
    factories.StaffMemberFactory,
    factories.BeneficiaryFactory,
    factories.RegulationVersionFactory,
    factories.AuditEventFactory,
    factories.TenantSettingFactory,
]


def stored(session: Session, row: Any) -> Any:
    """``row`` as the database has it (read again, not from the session's identity map)."""
    identity = inspect(row).identity
    session.expunge(row)
    return session.get(type(row), identity)


@pytest.mark.parametrize("make", SHARED_FACTORIES, ids=lambda f: f.__name__)
def test_each_shared_factory_flushes_a_row_into_the_test_session(db: Session, make: Any) -> None:
    row = make()
    assert isinstance(row, make._meta.model)
    assert not db.new  # flushed, not only added
    assert stored(db, row) is not None


@pytest.mark.parametrize("make", TENANT_FACTORIES, ids=lambda f: f.__name__)
def test_each_tenant_factory_flushes_a_row_into_the_tenant_session(
    tenant_a_db: TenantSession, make: Any
) -> None:
    row = make()
    assert isinstance(row, make._meta.model)
    assert not tenant_a_db.new
    assert stored(tenant_a_db, row) is not None


def test_the_tenant_profile_factory_names_the_sessions_tenant(
    engine: Engine, tenant_a: MunicipalityCode
) -> None:
    # The provisioned tenant has its profile row: a scratch schema's session shows the rest.
    with (
        savepoint_connection(engine, tenant_a) as connection,
        savepoint_tenant_session(connection, tenant_a) as session,
    ):
        profile = session.scalars(select(factories.TenantProfile)).one()
        session.delete(profile)
        session.flush()
        made = factories.TenantProfileFactory(session=session)
        assert made.municipality_code == tenant_a.value


def test_sub_factories_share_their_parents_session(tenant_b_db: TenantSession) -> None:
    member = factories.StaffMemberFactory(session=tenant_b_db)
    assert member in tenant_b_db
    unit = tenant_b_db.get_one(Unit, member.unit_id)
    assert unit.kind is UnitKind.CENTRE
    annex = factories.SubUnitFactory(session=tenant_b_db, parent=unit)
    assert (annex.centre, annex.kind) == (unit.centre, UnitKind.ANNEX)
    units = tenant_b_db.scalar(select(func.count()).select_from(Unit))
    factories.StaffMemberFactory(session=tenant_b_db, unit_id=annex.id)  # the key alone
    factories.RegulationVersionFactory(session=tenant_b_db, centre_id=unit.id)
    assert tenant_b_db.scalar(select(func.count()).select_from(Unit)) == units  # none made


def test_a_tenant_model_needs_a_tenant_session(db: Session) -> None:
    with pytest.raises(TypeError, match="tenant-bound session"):
        factories.UnitFactory(session=db)


def test_a_factory_without_a_session_says_so() -> None:
    with pytest.raises(RuntimeError, match="no session"):
        factories.FanoutRunFactory()
    unit = factories.UnitFactory.build()  # built, not saved: no session needed
    assert unit.kind is UnitKind.CENTRE
    assert unit.premises_accessible is True


def test_the_policy_factory_has_bands_and_profiles_unless_told(db: Session) -> None:
    policy = factories.PolicyVersionFactory()
    assert [band.minimum_staff for band in policy.bands] == [0, 2, 3]
    assert [profile.code for profile in policy.profiles] == ["psychologist", "social_worker"]
    bare = factories.PolicyVersionFactory(staffing=False)
    db.expire(bare)
    assert db.get_one(PolicyVersion, bare.id).bands == []


def test_the_savepoint_sessions_never_commit(
    engine: Engine, tenant_a: MunicipalityCode, tenant_b: MunicipalityCode
) -> None:
    for code in (tenant_a, tenant_b):
        with (
            savepoint_connection(engine, code) as connection,
            savepoint_tenant_session(connection, code) as session,
        ):
            centre = factories.UnitFactory(session=session, name="Δεν μένει")
            # What the session wrote it reads, in its transaction (ADR 0032's driver reads too).
            rows = read_rows(session, select(Unit.name).where(Unit.id == centre.id))
            assert [row.name for row in rows] == ["Δεν μένει"]
            session.commit()  # releases the savepoint only: the outer transaction rolls back
            assert session.get_one(Unit, centre.id).name == "Δεν μένει"
        with tenant_session(engine, code) as after:
            assert after.scalars(select(Unit).where(Unit.name == "Δεν μένει")).all() == []


def test_shared_and_tenant_a_sessions_see_each_other_and_b_sees_neither(
    db: Session, tenant_a_db: TenantSession, tenant_b_db: TenantSession
) -> None:
    policy = factories.PolicyVersionFactory(session=db)
    centre = factories.UnitFactory(session=tenant_a_db)
    assert tenant_a_db.get(PolicyVersion, policy.id) is not None
    assert db.scalar(select(func.count()).where(PolicyVersion.id == policy.id)) == 1
    assert tenant_b_db.get(PolicyVersion, policy.id) is None  # another transaction
    assert (
        tenant_b_db.get(Unit, centre.id) is None
        or tenant_b_db.get_one(Unit, centre.id).name != centre.name
    )  # another schema
    member = factories.StaffMemberFactory(unit=centre)
    assert tenant_a_db.get_one(StaffMember, member.id).unit_id == centre.id


def test_the_null_identity_admin_records_and_changes_nothing(engine: Engine) -> None:
    admin: IdentityAdmin = NullIdentityAdmin()
    spec = UserSpec(username="maria", email="maria@example.invalid", role=Role.STAFF)
    path = UnitPath("4501", "kk-athina", None)
    assert admin.ensure_organization("4501", "Δήμος Αθηναίων") == "org-4501"
    assert admin.ensure_unit_group(path, "Κέντρο") == f"group-{path}"
    admin.check_user(spec)
    assert admin.ensure_user(spec, exclusive=True) == "user-maria"
    admin.disable_user("maria", municipality_code="4501")
    admin.remove_organization("4501")
    assert isinstance(admin, NullIdentityAdmin)
    assert admin.names() == [
        "ensure_organization",
        "ensure_unit_group",
        "check_user",
        "ensure_user",
        "disable_user",
        "remove_organization",
    ]
    assert admin.calls[3] == ("ensure_user", (spec, True))


def test_a_failing_identity_admin_fails_only_where_told() -> None:
    inner = NullIdentityAdmin()
    admin = FailingIdentityAdmin("ensure_user", inner=inner, error=RuntimeError("500"))
    assert admin.ensure_organization("4501", "Δήμος Αθηναίων") == "org-4501"
    with pytest.raises(RuntimeError, match="500"):
        admin.ensure_user(UserSpec(username="maria", email="m@example.invalid", role=Role.STAFF))
    assert inner.names() == ["ensure_organization"]
    with pytest.raises(ConnectionError):
        FailingIdentityAdmin("disable_user").disable_user("maria")
    assert provider(inner)("settings", "engine") is inner
