"""Keeping the staff roster and inviting its members. They flush, never commit.

Input has been shaped by the schemas (``kentra.platform.staff.schemas``); here it is checked
against the database, every rule at once, before anything is written: the unit is an open
unit of the municipality, the profile is one of the policy in force, the contract ends on or
after its start, only a centre's member can be its head (422 for each, by field), and a centre
has one head at a time (409; the partial unique index ``uq_staff_members_one_current_head``
settles races between two requests and answers the same 409).

Whether the head is a social worker is a compliance item (computed by the compliance module),
not a refusal here. Ending a contract is setting ``end_date``: rows are never deleted.

Staff data is personal data of employees: audit rows and logs name members by id only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from kentra.auth.identity import ForeignAccount, IdentityAdmin, UserSpec, split_full_name
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Profession, Role
from kentra.platform.audit.api import record_change, record_platform_event_at_once
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import local_today, utcnow
from kentra.platform.policy.api import policy_in_force
from kentra.platform.staff.events import StaffChanged
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.api import Unit, UnitKind
from kentra.tasks.events import publish
from kentra.tenants.binding import TenantSession

log = logging.getLogger(__name__)

OBJECT_TYPE = StaffChanged.object_type  # a member, as the audit names it
ONE_HEAD_INDEX = "uq_staff_members_one_current_head"
UNKNOWN_UNIT = _l(
    "Η μονάδα δεν είναι ανοιχτή μονάδα του Δήμου (Κέντρο, Παράρτημα ή Κινητή Μονάδα)."
)
UNKNOWN_PROFILE = _l("Το επαγγελματικό προφίλ δεν είναι ένα από τα προφίλ της πολιτικής σε ισχύ.")
END_BEFORE_START = _l("Η ημερομηνία λήξης δεν μπορεί να είναι πριν από την ημερομηνία έναρξης.")
HEAD_OF_CENTRE_ONLY = _l(
    "Υπεύθυνος μπορεί να είναι μόνο μέλος του προσωπικού ενός Κέντρου, όχι Παραρτήματος ή "
    "Κινητής Μονάδας."
)
SECOND_HEAD = _l(
    "Το Κέντρο έχει ήδη Υπεύθυνο για αυτό το διάστημα· ορίστε πρώτα ημερομηνία λήξης στον "
    "σημερινό Υπεύθυνο."
)
ENDED = _l("Η σύμβαση του μέλους έχει λήξει· δεν μπορεί να προσκληθεί.")
UNIT_CLOSED = _l("Η μονάδα του μέλους έχει κλείσει· αλλάξτε πρώτα μονάδα.")
IDENTITY_UNAVAILABLE = _l(
    "Η υπηρεσία ταυτοποίησης δεν απάντησε· η πρόσκληση δεν στάλθηκε. Δοκιμάστε ξανά αργότερα."
)
DISABLE_UNAVAILABLE = _l(
    "Η υπηρεσία ταυτοποίησης δεν απάντησε· η λήξη της σύμβασης δεν αποθηκεύτηκε, ώστε να μη"
    " μείνει ενεργός ο λογαριασμός. Δοκιμάστε ξανά αργότερα."
)
CHANGE_UNAVAILABLE = _l(
    "Η υπηρεσία ταυτοποίησης δεν απάντησε· η αλλαγή δεν αποθηκεύτηκε, ώστε ο λογαριασμός "
    "του μέλους να μην κρατήσει πρόσβαση που δεν του αντιστοιχεί πια. Δοκιμάστε ξανά "
    "αργότερα."
)
FOREIGN_ACCOUNT = _l(
    "Η διεύθυνση e-mail ανήκει ήδη σε λογαριασμό της πλατφόρμας που δεν διαχειρίζεται ο "
    "Δήμος· δεν έγινε καμία αλλαγή. Χρησιμοποιήστε άλλη διεύθυνση για το μέλος, π.χ. την "
    "υπηρεσιακή του διεύθυνση στον Δήμο."
)
ACCOUNT_OF_ANOTHER_MEMBER = _l(
    "Η διεύθυνση e-mail είναι ήδη ο λογαριασμός άλλου μέλους του προσωπικού με σύμβαση σε "
    "ισχύ· ένας λογαριασμός δεν μπορεί να ανήκει σε δύο μέλη. Διορθώστε τη διεύθυνση ή "
    "λήξτε πρώτα τη σύμβαση του άλλου μέλους."
)
# What the identity admin raises when the provider fails: Keycloak's admin errors are
# RuntimeErrors (KeycloakAdminError), the embedded issuer's are database errors, the
# network's OSErrors. Anything else is a bug and stays a 500.
IDENTITY_ERRORS: tuple[type[Exception], ...] = (RuntimeError, SQLAlchemyError, OSError)


def profile_names(session: Session, language: str = "el") -> dict[str, str]:
    """The professional profiles of the policy in force: code → name in ``language`` (the
    policy holds Greek and English names), in policy order."""
    policy = policy_in_force(session)
    if policy is None:
        return {}
    return {p.code: p.name_en if language == "en" else p.name_el for p in policy.profiles}


def head_profile_name(session: Session, language: str = "el") -> str | None:
    """The name of the profile the policy in force asks of a centre's head."""
    policy = policy_in_force(session)
    if policy is None:
        return None
    names = profile_names(session, language)
    return names.get(policy.head_profile_code, policy.head_profile_code)


