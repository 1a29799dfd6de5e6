"""Submitting and deciding onboarding requests. They flush, never commit.

**Approval and its transactions.** Approving touches three places that cannot share one
transaction: the tenant (``create_tenant`` runs and commits its own transaction, with the
identity organization compensated on failure), the tenant's settings (a tenant-bound
session), and the identity provider (Keycloak's admin API, or the embedded issuer's tables
committed per call). The order is chosen so that nothing is ever half-done from the
request's point of view:

1. lock the request row (``FOR UPDATE`` in the caller's transaction): concurrent decisions on
   one request queue, and the second one finds it decided (409); check the municipality is
   still eligible under the policy in force (it may have changed since the submission);
2. provision the tenant and its organization (idempotent: an existing active tenant is
   returned as it is);
3. copy ``has_social_service`` into the tenant's settings (an upsert: idempotent) and onto
   the registry row (``Tenant.has_social_service``, which derived supervision reads), in one
   transaction;
4. invite the first municipality admin (``ensure_user`` without a password: idempotent), named
   by the request's contact name (``split_full_name``);
5. mark the request approved and audit it, in the caller's transaction, committed by the
   request boundary.

Steps 2–4 commit on their own and are safe to repeat; the request becomes ``approved`` only
after all of them succeeded. If any step fails, the request stays ``submitted`` and approving
it again completes the work. A request is never ``approved`` without its tenant and admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kentra.auth.identity import ForeignAccount, IdentityAdmin, UserSpec, split_full_name
from kentra.auth.roles import Role
from kentra.platform.audit.api import (
    record_platform_event,
    record_platform_event_at_once,
    record_tenant_event,
)
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString, lazy_decimal
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import utcnow
from kentra.platform.municipalities.api import TenantSetting
from kentra.platform.onboarding.models import (
    ONE_SUBMITTED_PER_MUNICIPALITY,
    BodyType,
    OnboardingRequest,
    RequestStatus,
)
from kentra.platform.policy.api import PolicyVersion, policy_in_force, staffing_requirement
from kentra.platform.reference.api import NO_SUCH_MUNICIPALITY, Municipality
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.models import Tenant, TenantStatus
from kentra.tenants.provisioning import create_tenant

# Submissions are anonymous (the representative has no account yet).
ANONYMOUS_ACTOR = "anonymous"
# The tenant setting the supervision rule reads (domain.md rule 3).
HAS_SOCIAL_SERVICE = "has_social_service"
# Refusals (DomainError): Greek, translated when shown.
_ALREADY_ON_PLATFORM = _l("Ο Δήμος είναι ήδη στην πλατφόρμα.")
_ALREADY_SUBMITTED = _l("Υπάρχει ήδη αίτηση του Δήμου που περιμένει απόφαση.")

_CONTACT_HAS_AN_ACCOUNT = _l(
    "Η διεύθυνση e-mail του εκπροσώπου ανήκει ήδη σε λογαριασμό της πλατφόρμας· ο πρώτος "
    "διαχειριστής του Δήμου χρειάζεται δική του διεύθυνση. Η αίτηση δεν εγκρίθηκε και δεν "
    "έγινε καμία αλλαγή· απορρίψτε την με αυτόν τον λόγο, ώστε ο Δήμος να υποβάλει νέα."
)

_NOT_FOUND = _l("Δεν υπάρχει αίτηση ένταξης με αυτόν τον αριθμό.")
_ALREADY_DECIDED = _l("Για την αίτηση έχει ήδη ληφθεί απόφαση (%(decision)s).")
_DECISIONS = {RequestStatus.APPROVED: _l("εγκρίθηκε"), RequestStatus.REJECTED: _l("απορρίφθηκε")}
_TENANT_NOT_ACTIVE = _l(
    "Ο Δήμος υπάρχει ήδη στην πλατφόρμα αλλά δεν είναι ενεργός· πρέπει να επανενεργοποιηθεί."
)


def _already_submitted() -> DomainError:
    return DomainError(
        "onboarding.already_submitted", 409, _ALREADY_SUBMITTED, field="municipality_code"
    )


def own_centre_threshold(policy: PolicyVersion) -> int:
    """The smallest population with a centre of its own under ``policy`` (10,000 today)."""
    return min(band.min_population for band in policy.bands if band.minimum_staff > 0)


def ineligibility_reason(threshold: int) -> LazyString:
    """Why a municipality below ``threshold`` residents cannot register (translated, and the
    number written the language's way, when shown)."""
    return _l(
        "Ο Δήμος έχει λιγότερους από %(threshold)s κατοίκους: δεν μπορεί να έχει δικό του "
        "Κέντρο Κοινότητας· μπορεί να εξυπηρετείται από Κινητή Μονάδα γειτονικού Κέντρου.",
        threshold=lazy_decimal(threshold),
    )


def check_eligibility(session: Session, municipality: Municipality) -> None:
    """Refuse a municipality whose population gives no centre of its own (domain.md rule 1),
    by the staffing bands of the policy in force."""
    policy = policy_in_force(session)
    if policy is None:
        raise RuntimeError("no staffing policy is in force (kentra db upgrade seeds one)")
    if not staffing_requirement(policy, municipality.population).own_centre_allowed:
        raise DomainError(
            "onboarding.too_small",
            422,
            ineligibility_reason(own_centre_threshold(policy)),
            field="municipality_code",
        )


def submit_request(session: Session, data: Mapping[str, Any]) -> OnboardingRequest:
    """Record a municipality's request (validated by ``OnboardingRequestCreateSchema``).

    Refused (422) for a municipality not in the reference data or too small for a centre of
    its own; refused (409) when the municipality is already on the platform or already has a
    request waiting for a decision.
    """
    code = data["municipality_code"]
    municipality = session.get(Municipality, code)
    if municipality is None:
        raise DomainError(
            "onboarding.unknown_municipality",
            422,
            NO_SUCH_MUNICIPALITY,
            field="municipality_code",
        )
    check_eligibility(session, municipality)
    tenant_status = session.scalar(select(Tenant.status).where(Tenant.code == code))
    # A suspended or archived tenant is resumed by an operator, not by a new signup.
    if tenant_status is not None and tenant_status != TenantStatus.REQUESTED:
        raise DomainError(
            "onboarding.already_on_platform",
            409,
            _ALREADY_ON_PLATFORM,
            field="municipality_code",
        )
    if _open_request_exists(session, code):
        raise _already_submitted()
    request = OnboardingRequest(
        municipality_code=code,
        body_type=BodyType(data["body_type"]),
        body_legal_name=data["body_legal_name"],
        body_vat=data["body_vat"],
        contact_name=data["contact_name"],
        contact_email=data["contact_email"],
        contact_phone=data["contact_phone"],
        has_social_service=data["has_social_service"],
        status=RequestStatus.SUBMITTED,
        submitted_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError as exc:
        # Submitted concurrently since we looked: the partial unique index decides.
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != (
            ONE_SUBMITTED_PER_MUNICIPALITY
        ):
            raise
        raise _already_submitted() from exc
    record_platform_event(
        session,
        actor=ANONYMOUS_ACTOR,
        action="onboarding.submitted",
        tenant_code=code,
        details={"request_id": request.id},
    )
    return request


def _open_request_exists(session: Session, code: str) -> bool:
    return (
        session.scalar(
            select(OnboardingRequest.id).where(
                OnboardingRequest.municipality_code == code,
                OnboardingRequest.status == RequestStatus.SUBMITTED,
            )
        )
        is not None
    )


def _lock_undecided(session: Session, request_id: int) -> OnboardingRequest:
    """The request, locked until the caller's transaction ends; it must still be submitted."""
    request = session.scalars(
        select(OnboardingRequest)
        .where(OnboardingRequest.id == request_id)
        # Only this row: the joined municipality row stays unlocked (provisioning references it).
        .with_for_update(of=OnboardingRequest)
    ).one_or_none()
    if request is None:
        raise DomainError("onboarding.not_found", 404, _NOT_FOUND)
    if request.status != RequestStatus.SUBMITTED:
        raise DomainError(
            "onboarding.already_decided",
            409,
            _ALREADY_DECIDED,
            decision=_DECISIONS[request.status],
        )
    return request


def _decide(
    session: Session,
    request: OnboardingRequest,
    status: RequestStatus,
    *,
    actor: str,
    reason: str | None,
) -> None:
    request.status = status
    request.decision_reason = reason
    request.decided_by = actor
    request.decided_at = utcnow()
    session.flush()
    record_platform_event(
        session,
        actor=actor,
        action=f"onboarding.{status}",
        tenant_code=request.municipality_code,
        details={"request_id": request.id},
    )


def approve_request(
    session: Session,
    request_id: int,
    *,
    actor: str,
    engine: Engine,
    identity: IdentityAdmin,
    reason: str | None = None,
) -> OnboardingRequest:
    """Provision the tenant, its organization and its first admin, then mark the request
    approved (see the module docstring for the order). ``actor`` is the decider's subject."""
    request = _lock_undecided(session, request_id)
    code = request.municipality_code
    try:  # the policy may have changed since the request was submitted
        check_eligibility(session, request.municipality)
    except DomainError as exc:
        if exc.code != "onboarding.too_small":
            raise
        raise DomainError("onboarding.no_longer_eligible", 409, exc.message) from exc
    # The representative's name as typed, split for the identity provider (docs/adr/0027).
    first_name, last_name = split_full_name(request.contact_name)
    first_admin = UserSpec(
        username=request.contact_email,
        email=request.contact_email,
        role=Role.MUNICIPALITY_ADMIN,
        municipality_code=code,
        first_name=first_name,
        last_name=last_name,
    )
    try:
        # Before provisioning: a refused admin must leave no tenant or organization behind.
        identity.check_user(first_admin)
    except ForeignAccount as exc:
        _refuse_contact_account(session, request, actor)
        raise DomainError("onboarding.contact_has_account", 409, _CONTACT_HAS_AN_ACCOUNT) from exc
    result = create_tenant(engine, code, actor=actor, identity=identity)
    if result.tenant.status != TenantStatus.ACTIVE:
        raise DomainError("onboarding.tenant_not_active", 409, _TENANT_NOT_ACTIVE)
    _copy_settings(engine, request, actor=actor)
    try:
        identity.ensure_user(first_admin)
    except ForeignAccount as exc:  # created elsewhere since the check: the tenant stays
        _refuse_contact_account(session, request, actor)
        raise DomainError("onboarding.contact_has_account", 409, _CONTACT_HAS_AN_ACCOUNT) from exc
    _decide(session, request, RequestStatus.APPROVED, actor=actor, reason=reason)
    return request


def _refuse_contact_account(session: Session, request: OnboardingRequest, actor: str) -> None:
    """The refusal on the platform audit at once (the request's own transaction rolls back)."""
    record_platform_event_at_once(
        session,
        actor=actor,
        action="onboarding.admin_account_refused",
        tenant_code=request.municipality_code,
        details={"request_id": request.id, "reason": "foreign_account"},
    )


def _copy_settings(engine: Engine, request: OnboardingRequest, *, actor: str) -> None:
    """The tenant's ``has_social_service`` setting and registry column, from the request
    (upsert and update, one transaction of their own)."""
    statement = insert(TenantSetting).values(
        key=HAS_SOCIAL_SERVICE, value=request.has_social_service, updated_at=utcnow()
    )
    upsert = statement.on_conflict_do_update(
        index_elements=[TenantSetting.key],
        set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
    )
    with tenant_session(engine, parse_municipality_code(request.municipality_code)) as tenant:
        tenant.execute(upsert)
        tenant.execute(
            update(Tenant)
            .where(Tenant.code == request.municipality_code)
            .values(has_social_service=request.has_social_service)
        )
        record_tenant_event(
            tenant,
            actor=actor,
            action="setting.set",
            object_type="setting",
            object_id=HAS_SOCIAL_SERVICE,
            details={"onboarding_request_id": request.id},
        )


def reject_request(
    session: Session, request_id: int, *, actor: str, reason: str
) -> OnboardingRequest:
    """Refuse the request with a reason (told to the municipality). ``actor``: the subject."""
    if not reason.strip():
        raise ValueError("a rejection needs a reason")
    request = _lock_undecided(session, request_id)
    _decide(session, request, RequestStatus.REJECTED, actor=actor, reason=reason)
    return request
