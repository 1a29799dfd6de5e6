"""Helpers the committing tests share (ADR 0039): counts read on a connection of their own, the
clean-up of what a test committed, a tenant kept for a whole module; and what the page tests
check a page shows."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select
from sqlalchemy.orm import InstrumentedAttribute

from kentra.auth.claims import organization_alias
from kentra.auth.issuer.models import (
    IdentityGroup,
    IdentityGroupMember,
    IdentityOrganization,
    IdentityOrganizationMember,
    IdentityUser,
    IdentityUserRole,
)
from kentra.platform.audit.models import AuditEvent
from kentra.platform.onboarding.models import OnboardingRequest
from kentra.platform.units.models import Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.provisioning import create_tenant

# The refusal of a centre to a municipality below 10,000 inhabitants (units, onboarding).
SMALL_MUNICIPALITY_TEXT = (
    "Ο Δήμος έχει λιγότερους από 10.000 κατοίκους: δεν μπορεί να έχει δικό του Κέντρο "
    "Κοινότητας· μπορεί να εξυπηρετείται από Κινητή Μονάδα γειτονικού Κέντρου."
)


def count_rows(engine: Engine, model: type[Any], *where: ColumnElement[bool]) -> int:
    """How many committed rows of ``model`` (a shared table) match ``where``."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where)) or 0


def marked_audit_rows(engine: Engine, code: MunicipalityCode, marker: str) -> int:
    """How many of ``code``'s audit rows carry ``details.marker == marker`` (ORM, committed)."""
    with tenant_session(engine, code) as session:
        query = (
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.details["marker"].astext == marker)
        )
        return int(session.scalar(query) or 0)


@contextmanager
def removed_afterwards(engine: Engine, column: InstrumentedAttribute[Any]) -> Iterator[list[Any]]:
    """A list the test adds keys to; the shared rows whose ``column`` is one of them are
    deleted when the block ends (what a committing test made)."""
    made: list[Any] = []
    try:
        yield made
    finally:
        if made:
            remove_rows(engine, column, made)


def remove_rows(engine: Engine, column: InstrumentedAttribute[Any], keys: Iterable[Any]) -> None:
    """Delete the shared rows whose ``column`` is one of ``keys`` (a fixture's clean-up)."""
    with engine.begin() as conn:
        conn.execute(delete(column.class_).where(column.in_(list(keys))))


def assert_contains_all(text: str, *fragments: str) -> None:
    """Every one of ``fragments`` stands in ``text`` (a page, a part of one, a header): the
    page tests list what a reader must find, and a failure names all that is missing at once."""
    missing = [fragment for fragment in fragments if fragment not in text]
    assert not missing, f"missing: {missing}"


def assert_labelled(page: str, *field_ids: str) -> None:
    """Each of the form fields ``field_ids`` has its ``<label for>`` on ``page`` (what a screen
    reader announces for it)."""
    assert_contains_all(page, *(f'<label for="{field_id}">' for field_id in field_ids))


def identity_account(engine: Engine, username: str) -> dict[str, Any] | None:
    """Everything an account holds at the embedded issuer (None: no such account): its
    fields, roles, organizations' aliases and groups' paths."""
    with engine.connect() as conn:
        user = conn.execute(
            select(
                IdentityUser.id,
                IdentityUser.enabled,
                IdentityUser.email,
                IdentityUser.first_name,
                IdentityUser.last_name,
                IdentityUser.profession,
                IdentityUser.region,
            ).where(IdentityUser.username == username.lower())
        ).one_or_none()
        if user is None:
            return None
        roles = select(IdentityUserRole.role).where(IdentityUserRole.user_id == user.id)
        organizations = (
            select(IdentityOrganization.alias)
            .join(IdentityOrganizationMember)
            .where(IdentityOrganizationMember.user_id == user.id)
        )
        groups = (
            select(IdentityGroup.path)
            .join(IdentityGroupMember)
            .where(IdentityGroupMember.user_id == user.id)
        )
        return {
            **user._asdict(),
            "id": str(user.id),
            "roles": set(conn.scalars(roles)),
            "organizations": set(conn.scalars(organizations)),
            "groups": set(conn.scalars(groups)),
        }


def remove_organizations(engine: Engine, *codes: str) -> None:
    """Delete the embedded issuer's organizations of ``codes`` (with their groups)."""
    aliases = [organization_alias(code) for code in codes]
    with engine.begin() as conn:
        conn.execute(delete(IdentityOrganization).where(IdentityOrganization.alias.in_(aliases)))


def request_status(engine: Engine, request_id: int) -> str:
    """The committed status of onboarding request ``request_id`` ("None": no such request)."""
    with engine.connect() as conn:
        found = conn.scalar(
            select(OnboardingRequest.status).where(OnboardingRequest.id == request_id)
        )
    return str(found)


def remove_onboarding(engine: Engine, codes: tuple[str, ...], usernames: list[str]) -> None:
    """What onboarding requests for ``codes`` left: the requests, the users they invited
    (``usernames``), the identity organizations."""
    with engine.begin() as conn:
        conn.execute(
            delete(OnboardingRequest).where(OnboardingRequest.municipality_code.in_(codes))
        )
        conn.execute(delete(IdentityUser).where(IdentityUser.username.in_(usernames)))
    remove_organizations(engine, *codes)


@contextmanager
def module_tenant(engine: Engine, code: str) -> Iterator[MunicipalityCode]:
    """A tenant provisioned for a whole module, dropped with its organization afterwards."""
    from tests.conftest import drop_tenant

    parsed = parse_municipality_code(code)
    create_tenant(engine, code, actor="test")
    try:
        yield parsed
    finally:
        drop_tenant(engine, parsed)
        remove_organizations(engine, code)


def centre_with_units(
    engine: Engine, tenant: MunicipalityCode, centre: str, other_centre: str
) -> dict[str, int]:
    """A module's units, made in ``tenant`` unless they exist, by key: the ``centre`` with an
    annex, a mobile unit and an annex closed in 2023 ("annex", "mobile", "closed"), and a
    second centre ("centre 2")."""
    layout = {
        "centre": (centre, None, UnitKind.CENTRE),
        "annex": (centre, "parartima-1", UnitKind.ANNEX),
        "mobile": (centre, "kinhth-1", UnitKind.MOBILE_UNIT),
        "closed": (centre, "parartima-2", UnitKind.ANNEX),
        "centre 2": (other_centre, None, UnitKind.CENTRE),
    }
    ids = {}
    with tenant_session(engine, tenant) as session:
        for key, (centre_segment, unit, kind) in layout.items():
            made = ensure_unit(session, centre=centre_segment, unit=unit, kind=kind, name=key)
            ids[key] = made.id
        closed = session.get(Unit, ids["closed"])
        assert closed is not None
        closed.closed_on = date(2023, 6, 30)
    return ids


def failing_step(message: str) -> Callable[[Connection, MunicipalityCode, str], None]:
    """A provisioning step that fails with ``RuntimeError(message)``."""

    def step(_conn: Connection, _code: MunicipalityCode, _actor: str) -> None:
        raise RuntimeError(message)

    return step


def csrf_token_of(client: FlaskClient, url: str, headers: dict[str, str] | None = None) -> str:
    """The CSRF token of the form on the page ``url``, read as a browser reads it (the session
    cookie the page sets stays in ``client``)."""
    page = client.get(url, headers=headers or {}).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None, f"no CSRF token on {url}"
    return html.unescape(found.group(1))