def _check(
    session: Session, state: Mapping[str, Any], changed: set[str], member_id: int | None
) -> None:
    """Every database rule for the member as it would be after the change, at once.

    Only what changes is checked against the unit and the policy: a member whose unit has
    closed, or whose profile a newer policy dropped, can still have their contract ended.
    """
    refusals: list[DomainError] = []
    unit = session.get(Unit, state["unit_id"])
    if "unit_id" in changed and (unit is None or not unit.is_open):
        refusals.append(DomainError("staff.unknown_unit", 422, UNKNOWN_UNIT, field="unit_id"))
    if "profile_code" in changed and state["profile_code"] not in profile_names(session):
        refusals.append(
            DomainError("staff.unknown_profile", 422, UNKNOWN_PROFILE, field="profile_code")
        )
    if state["end_date"] is not None and state["end_date"] < state["start_date"]:
        refusals.append(
            DomainError("staff.end_before_start", 422, END_BEFORE_START, field="end_date")
        )
    head_changes = changed & {"is_head", "unit_id", "start_date", "end_date"}
    if state["is_head"] and head_changes and unit is not None and unit.kind != UnitKind.CENTRE:
        refusals.append(
            DomainError("staff.head_of_centre_only", 422, HEAD_OF_CENTRE_ONLY, field="is_head")
        )
    if refusals:
        raise DomainError.together(refusals)
    if state["is_head"] and head_changes and _another_head(session, state, member_id):
        raise DomainError("staff.second_head", 409, SECOND_HEAD, field="is_head")


def _another_head(session: Session, state: Mapping[str, Any], member_id: int | None) -> bool:
    """Whether another member heads the unit during any day of this member's contract."""
    start: date = state["start_date"]
    end: date | None = state["end_date"]
    query = select(StaffMember.id).where(
        StaffMember.unit_id == state["unit_id"],
        StaffMember.is_head,
        or_(StaffMember.end_date.is_(None), StaffMember.end_date >= start),
    )
    if end is not None:
        query = query.where(StaffMember.start_date <= end)
    if member_id is not None:
        query = query.where(StaffMember.id != member_id)
    return session.scalar(query.limit(1)) is not None


