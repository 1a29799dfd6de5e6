"""Compliance of a municipality's centres, computed from its data and the policy in force.

A centre is compliant when every item below holds (domain.md §6, §7, §10; rule 2; ADR 0012):

1. the municipality may have a centre of its own under the policy (population ≥ the threshold);
2. the current staff of the centre's subtree (the centre, its annexes and mobile units, open
   ones only) is at least the band minimum for the municipality's population;
3. a current head of the centre whose profile is the policy's ``head_profile_code``;
4. the mandatory items of the premises checklist (accessibility and the others the text states
   without "if possible");
5. a current operating regulation: a version of the centre submitted to or acknowledged by the
   ministry whose effective date has come.

:func:`recompute_tenant` writes the result to ``shared.centre_compliance`` in the caller's
transaction: the task ``kentra.compliance.recompute_tenant`` (:mod:`.tasks`) calls it, sent
after the commit of every transaction that published a change of the tenant's units, staff or
regulations (ADR 0035), and for every tenant by a fan-out run (ADR 0036). It flushes, never
commits.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Integer, Table, and_, bindparam, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, aliased

from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.core.models import local_today, utcnow
from kentra.platform.policy.api import PolicyVersion, staffing_requirement, stored_policy_in_force
from kentra.platform.reference.api import Municipality
from kentra.platform.regulations.api import RegulationStatus, RegulationVersion
from kentra.platform.staff.api import StaffMember
from kentra.platform.units.api import PREMISES_ITEMS, Unit, UnitKind


@dataclass(frozen=True)
class Item:
    """One compliance item: a stable code, its text in Greek and English, and the section of
    the municipality's space where it is fixed."""

    code: str
    text_el: str
    text_en: str
    section: str


BELOW_THRESHOLD = "municipality_below_threshold"
STAFF_BELOW_MINIMUM = "staff_below_minimum"
HEAD_MISSING = "head_social_worker_missing"
REGULATION_MISSING = "operating_regulation_missing"

# The premises checklist (units.models.PREMISES_ITEMS): which items are mandatory (ADR 0012).
# domain.md §7 states every item as a requirement except "if possible in municipality-owned
# vacant premises"; accessibility is in bold. Advisory items are shown, never unmet; every other
# item of the checklist is mandatory, in the checklist's order.
ADVISORY_PREMISES: tuple[str, ...] = ("premises_municipality_owned",)
MANDATORY_PREMISES: tuple[str, ...] = tuple(
    item for item in PREMISES_ITEMS if item not in ADVISORY_PREMISES
)

