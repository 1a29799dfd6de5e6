"""Policy operations and the staffing rule. They flush, never commit."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import local_today
from kentra.platform.policy.models import (
    PolicyVersion,
    ProfessionalProfile,
    ServiceArea,
    StaffingBand,
)

if TYPE_CHECKING:
    from kentra.platform.policy.recompute import RecomputeJob

# domain.md §6 and rule 1: under 10,000 → no centre of its own; 10,000–40,000 → 2;
# 40,001–100,000 → 3; over 100,000 → 4 (minimums).
INITIAL_BANDS: tuple[tuple[int, int | None, int], ...] = (
    (0, 9_999, 0),
    (10_000, 40_000, 2),
    (40_001, 100_000, 3),
    (100_001, None, 4),
)
INITIAL_PROFILES: tuple[tuple[str, str, str, bool], ...] = (
    ("social_worker", "Κοινωνικός Λειτουργός", "Social worker", True),
    ("psychologist", "Ψυχολόγος / Σχολικός Ψυχολόγος", "Psychologist / school psychologist", False),
    ("social_scientist", "Πτυχιούχος Κοινωνικών Επιστημών", "Social sciences graduate", False),
    ("health_visitor_or_nurse", "Επισκέπτης Υγείας ή Νοσηλευτής", "Health visitor or nurse", False),
    (
        "economist",
        "Πτυχιούχος Οικονομικών ή Διοίκησης Επιχειρήσεων",
        "Economics or business graduate",
        False,
    ),
    (
        "learning_support",
        "Πτυχιούχος για Ενισχυτική Διδασκαλία",
        "Learning-support graduate",
        False,
    ),
    (
        "mediator",
        "Διαμεσολαβητής για Ρομά ή Ευάλωτες Ομάδες",
        "Mediator for Roma or vulnerable groups",
        False,
    ),
)
INITIAL_VALID_FROM = date(2019, 1, 1)


@dataclass(frozen=True)
class StaffingRequirement:
    minimum_staff: int  # 0: no centre of its own

    @property
    def own_centre_allowed(self) -> bool:
        return self.minimum_staff > 0


def _in_force(*columns: Any) -> Select[Any]:
    """The rule, once: the version in force on the day ``on`` is the one with the latest
    ``valid_from`` on or before it."""
    return (
        select(*columns)
        .where(PolicyVersion.valid_from <= bindparam("on"))
        .order_by(PolicyVersion.valid_from.desc())
        .limit(1)
    )


_IN_FORCE = _in_force(PolicyVersion)
# A version's key: its id with its created_at, which no other database's version shares (a
# test process and a bench process each meet several databases).
_IN_FORCE_KEY = _in_force(PolicyVersion.id, PolicyVersion.created_at)
# Versions are never edited once stored (a change is a new version), so a version read once,
# with its bands and profiles, serves every later read of this process. A handful of versions
# a year: the cache is not bounded.
_stored: dict[tuple[int, datetime], PolicyVersion] = {}


def policy_in_force(session: Session, on: date | None = None) -> PolicyVersion | None:
    """The version in force on ``on`` (default: today): for operations, which read what they
    change under; readers use ``access_policy_in_force``."""
    return session.scalars(_IN_FORCE, {"on": on or local_today()}).one_or_none()


def stored_policy_in_force(session: Session, on: date) -> PolicyVersion | None:
    """The version in force on ``on``, read once per version by this process and given
    detached, fully loaded (not one of ``session``'s objects): for a recompute of every tenant,
    which would otherwise load the same version, bands and profiles once per tenant."""
    found = session.execute(_IN_FORCE_KEY, {"on": on}).one_or_none()
    if found is None:
        return None
    key = (found.id, found.created_at)
    policy = _stored.get(key)
    if policy is None:
        # A session of its own on the caller's connection (its transaction, not its objects):
        # closing it detaches the version with its bands and profiles loaded (selectin).
        with Session(bind=session.connection()) as loader:
            policy = loader.get_one(PolicyVersion, found.id)
        _stored[key] = policy
    return policy


def check_bands(bands: Sequence[tuple[int, int | None, int]]) -> None:
    """Bands must start at 0, follow each other without gap or overlap, and end open."""
    ordered = sorted(bands)
    if not ordered or ordered[0][0] != 0:
        raise ValueError("the first band must start at population 0")
    for (_low, high, _staff), (next_low, _h, _s) in itertools.pairwise(ordered):
        if high is None or next_low != high + 1:
            raise ValueError(f"bands must follow each other without gap or overlap (at {next_low})")
    if ordered[-1][1] is not None:
        raise ValueError("the last band must be open-ended")


def ensure_initial_policy(session: Session, *, actor: str = "system") -> PolicyVersion | None:
    """Seed the programme's policy if no version exists yet; returns it when created."""
    if session.scalar(select(PolicyVersion.id).limit(1)) is not None:
        return None
    # Stored as the ministry's new versions are (and checked alike), as of the day it took
    # effect: the history starts with it, so it is not retroactive.
    return create_policy_version(
        session,
        valid_from=INITIAL_VALID_FROM,
        note="Programme text (Community Centres presentation, §6)",
        head_profile_code="social_worker",
        bands=INITIAL_BANDS,
        profiles=INITIAL_PROFILES,
        actor=actor,
        today=INITIAL_VALID_FROM,
    )


def staffing_requirement(policy: PolicyVersion, population: int) -> StaffingRequirement:
    """The minimum staff for a municipality of ``population`` under ``policy``."""
    for band in policy.bands:
        if population >= band.min_population and (
            band.max_population is None or population <= band.max_population
        ):
            return StaffingRequirement(band.minimum_staff)
    raise ValueError(f"policy {policy.id} has no band for population {population}")


# --- new versions, edited by the ministry (issue 4, item 5) ---------------------------------


# Refusals (DomainError): Greek, translated when shown.
BAND_ENDS_BELOW_START = _l("Η ζώνη από %(low)s έχει ανώτατο πληθυσμό μικρότερο από τον κατώτατο.")
FIRST_BAND_NOT_ZERO = _l("Η πρώτη ζώνη πρέπει να ξεκινά από πληθυσμό 0.")
BANDS_OVERLAP = _l("Οι ζώνες από %(low)s και από %(next_low)s επικαλύπτονται.")
BANDS_GAP = _l("Κενό στις ζώνες: κανένας πληθυσμός από %(start)s έως %(end)s.")
LAST_BAND_CLOSED = _l("Η τελευταία ζώνη πρέπει να είναι ανοιχτή (χωρίς ανώτατο πληθυσμό).")
NO_PROFILE = _l("Χρειάζεται τουλάχιστον μία ειδικότητα.")
PROFILE_TWICE = _l("Η ειδικότητα %(code)s εμφανίζεται δύο φορές.")
HEAD_PROFILE_UNKNOWN = _l(
    "Η ειδικότητα του Υπευθύνου Κέντρου πρέπει να είναι μία από τις ειδικότητες."
)
RETROACTIVE = _l(
    "Η νέα έκδοση ισχύει από σήμερα ή από μελλοντική ημερομηνία· το ιστορικό δεν αλλάζει "
    "αναδρομικά."
)
VALID_FROM_TAKEN = _l("Υπάρχει ήδη έκδοση της πολιτικής που ισχύει από %(date)s.")


def validate_bands(bands: Sequence[tuple[int, int | None, int]]) -> None:
    """:func:`check_bands`, refusing with a message for people that names the band."""
    ordered = sorted(bands, key=lambda band: band[0])
    for low, high, _staff in ordered:
        if high is not None and high < low:
            raise DomainError(
                "policy.band_ends_below_start", 422, BAND_ENDS_BELOW_START, field="bands", low=low
            )
    if not ordered or ordered[0][0] != 0:
        raise DomainError("policy.first_band_not_zero", 422, FIRST_BAND_NOT_ZERO, field="bands")
    for (low, high, _s), (next_low, _h, _n) in itertools.pairwise(ordered):
        if high is None or next_low <= high:
            raise DomainError(
                "policy.bands_overlap",
                422,
                BANDS_OVERLAP,
                field="bands",
                low=low,
                next_low=next_low,
            )
        if next_low != high + 1:
            raise DomainError(
                "policy.bands_gap", 422, BANDS_GAP, field="bands", start=high + 1, end=next_low - 1
            )
    if ordered[-1][1] is not None:
        raise DomainError("policy.last_band_closed", 422, LAST_BAND_CLOSED, field="bands")
    check_bands(bands)  # the rule's own statement: the two must agree


def create_policy_version(
    session: Session,
    *,
    valid_from: date,
    note: str,
    head_profile_code: str,
    bands: Sequence[tuple[int, int | None, int]],
    profiles: Sequence[tuple[str, str, str, bool]],
    actor: str,
    today: date,
    mobile_unit_area: ServiceArea = ServiceArea.REGION,
) -> PolicyVersion:
    """A new version of the policy, from ``valid_from`` (today or later: the history is never
    rewritten, and old versions are never edited). Flushes; the caller recomputes."""
    validate_bands(bands)
    codes = [code for code, _el, _en, _m in profiles]
    if not codes:
        raise DomainError("policy.no_profile", 422, NO_PROFILE, field="profiles")
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise DomainError(
            "policy.profile_twice", 422, PROFILE_TWICE, field="profiles", code=duplicates[0]
        )
    if head_profile_code not in codes:
        raise DomainError(
            "policy.head_profile_unknown", 422, HEAD_PROFILE_UNKNOWN, field="head_profile_code"
        )
    if valid_from < today:
        raise DomainError("policy.retroactive", 422, RETROACTIVE, field="valid_from")
    taken = session.scalar(select(PolicyVersion.id).where(PolicyVersion.valid_from == valid_from))
    if taken is not None:
        raise DomainError(
            "policy.valid_from_taken",
            409,
            VALID_FROM_TAKEN,
            field="valid_from",
            date=f"{valid_from:%d/%m/%Y}",
        )
    version = PolicyVersion(
        valid_from=valid_from,
        note=note,
        head_profile_code=head_profile_code,
        mobile_unit_area=mobile_unit_area,
        created_by=actor,
        bands=[
            StaffingBand(min_population=low, max_population=high, minimum_staff=staff)
            for low, high, staff in sorted(bands, key=lambda band: band[0])
        ],
        profiles=[
            ProfessionalProfile(code=code, name_el=el, name_en=en, mandatory=mandatory)
            for code, el, en, mandatory in profiles
        ],
    )
    session.add(version)
    session.flush()
    return version


def publish_policy_version(
    session: Session, data: Mapping[str, Any], *, actor: str, today: date
) -> tuple[PolicyVersion, RecomputeJob]:
    """Record a new version (``data`` as loaded by ``PolicyVersionCreateSchema``), queue the
    recompute of every centre and send its task once the transaction commits; audited by id.
    A version that does not state the mobile units' area keeps the one it follows."""
    from kentra.platform.audit.api import record_platform_event  # noqa: PLC0415
    from kentra.platform.policy.recompute import create_recompute_job  # noqa: PLC0415

    area = data.get("mobile_unit_area")
    if area is None:
        previous = policy_in_force(session, data["valid_from"])
        area = previous.mobile_unit_area if previous is not None else ServiceArea.REGION
    version = create_policy_version(
        session,
        valid_from=data["valid_from"],
        note=data["note"],
        head_profile_code=data["head_profile_code"],
        bands=[
            (b["min_population"], b["max_population"], b["minimum_staff"]) for b in data["bands"]
        ],
        profiles=[
            (p["code"], p["name_el"], p["name_en"], p.get("mandatory", False))
            for p in data["profiles"]
        ],
        actor=actor,
        today=today,
        mobile_unit_area=ServiceArea(area),
    )
    job = create_recompute_job(session, policy_version_id=version.id, actor=actor)
    record_platform_event(
        session,
        actor=actor,
        action="policy.version_created",
        details={"policy_version_id": version.id, "recompute_job_id": job.id},
    )
    return version, job