def _flush(session: Session) -> None:
    """Flush; a second open-ended head written concurrently since we looked is a 409."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if getattr(getattr(exc.orig, "diag", None), "constraint_name", None) != ONE_HEAD_INDEX:
            raise
        raise DomainError("staff.second_head", 409, SECOND_HEAD, field="is_head") from exc


def create_staff_member(session: Session, data: Mapping[str, Any], *, actor: str) -> StaffMember:
    """Add a member to the roster (validated by ``StaffMemberCreateSchema``)."""
    state = {"end_date": None, "is_head": False, **data}
    _check(session, state, set(state), None)
    member = StaffMember(
        unit_id=state["unit_id"],
        full_name=state["full_name"],
        email=state["email"],
        profile_code=state["profile_code"],
        start_date=state["start_date"],
        end_date=state["end_date"],
        fte=state["fte"],
        is_head=state["is_head"],
    )
    session.add(member)
    _flush(session)
    record_change(
        session,
        StaffChanged(member.id),
        action="staff.created",
        actor=actor,
        details={"unit_id": member.unit_id, "is_head": member.is_head},
    )
    return member


def update_staff_member(
    session: Session,
    member: StaffMember,
    changes: Mapping[str, Any],
    *,
    actor: str,
    identity: IdentityAdmin | None = None,
) -> StaffMember:
    """Change a member (validated by ``StaffMemberUpdateSchema``); the caller has checked
    the version the change was made on. Ending a contract is setting ``end_date``.

    For a member who was invited, ``identity`` keeps the identity user in step, in the same
    request; a provider failure is a 502 and nothing is saved:

    * the e-mail (the username) changes: the old user is disabled and the invitation is
      cleared, so that the member is invited again under the new address;
    * the unit or the head flag changes: the user gets exactly the new role and unit group
      (``ensure_user(..., exclusive=True)``), so that a former head keeps no reach over the
      old centre;
    * the contract ends today or earlier: the user is disabled (no new logins). A future end
      date leaves the user as it is until then.
    """
    current = {name: getattr(member, name) for name in EDITABLE_FIELDS}
    changed = {name for name, value in changes.items() if current.get(name) != value}
    if not changed:
        return member
    state = {**current, **{name: changes[name] for name in changed}}
    _check(session, state, changed, member.id)
    old_email = member.email
    for name in sorted(changed):
        setattr(member, name, state[name])
    _flush(session)
    details: dict[str, Any] = {"fields": sorted(changed), "unit_id": member.unit_id}
    if identity is not None and member.identity_user_id and "email" in changed:
        # Ids only: the old user's id says which account was disabled.
        details["previous_identity_user_id"] = member.identity_user_id
        if not _disable_account(
            session,
            member,
            identity,
            username=old_email,
            actor=actor,
            unavailable=CHANGE_UNAVAILABLE,
        ):
            details["old_account_disabled"] = False  # not the municipality's to disable
        details["invitation_needed"] = True
        member.identity_user_id = None
        member.invited_at = None
    ended = "end_date" in changed and member.end_date is not None
    disabled = False
    if ended and identity is not None and member.identity_user_id and _ended_by_today(member):
        disabled = _disable_account(
            session,
            member,
            identity,
            username=member.email,
            actor=actor,
            unavailable=DISABLE_UNAVAILABLE,
        )
        if disabled:
            member.account_disabled_at = utcnow()
    if (
        identity is not None
        and member.identity_user_id
        and changed & {"unit_id", "is_head", "profile_code"}  # role, group, profession
        and member.account_disabled_at is None
        and not has_ended(member)
    ):
        unit = session.get(Unit, member.unit_id)
        assert unit is not None  # a foreign key
        spec = _user_spec(member, unit, _municipality_code(session))
        member.identity_user_id = _ensure_user(
            session,
            member,
            identity,
            spec,
            actor=actor,
            event="staff.rescope_failed",
            unavailable=CHANGE_UNAVAILABLE,
        )
        details["account_role"] = spec.role.value
    if ended:
        details["account_disabled"] = disabled
    session.flush()
    action = "staff.ended" if ended else "staff.updated"
    record_change(session, StaffChanged(member.id), actor=actor, action=action, details=details)
    return member


_T = TypeVar("_T")


def _call_identity(
    member: StaffMember, call: Callable[[], _T], event: str, message: LazyString
) -> _T:
    """``call()``; a provider failure is logged as ``event`` and becomes
    a ``DomainError`` (502) saying ``message``."""
    try:
        return call()
    except IDENTITY_ERRORS as exc:
        # The exception's text may name the user: log its type and the member's id only.
        log.warning(event, extra={"staff_id": member.id, "error_type": type(exc).__name__})
        raise DomainError("staff.identity_unavailable", 502, message) from exc


def _ensure_user(
    session: Session,
    member: StaffMember,
    identity: IdentityAdmin,
    spec: UserSpec,
    *,
    actor: str,
    event: str,
    unavailable: LazyString = IDENTITY_UNAVAILABLE,
) -> str:
    """``identity.ensure_user(spec, exclusive=True)``: the member's account gets exactly the
    member's role and unit. An account the municipality does not manage is refused (409) and
    the attempt audited; a provider failure is a 502."""
    try:
        return _call_identity(
            member, lambda: identity.ensure_user(spec, exclusive=True), event, unavailable
        )
    except ForeignAccount as exc:
        _record_refusal(session, member, actor, spec.managing_municipality, "foreign_account")
        raise DomainError("staff.foreign_account", 409, FOREIGN_ACCOUNT, field="email") from exc


def _disable_account(
    session: Session,
    member: StaffMember,
    identity: IdentityAdmin,
    *,
    username: str,
    actor: str,
    unavailable: LazyString,
) -> bool:
    """Disable the member's account; whether it was. An account the municipality no longer
    manages alone (given a platform role, say) is not the roster's to disable: it is left as
    it is, unlinked from the member, and the refusal audited."""
    code = _municipality_code(session)
    try:
        _call_identity(
            member,
            lambda: identity.disable_user(username, municipality_code=code),
            "staff.disable_failed",
            unavailable,
        )
    except ForeignAccount:
        _record_refusal(session, member, actor, code, "foreign_account_not_disabled")
        member.identity_user_id = None
        return False
    return True


def _account_of_another_member(session: Session, member: StaffMember) -> bool:
    """Whether another member with a current contract is linked to an account under this
    member's e-mail (inviting would hand that account over to this member)."""
    today = local_today()
    found = session.scalar(
        select(StaffMember.id)
        .where(
            StaffMember.id != member.id,
            func.lower(StaffMember.email) == member.email.lower(),
            StaffMember.identity_user_id.is_not(None),
            StaffMember.account_disabled_at.is_(None),
            or_(StaffMember.end_date.is_(None), StaffMember.end_date >= today),
        )
        .limit(1)
    )
    return found is not None


