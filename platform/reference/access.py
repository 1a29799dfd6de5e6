"""Loaders of reference data. Reference data is public: any reader, a visitor who has not
signed in included; they take the reader for the one shape of every loader (ADR 0041)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kentra.auth.principal import PublicReader
from kentra.platform.core.i18n import lazy_gettext
from kentra.platform.core.paging import DEFAULT_PER_PAGE, Page, page_of
from kentra.platform.policy.api import access_policy_in_force, staffing_requirement
from kentra.platform.reference.models import Municipality, RegionalUnit
from kentra.platform.reference.text import fold

# What a module says when a municipality code names none of the 332 (onboarding's request,
# a service-area exception): one message, translated when shown.
NO_SUCH_MUNICIPALITY = lazy_gettext("Δεν υπάρχει Δήμος με αυτόν τον κωδικό.")


def _municipalities(
    region: str | None, regional_unit: str | None, q: str | None
) -> Select[Municipality]:
    query = select(Municipality).join(Municipality.regional_unit).order_by(Municipality.code)
    if region is not None:
        query = query.where(RegionalUnit.region_code == region)
    if regional_unit is not None:
        query = query.where(Municipality.regional_unit_code == regional_unit)
    if q is not None:
        query = query.where(Municipality.search_text.contains(fold(q), autoescape=True))
    return query


def search_municipalities(
    session: Session,
    reader: PublicReader,
    *,
    region: str | None = None,
    regional_unit: str | None = None,
    q: str | None = None,
) -> Sequence[Municipality]:
    return session.scalars(_municipalities(region, regional_unit, q)).unique().all()


# The list's order (by code, unique) as its cursors name it (ADR 0040).
MUNICIPALITIES_ORDER = "code"


def search_municipalities_page(
    session: Session,
    reader: PublicReader,
    *,
    cursor: str | None = None,
    per_page: int = DEFAULT_PER_PAGE,
    region: str | None = None,
    regional_unit: str | None = None,
    q: str | None = None,
) -> Page[Municipality]:
    """A page of :func:`search_municipalities`, by code (keyset paging, ADR 0040)."""
    query = _municipalities(region, regional_unit, q)
    page = page_of(session, query, cursor=cursor, order=MUNICIPALITIES_ORDER, per_page=per_page)
    return Page([row[0] for row in page.items], page.next_cursor, page.previous_cursor)


def access_municipality_by_code(
    session: Session, reader: PublicReader, code: str
) -> Municipality | None:
    return session.get(Municipality, code)


def with_staffing(
    session: Session, reader: PublicReader, municipalities: Sequence[Municipality]
) -> list[Municipality]:
    """Attach each municipality's staffing band under the policy in force (one policy query)."""
    policy = access_policy_in_force(session, reader)
    for municipality in municipalities:
        if policy is None:
            municipality.staffing = None  # type: ignore[attr-defined]
            continue
        requirement = staffing_requirement(policy, municipality.population)
        municipality.staffing = {  # type: ignore[attr-defined]
            "policy_version": policy.id,
            "minimum_staff": requirement.minimum_staff,
            "own_centre_allowed": requirement.own_centre_allowed,
        }
    return list(municipalities)
