"""Operations on units: registering a centre, adding annexes and mobile units, editing and
closing them. They flush, never commit.

Rules (domain.md §3, §7, §9; rules 1 and 4):

- a centre only for a municipality the policy in force gives a centre of its own, and at most
  one open centre per municipality;
- every annex and mobile unit belongs to exactly one open centre of the tenant (its ``centre``
  segment); a mobile unit serves municipalities of the reference list without a centre of their
  own (the tenant itself has one by definition; others have one when ``shared.centre_compliance``
  holds a row for them), within the service area of the policy in force (the centre's region)
  or under a ministry exception (kentra.platform.service_area, ADR 0018);
- each new unit gets a readable, unique group-path segment, and its group is created in the
  identity provider in the same request: if that fails, a ``DomainError`` (502) is raised
  and the request boundary rolls everything back;
- closing keeps the row (``closed_on``); a closed unit is not edited; a centre with open
  annexes or mobile units is not closed.

Creations are serialised per tenant by locking the tenant's profile row: "one open centre" and
the uniqueness of the segments hold under concurrent requests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import CHAR, column, select, table
from sqlalchemy.orm import Session

from kentra.auth.identity import IdentityAdmin
from kentra.auth.principal import UnitPath
from kentra.platform.audit.api import record_change
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import LazyString
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.municipalities.api import TenantProfile
from kentra.platform.onboarding.api import (
    BodyType,
    OnboardingRequest,
    RequestStatus,
    ineligibility_reason,
    own_centre_threshold,
)
from kentra.platform.policy.api import policy_in_force, staffing_requirement
from kentra.platform.reference.api import Municipality, fold
from kentra.platform.service_area.api import beyond_area, outside_area_message
from kentra.platform.units.events import UnitChanged
from kentra.platform.units.models import (
    PREMISES_ITEMS,
    AnnexReason,
    Unit,
    UnitKind,
    UnitServedMunicipality,
)
from kentra.tasks.events import publish

# Messages: Greek, then English (web pages show the Greek part).
# Refusals (DomainError): Greek, translated when shown; the English catalogue has them.
NO_REFERENCE_CENTRE = _l(
    "Μια μονάδα χρειάζεται Κέντρο αναφοράς: το Παράρτημα ή η Κινητή Μονάδα ανήκει σε ένα "
    "ανοιχτό Κέντρο Κοινότητας του Δήμου."
)
CENTRE_EXISTS = _l("Ο Δήμος έχει ήδη ανοιχτό Κέντρο Κοινότητας· κάθε Δήμος έχει ένα.")
UNIT_CLOSED = _l("Η μονάδα έχει κλείσει και δεν αλλάζει πια.")
CENTRE_HAS_OPEN_UNITS = _l(
    "Το Κέντρο έχει ανοιχτά Παραρτήματα ή Κινητές Μονάδες: κλείστε τα πρώτα."
)
CLOSED_BEFORE_OPENING = _l(
    "Η ημερομηνία κλεισίματος δεν μπορεί να είναι πριν από την ημερομηνία λειτουργίας."
)
IDENTITY_FAILED = _l(
    "Η ομάδα της μονάδας δεν δημιουργήθηκε στην υπηρεσία ταυτότητας, οπότε δεν αποθηκεύτηκε "
    "τίποτα. Δοκιμάστε ξανά σε λίγο."
)
REQUIRED_BODY = _l("Το πεδίο είναι υποχρεωτικό.")
NOT_FOR_KIND = _l("Το πεδίο δεν αφορά αυτό το είδος μονάδας.")
NO_SERVED_MUNICIPALITY = _l("Επιλέξτε τουλάχιστον έναν Δήμο που εξυπηρετεί η Κινητή Μονάδα.")
NO_SUCH_MUNICIPALITY = _l("Δεν υπάρχει Δήμος με κωδικό %(code)s.")
SERVED_HAS_CENTRE = _l(
    "Ο %(name)s (%(code)s) έχει δικό του Κέντρο Κοινότητας· Κινητή Μονάδα εξυπηρετεί μόνο "
    "Δήμους χωρίς Κέντρο."
)

# Fields each kind of unit has (besides ``name``), for creation and editing.
CENTRE_FIELDS: tuple[str, ...] = (
    "street_address",
    "postal_code",
    "opening_date",
    "focus_groups",
    "body_type",
    "body_legal_name",
    "body_vat",
    *PREMISES_ITEMS,
)
ANNEX_FIELDS: tuple[str, ...] = ("annex_reason", "street_address", "postal_code", "opening_date")
MOBILE_UNIT_FIELDS: tuple[str, ...] = ("served_municipalities", "opening_date")
FIELDS_OF_KIND: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.CENTRE: ("name", *CENTRE_FIELDS),
    UnitKind.ANNEX: ("name", *ANNEX_FIELDS),
    UnitKind.MOBILE_UNIT: ("name", *MOBILE_UNIT_FIELDS),
}
# Segment prefixes of the group paths: Κέντρο Κοινότητας, Παράρτημα, Κινητή Μονάδα.
SEGMENT_PREFIX: dict[UnitKind, str] = {
    UnitKind.CENTRE: "kk",
    UnitKind.ANNEX: "parartima",
    UnitKind.MOBILE_UNIT: "kinhth",
}
# Words of a name that only repeat the prefix (folded Greek).
_REDUNDANT_WORDS: dict[UnitKind, tuple[str, ...]] = {
    UnitKind.CENTRE: ("κεντρο κοινοτητας",),
    UnitKind.ANNEX: ("παραρτημα κεντρου κοινοτητας", "παραρτημα"),
    UnitKind.MOBILE_UNIT: ("κινητη μοναδα",),
}
SEGMENT_MAX = 63
SERVED = "served_municipalities"


# --- reading what the rules need ----------------------------------------------------------------


def own_centre_refusal(session: Session, municipality_code: str) -> LazyString | None:
    """Why the municipality may not have a centre of its own (translated when shown), or None."""
    municipality = session.get(Municipality, municipality_code)
    policy = policy_in_force(session)
    if municipality is None or policy is None:
        raise RuntimeError("no staffing policy is in force, or the municipality is unknown")
    if staffing_requirement(policy, municipality.population).own_centre_allowed:
        return None
    return ineligibility_reason(own_centre_threshold(policy))


def body_defaults(session: Session, municipality_code: str) -> dict[str, str]:
    """The implementing body of the municipality's approved onboarding request (the latest),
    as defaults of a centre's body fields; empty without one."""
    found = session.scalars(
        select(OnboardingRequest)
        .where(
            OnboardingRequest.municipality_code == municipality_code,
            OnboardingRequest.status == RequestStatus.APPROVED,
        )
        .order_by(OnboardingRequest.id.desc())
        .limit(1)
    ).one_or_none()
    if found is None:
        return {}
    return {
        "body_type": found.body_type.value,
        "body_legal_name": found.body_legal_name,
        "body_vat": found.body_vat,
    }