def _record_refusal(
    session: Session, member: StaffMember, actor: str, municipality_code: str | None, reason: str
) -> None:
    """A refused account change, on the platform audit at once (the request rolls back). Ids and
    a reason code only: neither the address nor the account's other municipality."""
    log.warning("staff.account_refused", extra={"staff_id": member.id, "reason": reason})
    record_platform_event_at_once(
        session,
        actor=actor,
        action="staff.account_refused",
        tenant_code=municipality_code,
        details={"staff_id": member.id, "reason": reason},
    )


def _municipality_code(session: Session) -> str:
    """The code of the municipality whose roster ``session`` reaches."""
    assert isinstance(session, TenantSession), "the staff roster lives in a tenant schema"
    return session.tenant.value


def _user_spec(member: StaffMember, unit: Unit, municipality_code: str) -> UserSpec:
    """The identity user of ``member``: named by the e-mail, the centre head's role for a head
    and the staff role otherwise, in the municipality's organization and the unit's group,
    with the profession of the member's profile when it is one the identity layer knows, and
    the first and last name split from the roster's full name (docs/adr/0027)."""
    first_name, last_name = split_full_name(member.full_name)
    return UserSpec(
        username=member.email,
        email=member.email,
        role=Role.CENTRE_HEAD if member.is_head else Role.STAFF,
        municipality_code=municipality_code,
        unit=UnitPath(municipality_code, unit.centre, unit.unit),
        profession=_profession(member.profile_code),
        first_name=first_name,
        last_name=last_name,
    )


