"""Policy operations and the staffing rule. They flush, never commit."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.platform.policy.models import PolicyVersion, ProfessionalProfile, StaffingBand

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


class PolicyError(ValueError):
    """A policy that cannot be applied; the message says why."""


@dataclass(frozen=True)
class StaffingRequirement:
    minimum_staff: int  # 0: no centre of its own

    @property
    def own_centre_allowed(self) -> bool:
        return self.minimum_staff > 0


def check_bands(bands: Sequence[tuple[int, int | None, int]]) -> None:
    """Bands must start at 0, follow each other without gap or overlap, and end open."""
    ordered = sorted(bands)
    if not ordered or ordered[0][0] != 0:
        raise PolicyError("the first band must start at population 0")
    for (_low, high, _staff), (next_low, _h, _s) in itertools.pairwise(ordered):
        if high is None or next_low != high + 1:
            raise PolicyError(
                f"bands must follow each other without gap or overlap (at {next_low})"
            )
    if ordered[-1][1] is not None:
        raise PolicyError("the last band must be open-ended")


def ensure_initial_policy(session: Session, *, actor: str = "system") -> PolicyVersion | None:
    """Seed the programme's policy if no version exists yet; returns it when created."""
    if session.scalar(select(PolicyVersion.id).limit(1)) is not None:
        return None
    check_bands(INITIAL_BANDS)
    version = PolicyVersion(
        valid_from=INITIAL_VALID_FROM,
        note="Programme text (Community Centres presentation, §6)",
        head_profile_code="social_worker",
        created_by=actor,
        bands=[
            StaffingBand(min_population=lo, max_population=hi, minimum_staff=n)
            for lo, hi, n in INITIAL_BANDS
        ],
        profiles=[
            ProfessionalProfile(code=code, name_el=el, name_en=en, mandatory=mandatory)
            for code, el, en, mandatory in INITIAL_PROFILES
        ],
    )
    session.add(version)
    session.flush()
    return version


def staffing_requirement(policy: PolicyVersion, population: int) -> StaffingRequirement:
    """The minimum staff for a municipality of ``population`` under ``policy``."""
    for band in policy.bands:
        if population >= band.min_population and (
            band.max_population is None or population <= band.max_population
        ):
            return StaffingRequirement(band.minimum_staff)
    raise PolicyError(f"policy {policy.id} has no band for population {population}")