def open_centre(session: Session) -> Unit | None:
    return session.scalars(
        select(Unit)
        .where(Unit.kind == UnitKind.CENTRE, Unit.closed_on.is_(None))
        .order_by(Unit.id)
        .limit(1)
    ).one_or_none()


# The shared compliance summary (one row per open centre of every municipality), read as a
# table clause of the one column units needs: compliance sits above units in the module order
# and is not imported (ADR 0043; tests/test_layers.py holds the clause equal to the model).
CENTRE_COMPLIANCE = table(
    "centre_compliance", column("municipality_code", CHAR(4)), schema="shared"
)


def municipalities_with_centre(session: Session) -> set[str]:
    """Codes of the municipalities with an open centre (the shared compliance summary)."""
    code = CENTRE_COMPLIANCE.c.municipality_code
    return set(session.scalars(select(code).distinct()))


# --- segments -------------------------------------------------------------------------------

_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψω",
        # α β γ δ ε ζ η θ ι κ λ μ ν ξ ο π ρ σ ς τ υ φ χ ψ ω (ELOT 743, simplified)
        [
            "a",
            "v",
            "g",
            "d",
            "e",
            "z",
            "i",
            "th",
            "i",
            "k",
            "l",
            "m",
            "n",
            "x",
            "o",
            "p",
            "r",
            "s",
            "s",
            "t",
            "y",
            "f",
            "ch",
            "ps",
            "o",
        ],
        strict=True,
    )
)
_DIGRAPHS = {"ου": "ou", "μπ": "b", "ντ": "nt", "γγ": "ng", "γκ": "gk", "αι": "ai", "ει": "ei"}