# Every unmet item, in the order a result lists them.
ITEMS: dict[str, Item] = {
    item.code: item
    for item in (
        Item(
            BELOW_THRESHOLD,
            "Ο Δήμος έχει λιγότερους κατοίκους από το όριο για δικό του Κέντρο Κοινότητας.",
            "The municipality has fewer residents than the threshold for a centre of its own.",
            "units",
        ),
        Item(
            STAFF_BELOW_MINIMUM,
            "Το προσωπικό είναι λιγότερο από το ελάχιστο για τον πληθυσμό του Δήμου.",
            "The staff is below the minimum for the municipality's population.",
            "staff",
        ),
        Item(
            HEAD_MISSING,
            "Δεν υπάρχει Υπεύθυνος Κέντρου με ειδικότητα Κοινωνικού Λειτουργού.",
            "There is no head of the centre with the social worker profile.",
            "staff",
        ),
        Item(
            "premises_distinct_space",
            "Το Κέντρο δεν στεγάζεται σε αυτοτελή χώρο.",
            "The centre is not housed in a distinct space.",
            "units",
        ),
        Item(
            "premises_near_social_services",
            "Το Κέντρο δεν βρίσκεται μέσα ή κοντά στις κοινωνικές υπηρεσίες.",
            "The centre is not in or near the social services.",
            "units",
        ),
        Item(
            "premises_near_social_structures",
            "Το Κέντρο δεν βρίσκεται κοντά σε άλλες κοινωνικές δομές.",
            "The centre is not near other social structures.",
            "units",
        ),
        Item(
            "premises_reception_waiting_processing",
            "Λείπουν οι χώροι υποδοχής, αναμονής και διεκπεραίωσης.",
            "The reception, waiting and processing spaces are missing.",
            "units",
        ),
        Item(
            "premises_toilets_public_and_staff",
            "Λείπουν χώροι υγιεινής για το κοινό και το προσωπικό.",
            "Toilets for the public and the staff are missing.",
            "units",
        ),
        Item(
            "premises_accessible",
            "Δεν είναι όλοι οι χώροι προσβάσιμοι σε άτομα με αναπηρία.",
            "Not every space is accessible to people with disabilities.",
            "units",
        ),
        Item(
            REGULATION_MISSING,
            "Δεν υπάρχει σε ισχύ Κανονισμός Λειτουργίας υποβεβλημένος στο Υπουργείο.",
            "There is no operating regulation in force submitted to the ministry.",
            "regulations",
        ),
    )
}
ADVISORY_ITEMS: dict[str, Item] = {
    "premises_municipality_owned": Item(
        "premises_municipality_owned",
        "Συνιστάται, όπου είναι δυνατό, στέγαση σε κενό δημοτικό ακίνητο.",
        "Where possible, municipality-owned vacant premises are recommended.",
        "units",
    )
}
CURRENT_REGULATION = (RegulationStatus.SUBMITTED, RegulationStatus.ACKNOWLEDGED)
# pg_advisory_xact_lock(namespace, tenant): recomputations of one tenant take turns, so the
# last commit always writes a result computed from the data it can see (READ COMMITTED).
_LOCK_NAMESPACE = zlib.crc32(b"kentra.compliance") & 0x7FFFFFFF


@dataclass(frozen=True)
class CentreResult:
    centre_id: int
    centre_name: str
    status: ComplianceStatus
    unmet: tuple[str, ...]
    advisory: tuple[str, ...]
    staff_count: int
    required_staff: int
    policy_version_id: int


def today() -> date:
    """The day compliance is judged on (the same clock as the policy in force)."""
    return local_today()


# compute_centres' and recompute_tenant's statements, built once (parameters named): a
# recompute of every tenant runs them hundreds of times, and building and keying a statement
# costs about as much as its round trip.
_CURRENT_STAFF = and_(
    StaffMember.start_date <= bindparam("on"),
    or_(StaffMember.end_date.is_(None), StaffMember.end_date >= bindparam("on")),
)
_member_unit = aliased(Unit, name="member_unit")
# Every open centre with what it is judged on, in one statement: the municipality's population;
# the current staff of the centre's subtree (the centre, its open annexes and mobile units);
# whether a current head of the policy's profile is the centre's own; whether a current
# regulation of the centre is in force.
_OPEN_CENTRES = (
    select(
        Unit.id,
        Unit.centre,
        Unit.name,
        *(getattr(Unit, item) for item in PREMISES_ITEMS),
        select(Municipality.population)
        .where(Municipality.code == bindparam("code"))
        .scalar_subquery()
        .label("population"),
        select(func.count(StaffMember.id))
        .join(_member_unit, StaffMember.unit_id == _member_unit.id)
        .where(_member_unit.centre == Unit.centre, _member_unit.closed_on.is_(None), _CURRENT_STAFF)
        .scalar_subquery()
        .label("staff_count"),
        select(StaffMember.id)
        .where(
            StaffMember.unit_id == Unit.id,
            StaffMember.is_head.is_(True),
            StaffMember.profile_code == bindparam("head_profile_code"),
            _CURRENT_STAFF,
        )
        .exists()
        .label("headed"),
        select(RegulationVersion.id)
        .where(
            RegulationVersion.centre_id == Unit.id,
            RegulationVersion.status.in_(CURRENT_REGULATION),
            RegulationVersion.effective_date <= bindparam("on"),
        )
        .exists()
        .label("regulated"),
    )
    .where(Unit.kind == UnitKind.CENTRE, Unit.closed_on.is_(None))
    .order_by(Unit.id)
)
_LOCK = select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, bindparam("tenant", type_=Integer)))
_summaries = cast("Table", CentreCompliance.__table__)
_inserted = insert(_summaries)
_UPSERT = _inserted.on_conflict_do_update(
    index_elements=[_summaries.c.municipality_code, _summaries.c.centre_id],
    set_={
        name: _inserted.excluded[name]
        for name in (
            "centre_name",
            "status",
            "unmet",
            "staff_count",
            "required_staff",
            "policy_version_id",
            "computed_at",
        )
    },
)
_DELETE_OTHERS = delete(_summaries).where(
    _summaries.c.municipality_code == bindparam("code"),
    _summaries.c.centre_id.not_in(bindparam("kept", expanding=True)),
)


