"""Loaders of the Beneficiaries Registry.

Who sees a person is decided by the unit that registered them: staff see the people of the
units they belong to, a centre head those of the centre, its annexes and mobile units
(``Principal.reaches_unit``); system work sees everyone. "Absent" and "out of reach" are the
same ``None``, so the API answers 404 to both. Oversight roles (the municipality admin,
supervisors, regions, the ministry) hold no ``unit:`` permission and never reach these.

Every read of a person and every search is access to personal data: each is written to the
tenant's audit trail here, in the caller's transaction, as the reader's (ids, the search's
terms and its count; a search's terms are kept only there, never logged).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rapidfuzz import fuzz
from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from kentra.auth.principal import Reader, SystemPrincipal
from kentra.platform.api.fields import e164
from kentra.platform.audit.api import access_accesses_to, record_tenant_event
from kentra.platform.beneficiaries.events import BeneficiaryChanged
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.beneficiaries.names import match_key
from kentra.platform.core.models import utcnow
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.units.api import Unit, unit_path

READ_ACTION = "beneficiaries.read"
SEARCH_ACTION = "beneficiaries.search"
MATCH_ACTION = "beneficiaries.match"
ACCESS_REPORT_ACTION = "beneficiaries.access_report"
# How alike two names must be (rapidfuzz's token_sort_ratio of their keys, 0-100) for two
# people born the same year to be "likely the same": "Γιώργος"/"Georgios" score 92, "Νίκος"
# and "Γιώργος" of one family 83.
LIKELY_SIMILARITY = 85
LIKELY_AT_MOST = 10
# The registry's order (newest registration first) as its cursors name it (ADR 0040).
NEWEST_FIRST = "newest"
_DIGITS = re.compile(r"[0-9]+")
# People whose processing is not restricted (GDPR Art. 18): only they are listed, searched and
# matched; a restricted person is read by their id alone.
_processed = Beneficiary.restricted_at.is_(None)
_SEPARATORS = re.compile(r"[\s.\-/()]+")


def reachable_unit_ids(session: Session, reader: Reader, municipality_code: str) -> set[int] | None:
    """The units whose people the reader may see; None for system work (all of them)."""
    if isinstance(reader, SystemPrincipal):
        return None
    return {
        unit.id
        for unit in session.scalars(select(Unit))
        if reader.reaches_unit(unit_path(municipality_code, unit))
    }


def _audit_access(
    session: Session,
    reader: Reader,
    action: str,
    people: Sequence[Beneficiary],
    *,
    terms: str | None = None,
    one: bool = False,
) -> None:
    """A read, search or match of people, as the reader's: their ids and count, the terms of
    a search, and the person's id when one was read."""
    details: dict[str, object] = {"beneficiary_ids": [p.id for p in people], "count": len(people)}
    if terms is not None:
        details["terms"] = terms
    record_tenant_event(
        session,
        actor=reader.actor,
        action=action,
        object_type=BeneficiaryChanged.object_type,
        object_id=str(people[0].id) if one else None,
        details=details,
    )


def _matching(terms: str) -> Select[Beneficiary]:
    """People matching one search box: an ΑΜΚΑ (11 digits), an ΑΦΜ (9), a telephone number, a
    document number, or names in either script (every word, in any order, accents, case and
    Greeklish spellings folded as ``names.match_key`` folds them)."""
    query = select(Beneficiary)
    compact = _SEPARATORS.sub("", terms)
    if _DIGITS.fullmatch(compact) and len(compact) == 11:
        return query.where(Beneficiary.amka == compact)
    if _DIGITS.fullmatch(compact) and len(compact) == 9:
        return query.where(Beneficiary.vat == compact)
    phone = e164(terms)
    if phone is not None:
        return query.where(Beneficiary.phone == phone)
    words = match_key(terms).split()
    by_document = Beneficiary.document_number == compact.upper()
    if not words:
        return query.where(by_document)
    by_name = [Beneficiary.name_key.contains(word, autoescape=True) for word in words]
    return query.where(or_(by_document, and_(*by_name)))


