"""Registering a person in the Beneficiaries Registry, and correcting their record.

The fields' own rules (an ΑΜΚΑ's check digit, a telephone number, lengths) are the schema's;
here, what needs the database or several fields at once: the unit is one the user works in
and open, the date of birth is not in the future and agrees with the ΑΜΚΑ, the municipality
of residence exists, and no person already holds one of the identifiers. Every refusal names
its field, so a form keeps everything else that was typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader
from kentra.platform.audit.api import record_change
from kentra.platform.beneficiaries.access import access_likely_matches
from kentra.platform.beneficiaries.events import BeneficiaryChanged
from kentra.platform.beneficiaries.identifiers import check_amka_against_birth
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.beneficiaries.names import match_key, to_latin
from kentra.platform.core.errors import DomainError
from kentra.platform.core.i18n import lazy_gettext as _l
from kentra.platform.core.models import local_today, utcnow
from kentra.platform.reference.api import NO_SUCH_MUNICIPALITY, access_municipality_by_code
from kentra.platform.units.api import access_unit_workspace_by_id

REGISTER_ACTION = "beneficiaries.register"
UPDATE_ACTION = "beneficiaries.update"
RESTRICT_ACTION = "beneficiaries.restrict"
LIFT_ACTION = "beneficiaries.lift_restriction"
# The fields a registrar types, and may correct later (the schemas' names, the columns').
FIELDS = (
    "unit_id",
    "given_name",
    "family_name",
    "father_name",
    "mother_name",
    "given_name_latin",
    "family_name_latin",
    "born_on",
    "birth_year",
    "sex",
    "nationality",
    "interpreter_needed",
    "residence_municipality_code",
    "address",
    "phone",
    "email",
    "amka",
    "vat",
    "document_type",
    "document_number",
)

# Refusals (DomainError): Greek, translated when shown.
NOT_YOUR_UNIT = _l("Καταγράφετε ωφελούμενους μόνο σε ανοιχτή μονάδα όπου εργάζεστε.")
BORN_IN_THE_FUTURE = _l("Η ημερομηνία γέννησης δεν μπορεί να είναι μελλοντική.")
YEAR_NOT_OF_BIRTH_DATE = _l("Το έτος γέννησης δεν συμφωνεί με την ημερομηνία γέννησης.")
DOCUMENT_WITHOUT_TYPE = _l("Επιλέξτε το είδος του εγγράφου για τον αριθμό του.")
RESTRICTED = _l(
    "Η επεξεργασία των στοιχείων του προσώπου έχει περιοριστεί (ΓΚΠΔ, άρθρο 18): ο φάκελος "
    "δεν αλλάζει μέχρι να αρθεί ο περιορισμός."
)
ALREADY_RESTRICTED = _l("Η επεξεργασία των στοιχείων του προσώπου έχει ήδη περιοριστεί.")
NOT_RESTRICTED = _l("Η επεξεργασία των στοιχείων του προσώπου δεν είναι περιορισμένη.")
ALREADY_REGISTERED = _l(
    "Το στοιχείο «%(identifier)s» ανήκει ήδη σε καταγεγραμμένο ωφελούμενο: αναζητήστε τον "
    "αντί να τον καταγράψετε ξανά."
)
LIKELY_DUPLICATE = _l(
    "Βρέθηκαν %(count)s πιθανώς ίδια πρόσωπα (ίδιο έτος γέννησης, παρόμοιο όνομα): ανοίξτε "
    "ένα από αυτά, ή καταγράψτε το νέο πρόσωπο γράφοντας γιατί δεν είναι το ίδιο."
)
# The identifiers, as the refusal names them (translated when shown).
_IDENTIFIERS = {
    "amka": _l("ΑΜΚΑ"),
    "vat": _l("ΑΦΜ"),
    "document_number": _l("έγγραφο ταυτότητας"),
}


def _birth(data: Mapping[str, Any], today: date) -> tuple[date | None, int | None]:
    """The date of birth and its year (the year alone when only the year is known)."""
    born_on: date | None = data.get("born_on")
    birth_year: int | None = data.get("birth_year")
    if born_on is None:
        if birth_year is not None and birth_year > today.year:
            raise DomainError(
                "beneficiaries.born_in_the_future", 422, BORN_IN_THE_FUTURE, field="birth_year"
            )
        return None, birth_year
    if born_on > today:
        raise DomainError(
            "beneficiaries.born_in_the_future", 422, BORN_IN_THE_FUTURE, field="born_on"
        )
    if birth_year is not None and birth_year != born_on.year:
        raise DomainError(
            "beneficiaries.year_not_of_birth_date", 422, YEAR_NOT_OF_BIRTH_DATE, field="birth_year"
        )
    return born_on, born_on.year


def _holder_of_an_identifier(
    session: Session, columns: Mapping[str, Any], person_id: int | None = None
) -> str | None:
    """The field of the first identifier in ``columns`` that another person already holds."""
    checks = {
        "amka": Beneficiary.amka == columns["amka"] if columns["amka"] else None,
        "vat": Beneficiary.vat == columns["vat"] if columns["vat"] else None,
        "document_number": (
            (Beneficiary.document_type == columns["document_type"])
            & (Beneficiary.document_number == columns["document_number"])
            if columns["document_number"]
            else None
        ),
    }
    for field, condition in checks.items():
        if condition is None:
            continue
        query = select(Beneficiary.id).where(condition)
        if person_id is not None:
            query = query.where(Beneficiary.id != person_id)
        if session.scalar(query) is not None:
            return field
    return None


def _already_registered(field: str) -> DomainError:
    return DomainError(
        "beneficiaries.already_registered",
        409,
        ALREADY_REGISTERED,
        field=field,
        identifier=_IDENTIFIERS[field],
    )


def _not_a_likely_duplicate(
    session: Session,
    principal: Reader,
    municipality_code: str,
    data: Mapping[str, Any],
    *,
    birth_year: int,
) -> dict[str, Any]:
    """Refuse a person who is likely one the registrar can already see (same year of birth,
    names alike), unless the registrar says why they are not; what the audit keeps of it."""
    likely = access_likely_matches(
        session,
        principal,
        municipality_code=municipality_code,
        given_name=data["given_name"],
        family_name=data["family_name"],
        birth_year=birth_year,
    )
    if not likely:
        return {}
    reason = data.get("duplicate_reason")
    if not reason:
        raise DomainError(
            "beneficiaries.likely_duplicate",
            409,
            LIKELY_DUPLICATE,
            field="duplicate_reason",
            count=len(likely),
        )
    return {"likely_duplicates": [match.person.id for match in likely], "duplicate_reason": reason}


def name_key_of(*names: str | None) -> str:
    """The words of every name given, in either script, folded (``names.match_key``)."""
    words = {word for name in names if name for word in match_key(name).split()}
    return " ".join(sorted(words))


def _columns(
    session: Session,
    principal: Reader,
    municipality_code: str,
    state: Mapping[str, Any],
    *,
    today: date,
    unit_changes: bool,
) -> dict[str, Any]:
    """The person's columns from ``state`` (every field as it will be), checked as the module
    says, with the year of birth, the Latin names (ELOT 743's unless typed) and the matching
    key worked out. The unit is checked when it is chosen (registered, or moved)."""
    if unit_changes:
        unit = access_unit_workspace_by_id(session, principal, municipality_code, state["unit_id"])
        if unit is None or not unit.is_open:
            raise DomainError("beneficiaries.not_your_unit", 422, NOT_YOUR_UNIT, field="unit_id")
    born_on, birth_year = _birth(state, today)
    if state.get("amka"):
        check_amka_against_birth(state["amka"], born_on=born_on, birth_year=birth_year)
    residence = state.get("residence_municipality_code")
    if residence and access_municipality_by_code(session, principal, residence) is None:
        raise DomainError(
            "beneficiaries.no_such_municipality",
            422,
            NO_SUCH_MUNICIPALITY,
            field="residence_municipality_code",
        )
    columns = {name: state.get(name) for name in FIELDS}
    columns["given_name_latin"] = state.get("given_name_latin") or to_latin(state["given_name"])
    columns["family_name_latin"] = state.get("family_name_latin") or to_latin(state["family_name"])
    columns["name_key"] = name_key_of(
        state["given_name"],
        state["family_name"],
        columns["given_name_latin"],
        columns["family_name_latin"],
    )
    columns["born_on"], columns["birth_year"] = born_on, birth_year
    columns["interpreter_needed"] = bool(state.get("interpreter_needed"))
    if not state.get("document_number"):
        columns["document_type"] = None
    elif not state.get("document_type"):
        raise DomainError(
            "beneficiaries.document_without_type", 422, DOCUMENT_WITHOUT_TYPE, field="document_type"
        )
    return columns


def _written(session: Session, person: Beneficiary, columns: Mapping[str, Any]) -> None:
    """``person`` with ``columns``, refused if another person holds one of its identifiers,
    flushed; one that another request gave someone meanwhile is the same 409."""
    holder = _holder_of_an_identifier(session, columns, person.id)
    if holder is not None:
        raise _already_registered(holder)
    try:
        with session.begin_nested():  # the change inside it: a refused one leaves the rest
            for name, value in columns.items():
                setattr(person, name, value)
            session.add(person)
    except IntegrityError as error:
        raced = _holder_of_an_identifier(session, columns, person.id)
        if raced is None:
            raise
        raise _already_registered(raced) from error


def register_beneficiary(
    session: Session,
    principal: Reader,
    municipality_code: str,
    data: Mapping[str, Any],
    *,
    today: date | None = None,
) -> Beneficiary:
    """Register a person in one of ``principal``'s open units (see the module); audited, flushed,
    never committed. The names in Latin script are ELOT 743's unless typed."""
    today = today or local_today()
    columns = _columns(session, principal, municipality_code, data, today=today, unit_changes=True)
    # Before the likely-duplicate check: an identifier already held is the surer answer.
    holder = _holder_of_an_identifier(session, columns)
    if holder is not None:
        raise _already_registered(holder)
    details: dict[str, Any] = {"unit_id": columns["unit_id"]}
    if columns["birth_year"] is not None:
        details |= _not_a_likely_duplicate(
            session, principal, municipality_code, data, birth_year=columns["birth_year"]
        )
    person = Beneficiary(registered_on=today)
    _written(session, person, columns)
    record_change(
        session,
        BeneficiaryChanged(person.id),
        actor=principal.actor,
        action=REGISTER_ACTION,
        details=details,
    )
    return person


def update_beneficiary(
    session: Session,
    principal: Reader,
    municipality_code: str,
    person: Beneficiary,
    changes: Mapping[str, Any],
    *,
    today: date | None = None,
) -> Beneficiary:
    """Correct a person's record (rectification, GDPR Art. 16): ``changes`` checked as a
    registration is, with the other fields as they are; the caller has checked the version
    the change was made on. A Greek name changed without its Latin one gets ELOT 743's again;
    a date of birth changed brings its year. Audited by the names of the fields changed, never
    their values; flushed, never committed."""
    if person.restricted_at is not None:
        raise DomainError("beneficiaries.restricted", 409, RESTRICTED)
    current = {name: getattr(person, name) for name in FIELDS}
    state = {**current, **changes}
    for greek, latin in (("given_name", "given_name_latin"), ("family_name", "family_name_latin")):
        if latin not in changes and changes.get(greek, current[greek]) != current[greek]:
            state[latin] = None
    if "born_on" in changes and "birth_year" not in changes:
        state["birth_year"] = None
    columns = _columns(
        session,
        principal,
        municipality_code,
        state,
        today=today or local_today(),
        unit_changes=state["unit_id"] != current["unit_id"],
    )
    changed = sorted(name for name in FIELDS if columns[name] != current[name])
    if not changed:
        return person
    _written(session, person, columns)
    record_change(
        session,
        BeneficiaryChanged(person.id),
        actor=principal.actor,
        action=UPDATE_ACTION,
        details={"fields": changed, "unit_id": person.unit_id},
    )
    return person


def restrict_beneficiary(
    session: Session, principal: Reader, person: Beneficiary, reason: str
) -> Beneficiary:
    """Restrict the processing of a person's data (GDPR Art. 18) for ``reason`` (e.g. the
    accuracy they contest, while it is checked): the record is kept and read by its id only;
    it is not changed, listed, searched or matched until the restriction is lifted. The reason
    stays with the record, not in the audit trail."""
    if person.restricted_at is not None:
        raise DomainError("beneficiaries.already_restricted", 409, ALREADY_RESTRICTED)
    person.restricted_at, person.restriction_reason = utcnow(), reason
    session.flush()
    record_change(
        session, BeneficiaryChanged(person.id), actor=principal.actor, action=RESTRICT_ACTION
    )
    return person


def lift_restriction(session: Session, principal: Reader, person: Beneficiary) -> Beneficiary:
    """Lift the restriction of a person's data: their record is processed again."""
    if person.restricted_at is None:
        raise DomainError("beneficiaries.not_restricted", 409, NOT_RESTRICTED)
    person.restricted_at, person.restriction_reason = None, None
    session.flush()
    record_change(session, BeneficiaryChanged(person.id), actor=principal.actor, action=LIFT_ACTION)
    return person