def compute_centres(
    session: Session, municipality_code: str, policy: PolicyVersion, on: date
) -> list[CentreResult]:
    """The compliance of every open centre of the session's tenant, in centre id order."""
    centres = session.execute(
        _OPEN_CENTRES,
        {"code": municipality_code, "on": on, "head_profile_code": policy.head_profile_code},
    ).all()
    if not centres:
        return []
    requirement = staffing_requirement(policy, centres[0].population or 0)
    results = []
    for centre in centres:
        staff_count = int(centre.staff_count)
        unmet: list[str] = []
        if not requirement.own_centre_allowed:
            unmet.append(BELOW_THRESHOLD)
        if staff_count < requirement.minimum_staff:
            unmet.append(STAFF_BELOW_MINIMUM)
        if not centre.headed:
            unmet.append(HEAD_MISSING)
        unmet += [item for item in MANDATORY_PREMISES if not getattr(centre, item)]
        if not centre.regulated:
            unmet.append(REGULATION_MISSING)
        results.append(
            CentreResult(
                centre_id=centre.id,
                centre_name=centre.name,
                status=ComplianceStatus.NON_COMPLIANT if unmet else ComplianceStatus.COMPLIANT,
                unmet=tuple(unmet),
                advisory=tuple(item for item in ADVISORY_PREMISES if not getattr(centre, item)),
                staff_count=staff_count,
                required_staff=requirement.minimum_staff,
                policy_version_id=policy.id,
            )
        )
    return results


def recompute_tenant(
    session: Session,
    municipality_code: str,
    *,
    policy: PolicyVersion | None = None,
    on: date | None = None,
) -> list[CentreResult]:
    """Recompute the tenant's centres and write them to ``shared.centre_compliance``: a row
    per open centre (inserted or updated), none for closed or removed centres. ``session``
    must be bound to the tenant ``municipality_code``. Without a policy in force nothing is
    written (there is nothing to judge against)."""
    on = on or today()
    policy = policy or stored_policy_in_force(session, on)
    if policy is None:
        return []
    session.execute(_LOCK, {"tenant": int(municipality_code)})
    results = compute_centres(session, municipality_code, policy, on)
    now = utcnow()
    if results:
        session.execute(
            _UPSERT,
            [
                {
                    "municipality_code": municipality_code,
                    "centre_id": r.centre_id,
                    "centre_name": r.centre_name,
                    "status": r.status,
                    "unmet": list(r.unmet),
                    "staff_count": r.staff_count,
                    "required_staff": r.required_staff,
                    "policy_version_id": r.policy_version_id,
                    "computed_at": now,
                }
                for r in results
            ],
        )
    session.execute(
        _DELETE_OTHERS, {"code": municipality_code, "kept": [r.centre_id for r in results]}
    )
    return results


# --- the full recompute: a fan-out of the tenant recompute (ADR 0036) -------------------------