def access_beneficiaries_page(
    session: Session,
    reader: Reader,
    *,
    municipality_code: str,
    terms: str | None = None,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[Beneficiary]:
    """A page of the people the reader may see, newest registration first, those matching
    ``terms`` when given (see ``_matching``); audited as a search (terms and count) or as a
    read of the page's people."""
    query = (_matching(terms) if terms else select(Beneficiary)).where(_processed)
    reachable = reachable_unit_ids(session, reader, municipality_code)
    if reachable is not None:
        query = query.where(Beneficiary.unit_id.in_(reachable))
    query = query.order_by(Beneficiary.id.desc())
    page = page_of(session, query, cursor=cursor, order=NEWEST_FIRST, per_page=per_page)
    people: list[Beneficiary] = [row[0] for row in page.items]
    _audit_access(session, reader, SEARCH_ACTION if terms else READ_ACTION, people, terms=terms)
    return Page(people, page.next_cursor, page.previous_cursor)


def access_beneficiary_by_id(
    session: Session, reader: Reader, beneficiary_id: int, *, municipality_code: str
) -> Beneficiary | None:
    """One person the reader may see, or None (absent and out of reach alike); a found
    person's read is audited as the reader's."""
    found = session.get(Beneficiary, beneficiary_id)
    reachable = reachable_unit_ids(session, reader, municipality_code)
    if found is None or (reachable is not None and found.unit_id not in reachable):
        return None
    _audit_access(session, reader, READ_ACTION, [found], one=True)
    return found


def access_beneficiary_for_change(
    session: Session, reader: Reader, beneficiary_id: int, *, municipality_code: str
) -> Beneficiary | None:
    """One person the reader may correct, locked until the transaction ends (corrections
    queue), or None (absent and out of reach alike). Not a read of its own: the change is
    audited."""
    found = session.get(Beneficiary, beneficiary_id, with_for_update=True, populate_existing=True)
    reachable = reachable_unit_ids(session, reader, municipality_code)
    if found is None or (reachable is not None and found.unit_id not in reachable):
        return None
    return found


@dataclass(frozen=True)
class LikelyMatch:
    person: Beneficiary
    similarity: int  # 0-100


def _similarity(key: str, person: Beneficiary) -> float:
    """How alike ``key`` is to the person's names, in whichever script is closer."""
    greek = match_key(f"{person.given_name} {person.family_name}")
    latin = match_key(f"{person.given_name_latin} {person.family_name_latin}")
    return max(fuzz.token_sort_ratio(key, greek), fuzz.token_sort_ratio(key, latin))


def access_likely_matches(
    session: Session,
    reader: Reader,
    *,
    municipality_code: str,
    given_name: str,
    family_name: str,
    birth_year: int,
) -> list[LikelyMatch]:
    """The people the reader may see who are likely the person described: born the same year,
    with names alike (see ``LIKELY_SIMILARITY``), the most alike first; audited as a search
    (the names and the year as its terms)."""
    query = select(Beneficiary).where(Beneficiary.birth_year == birth_year, _processed)
    reachable = reachable_unit_ids(session, reader, municipality_code)
    if reachable is not None:
        query = query.where(Beneficiary.unit_id.in_(reachable))
    key = match_key(f"{given_name} {family_name}")
    scored = ((_similarity(key, person), person) for person in session.scalars(query))
    likely = sorted(
        (
            LikelyMatch(person, round(score))
            for score, person in scored
            if score >= LIKELY_SIMILARITY
        ),
        key=lambda match: (-match.similarity, -match.person.id),
    )[:LIKELY_AT_MOST]
    people = [match.person for match in likely]
    _audit_access(
        session, reader, MATCH_ACTION, people, terms=f"{given_name} {family_name} {birth_year}"
    )
    return likely


@dataclass(frozen=True)
class Access:
    at: datetime
    actor: str
    action: str


@dataclass(frozen=True)
class AccessReport:
    """What the registry holds about a person and who accessed it (GDPR Art. 15)."""

    person: Beneficiary
    accesses: list[Access]
    produced_at: datetime


def access_report(
    session: Session, reader: Reader, beneficiary_id: int, *, municipality_code: str
) -> AccessReport | None:
    """A person's record with every write, read, list and search that showed it (when, by
    whom, what), for their right of access; None for a person out of the reader's reach.
    Producing it is audited, so the next report shows it too."""
    person = session.get(Beneficiary, beneficiary_id)
    reachable = reachable_unit_ids(session, reader, municipality_code)
    if person is None or (reachable is not None and person.unit_id not in reachable):
        return None
    accesses = [
        Access(row.occurred_at, row.actor, row.action)
        for row in access_accesses_to(
            session,
            reader,
            object_type=BeneficiaryChanged.object_type,
            object_id=person.id,
            ids_key="beneficiary_ids",
        )
    ]
    _audit_access(session, reader, ACCESS_REPORT_ACTION, [person], one=True)
    return AccessReport(person, accesses, utcnow())