# The fields of a member a change may set, in the roster form's order: the schemas' FIELDS and
# the page's form read them from here (one list).
EDITABLE_FIELDS = (
    "full_name",
    "email",
    "unit_id",
    "profile_code",
    "start_date",
    "end_date",
    "fte",
    "is_head",
)


def _ended_by_today(member: StaffMember) -> bool:
    return member.end_date is not None and member.end_date <= local_today()


def has_ended(member: StaffMember, today: date | None = None) -> bool:
    day = today or local_today()
    return member.end_date is not None and member.end_date < day


def invite_staff_member(
    session: Session,
    member: StaffMember,
    *,
    municipality_code: str,
    identity: IdentityAdmin,
    actor: str,
) -> StaffMember:
    """Create (or bring up to date) the member's identity user and record the invitation.

    The user is named by the e-mail, gets the centre head's role for a head and the staff role
    otherwise, joins the municipality's organization and the unit's group, and carries the
    profession of the member's profile when it is one the identity layer knows; any other role,
    organization or unit group the user has is removed (``exclusive``). Idempotent: inviting
    again creates nothing new (the provider may send the e-mail again). If the provider fails,
    nothing is recorded (502).
    """
    if has_ended(member):
        raise DomainError("staff.contract_ended", 409, ENDED)
    unit = session.get(Unit, member.unit_id)
    if unit is None or not unit.is_open:
        raise DomainError("staff.unit_closed", 409, UNIT_CLOSED, field="unit_id")
    if _account_of_another_member(session, member):
        _record_refusal(session, member, actor, municipality_code, "account_of_another_member")
        raise DomainError(
            "staff.account_of_another_member", 409, ACCOUNT_OF_ANOTHER_MEMBER, field="email"
        )
    spec = _user_spec(member, unit, municipality_code)
    role = spec.role
    user_id = _ensure_user(
        session, member, identity, spec, actor=actor, event="staff.invitation_failed"
    )
    again = member.identity_user_id is not None
    member.identity_user_id = user_id
    member.invited_at = utcnow()
    session.flush()
    record_change(
        session,
        StaffChanged(member.id),
        action="staff.invited",
        actor=actor,
        details={"identity_user_id": user_id, "role": role.value, "again": again},
    )
    return member


def _profession(profile_code: str) -> Profession | None:
    try:
        return Profession(profile_code)
    except ValueError:
        return None


# The tenant task that runs disable_ended_accounts (staff/tasks.py); the jobs page names it.
OFFBOARDING_TASK_NAME = "kentra.staff.disable_ended_accounts_of_tenant"


def disable_ended_accounts(
    session: Session, identity: IdentityAdmin, *, today: date, actor: str
) -> int:
    """Disable the identity users of members whose contract ended before ``today`` and who
    still have an enabled account (end dates set in advance); returns how many. A provider
    failure stops here: what was disabled so far is recorded, the rest waits for the next run."""
    ended = session.scalars(
        select(StaffMember)
        .where(
            StaffMember.identity_user_id.is_not(None),
            StaffMember.account_disabled_at.is_(None),
            StaffMember.end_date < today,
        )
        .order_by(StaffMember.id)
        .with_for_update(skip_locked=True)
    ).all()
    code = _municipality_code(session)
    disabled = 0
    for member in ended:
        try:
            identity.disable_user(member.email, municipality_code=code)
        except ForeignAccount:
            # No longer the municipality's alone: not the roster's to disable (audited).
            _record_refusal(session, member, actor, code, "foreign_account_not_disabled")
            member.identity_user_id = None
            session.flush()
            publish(session, StaffChanged(member.id))
            continue
        member.account_disabled_at = utcnow()
        session.flush()
        record_change(
            session,
            StaffChanged(member.id),
            action="staff.account_disabled",
            actor=actor,
            details={"unit_id": member.unit_id},
        )
        disabled += 1
    return disabled
