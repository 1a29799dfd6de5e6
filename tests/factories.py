"""factory_boy factories, one per model: each row valid as the schema and the domain want it,
persisted by ``flush`` into the session it is given, never committed (ADR 0039).

The session: ``UnitFactory(session=tenant_b_db)`` names it; without one, a factory uses the
session the test bound (the ``db``/``tenant_a_db`` fixtures bind theirs, and
:func:`bound_to` binds any session, a committing ``tenant_session`` included, for a block).
A tenant model needs a tenant-bound session; a shared model takes either. A sub-factory (a
staff member's unit) is made in its parent's session. Who commits is the caller: the
savepoint fixtures never do; ``tenant_session`` commits when its block ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import factory
from factory.alchemy import SQLAlchemyModelFactory
from sqlalchemy.orm import Session

from kentra.platform.audit.models import AuditEvent, PlatformAuditEvent
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.beneficiaries.operations import name_key_of
from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.core.models import TenantBase, local_today, utcnow
from kentra.platform.municipalities.models import TenantProfile, TenantSetting
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.policy.models import (
    PolicyVersion,
    ProfessionalProfile,
    ServiceArea,
    StaffingBand,
)
from kentra.platform.ratelimits.models import RateLimitHit
from kentra.platform.regulations.models import (
    RegulationKind,
    RegulationStatus,
    RegulationSubmission,
    RegulationVersion,
)
from kentra.platform.service_area.models import ServiceAreaException
from kentra.platform.staff.models import StaffMember
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.platform.units.models import PREMISES_ITEMS, Unit, UnitKind, UnitServedMunicipality
from kentra.tasks.models import FanoutRun, FanoutTenant, RunStatus, TenantState
from kentra.tenants.binding import TenantSession
from kentra.tenants.models import Tenant, TenantStatus

PDF = b"%PDF-1.4\n%kentra test\n"
VALID_VAT = "090000045"  # a valid ΑΦΜ (check digit), of no one

_bound: ContextVar[Session | None] = ContextVar("factory_session", default=None)


@contextmanager
def bound_to(session: Session) -> Iterator[Session]:
    """Factories called without ``session=`` use ``session`` until the block ends."""
    token = _bound.set(session)
    try:
        yield session
    finally:
        _bound.reset(token)


def _session_for(model: type[Any], given: Session | None) -> Session:
    session = given if given is not None else _bound.get()
    if session is None:
        raise RuntimeError(
            f"{model.__name__}: no session (pass session=, or use the db fixtures or bound_to)"
        )
    if issubclass(model, TenantBase) and not isinstance(session, TenantSession):
        raise TypeError(f"{model.__name__} is a tenant model: it needs a tenant-bound session")
    return session


class Factory(SQLAlchemyModelFactory):  # type: ignore[misc]
    """Flushes into the session given as ``session=``, else the bound one."""

    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"

    session = None  # passed on to sub-factories: factory.SelfAttribute("..session")

    @classmethod
    def _create(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        session = _session_for(model_class, kwargs.pop("session"))
        return cls._save(model_class, session, args, kwargs)

    @classmethod
    def _build(cls, model_class: type[Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("session")
        return model_class(*args, **kwargs)


def _made(resolver: Any, name: str, make: type[Factory]) -> Any:
    """The parent row given as ``name``, else one made by ``make`` in the same session (made
    only when the key is not given either: ``unit_id=`` alone makes no unit)."""
    given = getattr(resolver, name)
    return given if given is not None else make(session=resolver.session)


# --- tenant schema --------------------------------------------------------------------------


class UnitFactory(Factory):
    """A centre meeting every premises item (``premises=False``: none of them)."""

    class Meta:
        model = Unit
        exclude = ("premises",)

    premises = True
    kind = UnitKind.CENTRE
    centre = factory.Sequence(lambda n: f"kk-{n:05d}")
    unit = None
    name = factory.Sequence(lambda n: f"Κέντρο Κοινότητας {n}")
    street_address = "Ερμού 1"
    postal_code = "10563"
    focus_groups = factory.LazyFunction(list)
    premises_distinct_space = factory.SelfAttribute("premises")
    premises_near_social_services = factory.SelfAttribute("premises")
    premises_near_social_structures = factory.SelfAttribute("premises")
    premises_municipality_owned = factory.SelfAttribute("premises")
    premises_reception_waiting_processing = factory.SelfAttribute("premises")
    premises_toilets_public_and_staff = factory.SelfAttribute("premises")
    premises_accessible = factory.SelfAttribute("premises")


assert set(PREMISES_ITEMS) <= {name for name in dir(UnitFactory) if name.startswith("premises_")}


class SubUnitFactory(UnitFactory):
    """An annex (or, with ``kind=``, a mobile unit) of a centre, made unless given."""

    class Meta:
        exclude = ("premises", "parent")

    parent = None
    kind = UnitKind.ANNEX
    centre = factory.LazyAttribute(lambda o: _made(o, "parent", UnitFactory).centre)
    unit = factory.Sequence(lambda n: f"unit-{n:05d}")
    name = factory.Sequence(lambda n: f"Παράρτημα {n}")


class UnitServedMunicipalityFactory(Factory):
    class Meta:
        model = UnitServedMunicipality

    unit_id = factory.LazyAttribute(
        lambda o: SubUnitFactory(session=o.session, kind=UnitKind.MOBILE_UNIT).id
    )
    municipality_code = "2303"


class StaffMemberFactory(Factory):
    """A current full-time psychologist of a centre (made unless ``unit_id`` is given)."""

    class Meta:
        model = StaffMember
        exclude = ("unit",)

    unit = None
    unit_id = factory.LazyAttribute(lambda o: _made(o, "unit", UnitFactory).id)
    full_name = "Δοκιμαστικό Πρόσωπο"
    email = factory.Sequence(lambda n: f"staff{n}@example.invalid")
    profile_code = "psychologist"
    start_date = factory.LazyFunction(lambda: local_today() - timedelta(days=30))
    end_date = None
    fte = Decimal("1.00")
    is_head = False

    class Params:
        # A half-time contract that ended in 2020: inviting such a member is refused.
        ended = factory.Trait(
            start_date=date(2020, 1, 1), end_date=date(2020, 12, 31), fte=Decimal("0.50")
        )


class BeneficiaryFactory(Factory):
    """A person registered today by a centre (made unless ``unit_id`` is given), with the
    names in Latin script and the matching key the registration would give them; no
    identifiers unless given."""

    class Meta:
        model = Beneficiary
        exclude = ("unit",)

    unit = None
    unit_id = factory.LazyAttribute(lambda o: _made(o, "unit", UnitFactory).id)
    registered_on = factory.LazyFunction(local_today)
    given_name = "Γεώργιος"
    family_name = "Παπαδόπουλος"
    given_name_latin = "Georgios"
    family_name_latin = "Papadopoulos"
    name_key = factory.LazyAttribute(
        lambda o: name_key_of(o.given_name, o.family_name, o.given_name_latin, o.family_name_latin)
    )
    born_on = date(1985, 3, 15)
    birth_year = factory.LazyAttribute(lambda o: o.born_on.year if o.born_on else None)


class RegulationVersionFactory(Factory):
    """A submitted initial regulation of a centre (made unless ``centre_id`` is given)."""

    class Meta:
        model = RegulationVersion
        exclude = ("centre", "pdf")

    centre = None
    centre_id = factory.LazyAttribute(lambda o: _made(o, "centre", UnitFactory).id)
    pdf = PDF
    kind = RegulationKind.INITIAL
    effective_date = factory.LazyFunction(local_today)
    change_summary = "Αρχικός κανονισμός"
    status = RegulationStatus.SUBMITTED
    filename = "kanonismos.pdf"
    content = factory.SelfAttribute("pdf")
    size_bytes = factory.LazyAttribute(lambda o: len(o.pdf))
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.pdf).hexdigest())
    uploaded_by = "test"


class AuditEventFactory(Factory):
    class Meta:
        model = AuditEvent

    actor = "test"
    action = "unit.created"
    object_type = "unit"
    object_id = factory.Sequence(str)
    details = factory.LazyFunction(dict)


class TenantProfileFactory(Factory):
    class Meta:
        model = TenantProfile

    municipality_code = factory.LazyAttribute(lambda o: _session_tenant(o.session))
    display_name_el = "Δήμος Δοκιμής"
    display_name_latin = "Dimos Dokimis"


class TenantSettingFactory(Factory):
    class Meta:
        model = TenantSetting

    key = factory.Sequence(lambda n: f"test_setting_{n}")
    value = True


def _session_tenant(session: Session | None) -> str:
    chosen = session if session is not None else _bound.get()
    assert isinstance(chosen, TenantSession), "a tenant-bound session"
    return chosen.tenant.value


# --- shared schema --------------------------------------------------------------------------


class PolicyVersionFactory(Factory):
    """A policy version with the programme's bands and two profiles (the head's mandatory),
    from a date after every real one unless ``valid_from`` is given."""

    class Meta:
        model = PolicyVersion

    valid_from = factory.Sequence(lambda n: date(2100, 1, 1) + timedelta(days=n))
    note = "Δοκιμαστική έκδοση"
    head_profile_code = "social_worker"
    mobile_unit_area = ServiceArea.REGION
    created_by = "test"

    @factory.post_generation  # type: ignore[misc]
    def staffing(obj: PolicyVersion, create: bool, extracted: Any, **_kwargs: Any) -> None:  # noqa: N805
        if extracted is False:
            return
        obj.bands = [
            StaffingBand(min_population=0, max_population=9_999, minimum_staff=0),
            StaffingBand(min_population=10_000, max_population=40_000, minimum_staff=2),
            StaffingBand(min_population=40_001, max_population=None, minimum_staff=3),
        ]
        obj.profiles = [
            ProfessionalProfile(code="psychologist", name_el="Ψυχολόγος", name_en="Psychologist"),
            ProfessionalProfile(
                code="social_worker",
                name_el="Κοινωνικός Λειτουργός",
                name_en="Social worker",
                mandatory=True,
            ),
        ]
        if create:
            session = Session.object_session(obj)
            assert session is not None
            session.flush()


class StaffingBandFactory(Factory):
    class Meta:
        model = StaffingBand

    policy_version_id = factory.LazyAttribute(
        lambda o: PolicyVersionFactory(session=o.session, staffing=False).id
    )
    min_population = 0
    max_population = None
    minimum_staff = 2


class ProfessionalProfileFactory(Factory):
    class Meta:
        model = ProfessionalProfile

    policy_version_id = factory.LazyAttribute(
        lambda o: PolicyVersionFactory(session=o.session, staffing=False).id
    )
    code = factory.Sequence(lambda n: f"profile_{n}")
    name_el = "Επάγγελμα"
    name_en = "Profession"
    mandatory = False


class OnboardingRequestFactory(Factory):
    """A submitted request of a municipality with no tenant (Αθηναίων's neighbours by
    default: give ``municipality_code`` where the test speaks of one)."""

    class Meta:
        model = OnboardingRequest

    municipality_code = "1103"
    body_type = BodyType.MUNICIPALITY
    body_legal_name = "Δήμος Δοκιμής"
    body_vat = VALID_VAT
    contact_name = "Μαρία Παπαδοπούλου"
    contact_email = factory.Sequence(lambda n: f"contact{n}@example.invalid")
    contact_phone = "+302101234567"
    has_social_service = True
    status = RequestStatus.SUBMITTED

    class Params:
        decided = factory.Trait(
            status=RequestStatus.APPROVED,
            decided_by="reviewer",
            decided_at=factory.LazyFunction(utcnow),
        )


class RegionalUnitSeatDecisionFactory(Factory):
    """The ministry names the seat of a regional unit (Κεντρικού Τομέα Αθηνών, seat Αθηναίων, by default)."""

    class Meta:
        model = RegionalUnitSeatDecision

    regional_unit_code = "45"
    seat_municipality_code = "4501"
    note = "Απόφαση δοκιμής"
    decided_by = "test"


class ServiceAreaExceptionFactory(Factory):
    class Meta:
        model = ServiceAreaException

    municipality_code = "2201"
    served_municipality_code = "2003"
    reason = "Γειτονικός δήμος χωρίς κέντρο"
    decided_by = "test"


class CentreComplianceFactory(Factory):
    """A compliant centre's summary row under the policy in force (give ``policy_version_id``
    from ``access_policy_in_force`` or a ``PolicyVersionFactory``)."""

    class Meta:
        model = CentreCompliance

    municipality_code = "2003"
    centre_id = factory.Sequence(lambda n: 900_000 + n)
    centre_name = "Κέντρο Κοινότητας"
    status = ComplianceStatus.COMPLIANT
    unmet = factory.LazyFunction(list)
    staff_count = 2
    required_staff = 2
    policy_version_id = factory.LazyAttribute(lambda o: PolicyVersionFactory(session=o.session).id)


class RegulationSubmissionFactory(Factory):
    class Meta:
        model = RegulationSubmission

    municipality_code = "4501"
    regulation_id = factory.Sequence(lambda n: 900_000 + n)
    centre_id = 1
    centre_name = "Κέντρο Κοινότητας"
    kind = RegulationKind.INITIAL
    effective_date = factory.LazyFunction(local_today)
    change_summary = "Αρχικός κανονισμός"
    status = RegulationStatus.SUBMITTED
    filename = "kanonismos.pdf"
    size_bytes = len(PDF)
    sha256 = hashlib.sha256(PDF).hexdigest()
    submitted_at = factory.LazyFunction(utcnow)


class FanoutRunFactory(Factory):
    class Meta:
        model = FanoutRun

    task_name = "kentra.compliance.recompute"
    actor = "test"
    status = RunStatus.QUEUED
    details = factory.LazyFunction(dict)
    batch_size = 50

    class Params:
        # A run over one batch, started and finished now (its counts given by the caller).
        finished = factory.Trait(
            batch_size=1,
            started_at=factory.LazyFunction(utcnow),
            finished_at=factory.LazyFunction(utcnow),
        )


class FanoutTenantFactory(Factory):
    class Meta:
        model = FanoutTenant
        exclude = ("run",)

    run = None
    run_id = factory.LazyAttribute(lambda o: _made(o, "run", FanoutRunFactory).id)
    municipality_code = "4501"
    state = TenantState.PENDING


class PlatformAuditEventFactory(Factory):
    class Meta:
        model = PlatformAuditEvent

    actor = "test"
    action = "tenant.created"
    tenant_code = "4501"
    details = factory.LazyFunction(dict)


class TenantFactory(Factory):
    """A registry row only (no schema: ``scratch_tenants`` provisions real tenants)."""

    class Meta:
        model = Tenant

    code = "2201"
    schema_name = factory.LazyAttribute(lambda o: f"m_{o.code}")
    status = TenantStatus.REQUESTED


class RateLimitHitFactory(Factory):
    class Meta:
        model = RateLimitHit

    key = "test"
    hit_at = factory.LazyFunction(utcnow)
    expires_at = factory.LazyAttribute(lambda o: o.hit_at + timedelta(minutes=15))
