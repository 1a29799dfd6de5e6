"""Loaders of reference data. Reference data is public: any reader, a visitor who has not
signed in included; they take the reader for the one shape of every loader (ADR 0041)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from kentra.auth.principal import PublicReader
from kentra.platform.policy.access import access_policy_in_force
from kentra.platform.policy.operations import staffing_requirement
from kentra.platform.reference.models import Municipality, RegionalUnit
from kentra.platform.reference.text import fold


def search_municipalities(
    session: Session,
    reader: PublicReader,
    *,
    region: str | None = None,
    regional_unit: str | None = None,
    q: str | None = None,
) -> Sequence[Municipality]:
    query = select(Municipality).join(Municipality.regional_unit).order_by(Municipality.code)
    if region is not None:
        query = query.where(RegionalUnit.region_code == region)
    if regional_unit is not None:
        query = query.where(Municipality.regional_unit_code == regional_unit)
    if q is not None:
        query = query.where(Municipality.search_text.contains(fold(q), autoescape=True))
    return session.scalars(query).unique().all()


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