def transliterate(text: str) -> str:
    """Lower-case Latin letters, digits and hyphens for a Greek (or Latin) text."""
    folded = fold(text)
    for greek, latin in _DIGRAPHS.items():
        folded = folded.replace(greek, latin)
    latin = "".join(_GREEK.get(ch, ch) for ch in folded)
    return re.sub(r"[^a-z0-9]+", "-", latin).strip("-")


def segment_base(kind: UnitKind, name: str) -> str:
    """``<prefix>-<transliterated name>`` without the words that only repeat the prefix."""
    folded = fold(name)
    for words in map(fold, _REDUNDANT_WORDS[kind]):
        if folded.startswith(words):
            folded = folded[len(words) :]
            break
    tail = transliterate(folded)
    base = f"{SEGMENT_PREFIX[kind]}-{tail}" if tail else SEGMENT_PREFIX[kind]
    # Room for a numeric suffix ("-999"); never end on a hyphen.
    return base[: SEGMENT_MAX - 4].rstrip("-")


def _free_segment(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def _centre_segment(session: Session, name: str) -> str:
    taken = set(session.scalars(select(Unit.centre).distinct()))
    return _free_segment(segment_base(UnitKind.CENTRE, name), taken)


def _unit_segment(session: Session, centre: Unit, kind: UnitKind, name: str) -> str:
    taken = set(
        session.scalars(
            select(Unit.unit).where(Unit.centre == centre.centre, Unit.unit.is_not(None))
        )
    )
    return _free_segment(segment_base(kind, name), {t for t in taken if t is not None})


# --- creating ---------------------------------------------------------------------------------


def _lock_tenant(session: Session) -> None:
    """Serialise creations in this tenant (one open centre; unique segments)."""
    session.scalars(select(TenantProfile.municipality_code).with_for_update()).all()


def _create_group(identity: IdentityAdmin, path: UnitPath, name: str) -> None:
    try:
        identity.ensure_unit_group(path, name)
    except Exception as exc:  # any failure of the provider: HTTP, database, ...
        raise DomainError("units.identity_failed", 502, IDENTITY_FAILED) from exc


def _save_new(
    session: Session,
    municipality_code: str,
    unit: Unit,
    *,
    action: str,
    actor: str,
    identity: IdentityAdmin,
    **details: Any,
) -> Unit:
    """Save a new unit, audit it (``details``: ids only), and create its group in the identity
    provider; a provider failure rolls the request back (see the module docstring)."""
    session.add(unit)
    session.flush()
    record_change(
        session, UnitChanged(unit.id), actor=actor, action=action, details=details or None
    )
    _create_group(identity, UnitPath(municipality_code, unit.centre, unit.unit), unit.name)
    return unit


def register_centre(
    session: Session,
    municipality_code: str,
    data: Mapping[str, Any],
    *,
    actor: str,
    identity: IdentityAdmin,
) -> Unit:
    """Register the municipality's centre (validated by ``CentreCreateSchema``).

    Body fields left out are taken from the approved onboarding request. Refused (422) for a
    municipality too small for a centre of its own, (409) when it has an open centre."""
    refusal = own_centre_refusal(session, municipality_code)
    if refusal is not None:
        raise DomainError("units.no_centre_of_its_own", 422, refusal, field="municipality")
    values = {**body_defaults(session, municipality_code), **data}
    for name in ("body_type", "body_legal_name", "body_vat"):
        if not values.get(name):
            raise DomainError("units.body_required", 422, REQUIRED_BODY, field=name)
    _lock_tenant(session)
    if open_centre(session) is not None:
        raise DomainError("units.centre_exists", 409, CENTRE_EXISTS)
    centre = Unit(
        kind=UnitKind.CENTRE,
        centre=_centre_segment(session, values["name"]),
        unit=None,
        name=values["name"],
        street_address=values["street_address"],
        postal_code=values["postal_code"],
        opening_date=values["opening_date"],
        focus_groups=list(values.get("focus_groups", [])),
        body_type=BodyType(values["body_type"]),
        body_legal_name=values["body_legal_name"],
        body_vat=values["body_vat"],
        **{item: bool(values.get(item, False)) for item in PREMISES_ITEMS},
    )
    return _save_new(
        session,
        municipality_code,
        centre,
        action="unit.centre_registered",
        actor=actor,
        identity=identity,
    )


def _reference_centre(session: Session, centre_id: int) -> Unit:
    centre = session.get(Unit, centre_id)
    if centre is None or centre.kind != UnitKind.CENTRE or not centre.is_open:
        raise DomainError("units.no_reference_centre", 422, NO_REFERENCE_CENTRE, field="centre")
    return centre


def add_to_centre(
    session: Session,
    municipality_code: str,
    centre_id: int,
    kind: UnitKind,
    data: Mapping[str, Any],
    *,
    actor: str,
    identity: IdentityAdmin,
) -> Unit:
    """Add an annex (validated by ``AnnexCreateSchema``) or a mobile unit
    (``MobileUnitCreateSchema``) to the open centre ``centre_id``: its segment under the
    centre, its name and opening date, and the fields of its ``kind``, checked after the
    centre is (a refusal names the centre first); saved as :func:`_save_new`."""
    own_fields = _KIND_FIELDS[kind]  # a centre is registered (register_centre), not added
    _lock_tenant(session)
    centre = _reference_centre(session, centre_id)
    fields = own_fields(session, municipality_code, data)
    unit = Unit(
        kind=kind,
        centre=centre.centre,
        unit=_unit_segment(session, centre, kind, data["name"]),
        name=data["name"],
        opening_date=data.get("opening_date"),
        **fields,
    )
    return _save_new(
        session,
        municipality_code,
        unit,
        action=f"unit.{kind.value}_added",
        actor=actor,
        identity=identity,
        centre_id=centre.id,
    )


def _annex_fields(
    session: Session, municipality_code: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "annex_reason": AnnexReason(data["annex_reason"]),
        "street_address": data["street_address"],
        "postal_code": data["postal_code"],
    }


def _mobile_unit_fields(
    session: Session, municipality_code: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    codes = check_served(session, municipality_code, data["served_municipalities"])
    return {"served_municipalities": [UnitServedMunicipality(municipality_code=c) for c in codes]}


# What an annex and a mobile unit hold beyond what every unit does.
_KIND_FIELDS: dict[UnitKind, Callable[[Session, str, Mapping[str, Any]], dict[str, Any]]] = {
    UnitKind.ANNEX: _annex_fields,
    UnitKind.MOBILE_UNIT: _mobile_unit_fields,
}


def check_served(session: Session, municipality_code: str, codes: Sequence[str]) -> list[str]:
    """The served municipalities, each once, by code; refused (422, naming the municipality)
    when one does not exist, has a centre of its own, or lies beyond the service area of the
    policy in force without a ministry exception (ADR 0018). The whole list is checked each
    time it is set, so an edit re-checks municipalities a unit served before a rule changed."""
    unique = sorted(set(codes))
    if not unique:
        raise DomainError("units.no_served_municipality", 422, NO_SERVED_MUNICIPALITY, field=SERVED)
    with_centre = municipalities_with_centre(session) | {municipality_code}
    found: list[Municipality] = []
    for code in unique:
        municipality = session.get(Municipality, code)
        if municipality is None:
            raise DomainError(
                "units.no_such_municipality", 422, NO_SUCH_MUNICIPALITY, field=SERVED, code=code
            )
        if code in with_centre:
            raise DomainError(
                "units.served_has_centre",
                422,
                SERVED_HAS_CENTRE,
                field=SERVED,
                name=municipality.name_el,
                code=code,
            )
        found.append(municipality)
    beyond = beyond_area(session, municipality_code, found)
    if beyond:
        raise DomainError(
            "units.served_outside_area",
            422,
            outside_area_message(session, beyond[0]),
            field=SERVED,
        )
    return unique


# --- changing ---------------------------------------------------------------------------------


def _converted(name: str, value: Any) -> Any:
    if name == "body_type":
        return BodyType(value)
    if name == "annex_reason":
        return AnnexReason(value)
    if name == "focus_groups":
        return list(value)
    return value


def update_unit(
    session: Session,
    municipality_code: str,
    unit: Unit,
    data: Mapping[str, Any],
    *,
    actor: str,
    identity: IdentityAdmin | None = None,
) -> Unit:
    """Change the given fields of an open unit (``UnitUpdateSchema``); the group path stays,
    and a new name is given to the unit's identity group too (through ``identity``; a provider
    failure is a 502 and nothing is saved)."""
    if not unit.is_open:
        raise DomainError("units.closed", 409, UNIT_CLOSED)
    allowed = FIELDS_OF_KIND[unit.kind]
    for name in data:
        if name not in allowed:
            raise DomainError("units.field_not_for_kind", 422, NOT_FOR_KIND, field=name)
    changed = []
    for name, sent in data.items():
        if name == "served_municipalities":
            served = check_served(session, municipality_code, sent)
            if served != [s.municipality_code for s in unit.served_municipalities]:
                unit.served_municipalities = [
                    UnitServedMunicipality(municipality_code=c) for c in served
                ]
                changed.append(name)
            continue
        value = _converted(name, sent)
        if getattr(unit, name) != value:
            setattr(unit, name, value)
            changed.append(name)
    if not changed:
        return unit
    fields = {"fields": sorted(changed)}
    record_change(session, UnitChanged(unit.id), actor=actor, action="unit.updated", details=fields)
    if "name" in changed and identity is not None:
        _create_group(identity, UnitPath(municipality_code, unit.centre, unit.unit), unit.name)
    return unit


def close_unit(session: Session, unit: Unit, closed_on: date, *, actor: str) -> Unit:
    """Close an open unit on ``closed_on``; its row and history stay. A centre closes after
    its annexes and mobile units."""
    if not unit.is_open:
        raise DomainError("units.closed", 409, UNIT_CLOSED)
    if unit.opening_date is not None and closed_on < unit.opening_date:
        raise DomainError(
            "units.closed_before_opening", 422, CLOSED_BEFORE_OPENING, field="closed_on"
        )
    if unit.kind == UnitKind.CENTRE:
        open_units = session.scalar(
            select(Unit.id)
            .where(Unit.centre == unit.centre, Unit.unit.is_not(None), Unit.closed_on.is_(None))
            .limit(1)
        )
        if open_units is not None:
            raise DomainError("units.centre_has_open_units", 409, CENTRE_HAS_OPEN_UNITS)
    unit.closed_on = closed_on
    record_change(session, UnitChanged(unit.id), actor=actor, action="unit.closed")
    return unit


def ensure_unit(
    session: Session, *, centre: str, unit: str | None, kind: UnitKind, name: str
) -> Unit:
    """The unit at ``centre[/unit]``, created if missing (idempotent; demo data and tests)."""
    found = session.scalars(
        select(Unit).where(Unit.centre == centre, Unit.unit.is_not_distinct_from(unit))
    ).one_or_none()
    if found is not None:
        return found
    created = Unit(centre=centre, unit=unit, kind=kind, name=name)
    session.add(created)
    session.flush()
    publish(session, UnitChanged(created.id))
    return created
