"""Supervision, derived (domain.md §10): the rule, supervisors' reach, the API and the
ministry's page on unknown seats.

Municipalities used here and nowhere else (South Aegean, EL42): regional unit 69 (Ρόδου, seat
6901 Ρόδος in the reference data) with 6901, 6902 (Μεγίστη), 6903 (Σύμη); regional unit 60
(Θήρας, seat 6001) with 6001; regional unit 63 (Κέας-Κύθνου, seat unknown) with 6301 (Κέα)
and 6302 (Κύθνος). Scratch tenants, seat decisions and their audit rows are removed after
each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from kentra.auth.permissions import Permission
from kentra.auth.principal import Principal, SystemPrincipal
from kentra.auth.roles import ROLE_REACH, Reach, Role
from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.core.errors import DomainError
from kentra.platform.supervision.access import (
    BASIS_TEXT,
    access_supervised,
    access_supervision,
    access_unknown_seats,
)
from kentra.platform.supervision.models import RegionalUnitSeatDecision
from kentra.platform.supervision.operations import (
    SEAT_DECIDED,
    Basis,
    set_regional_unit_seat,
    supervised_municipality_codes,
    supervisor_of,
)
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.models import Tenant
from tests.helpers import csrf_token_of
from tests.tokens import TokenFactory

SEAT, NO_SERVICE, OWN_SERVICE = "6901", "6902", "6903"  # regional unit 69, seat 6901
OTHER_UNIT = "6001"  # regional unit 60 (seat 6001)
UNKNOWN_SEAT_UNIT, KEA, KYTHNOS = "63", "6301", "6302"
CODES = (SEAT, NO_SERVICE, OWN_SERVICE, OTHER_UNIT, KEA, KYTHNOS)
SUPERVISORS = [Role.SUPERVISOR_OPERATIONAL, Role.SUPERVISOR_ADMINISTRATIVE]
NOT_FOUND = "There is no municipality with this code on the platform."
PAGE = "/ministry/supervision"

READER = SystemPrincipal(reason="tests")


@pytest.fixture
def tenants(engine: Engine, scratch_tenants: Callable[..., list[MunicipalityCode]]) -> None:
    """The six tenants: 6901 and 6903 state a Social Service, 6902, 6001, 6301 and 6302 none."""
    scratch_tenants(*CODES)
    with engine.begin() as conn:
        for code, has in (
            (SEAT, True),
            (NO_SERVICE, False),
            (OWN_SERVICE, True),
            (OTHER_UNIT, False),
            (KEA, False),
            (KYTHNOS, False),
        ):
            conn.execute(update(Tenant).where(Tenant.code == code).values(has_social_service=has))


@pytest.fixture(autouse=True)
def clean(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(
            delete(RegionalUnitSeatDecision).where(
                RegionalUnitSeatDecision.regional_unit_code == UNKNOWN_SEAT_UNIT
            )
        )
        conn.execute(delete(PlatformAuditEvent).where(PlatformAuditEvent.action == SEAT_DECIDED))


def headers(tokens: TokenFactory, role: Role, municipality: str | None = None) -> dict[str, str]:
    return tokens.headers(role, municipality=municipality)


def ministry(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.MINISTRY_OFFICER)


def decide(engine: Engine, unit: str, seat: str, note: str = "ΦΕΚ Β' 1/2025") -> None:
    with Session(engine) as session, session.begin():
        set_regional_unit_seat(session, unit, seat, note=note, actor="test")


# --- the rule ---------------------------------------------------------------------------------


def test_a_municipality_with_a_social_service_supervises_itself(
    engine: Engine, tenants: None
) -> None:
    with Session(engine) as session:
        assert supervisor_of(session, SEAT) == SEAT
        assert supervisor_of(session, OWN_SERVICE) == OWN_SERVICE
        found = access_supervision(session, READER, OWN_SERVICE)
    assert found is not None
    assert (found.supervisor_code, found.supervisor_name_el, found.basis) == (
        OWN_SERVICE,
        "Δήμος Σύμης",
        Basis.OWN_SOCIAL_SERVICE,
    )


def test_one_without_is_supervised_by_its_regional_units_seat(
    engine: Engine, tenants: None
) -> None:
    with Session(engine) as session:
        found = access_supervision(session, READER, NO_SERVICE)
        assert supervisor_of(session, OTHER_UNIT) == OTHER_UNIT  # the seat itself, no service
    assert found is not None
    assert (found.municipality_name_el, found.supervisor_code, found.basis) == (
        "Δήμος Μεγίστης",
        SEAT,
        Basis.REGIONAL_UNIT_SEAT,
    )
    assert found.supervisor_name_el == "Δήμος Ρόδου"


def test_an_unknown_seat_is_not_determined_until_the_ministry_decides(
    engine: Engine, tenants: None
) -> None:
    with Session(engine) as session:
        found = access_supervision(session, READER, KEA)
    assert found is not None
    assert (found.supervisor_code, found.supervisor_name_el, found.basis) == (
        None,
        None,
        Basis.NOT_DETERMINED,
    )
    decide(engine, UNKNOWN_SEAT_UNIT, KYTHNOS)
    with Session(engine) as session:
        found = access_supervision(session, READER, KEA)
        assert supervised_municipality_codes(session, KYTHNOS) == [KEA, KYTHNOS]
    assert found is not None
    assert (found.supervisor_code, found.supervisor_name_el, found.basis) == (
        KYTHNOS,
        "Δήμος Κύθνου",
        Basis.MINISTRY_DECISION,
    )


def test_a_social_service_not_stated_is_not_determined(engine: Engine, tenants: None) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(Tenant).where(Tenant.code == NO_SERVICE).values(has_social_service=None)
        )
    with Session(engine) as session:
        found = access_supervision(session, READER, NO_SERVICE)
        assert access_supervision(session, READER, "9999") is None
    assert found is not None
    assert found.basis is Basis.NOT_DETERMINED
    assert str(BASIS_TEXT[found.basis]) == "Δεν έχει οριστεί"


def test_a_seat_decision_is_refused_for_a_known_seat_a_foreign_seat_and_no_note(
    engine: Engine,
) -> None:
    refusals = [
        ("69", SEAT, "x y z", ("supervision.seat_known", 409, None)),
        (
            UNKNOWN_SEAT_UNIT,
            SEAT,
            "x y z",
            ("supervision.seat_outside_unit", 422, "seat_municipality_code"),
        ),
        (
            UNKNOWN_SEAT_UNIT,
            "9999",
            "x y z",
            ("supervision.seat_outside_unit", 422, "seat_municipality_code"),
        ),
        (UNKNOWN_SEAT_UNIT, KEA, "  ", ("supervision.note_required", 422, "note")),
        ("99", KEA, "x y z", ("supervision.no_such_regional_unit", 404, None)),
    ]
    with Session(engine) as session:
        for unit, seat, note, expected in refusals:
            with pytest.raises(DomainError) as refused:
                set_regional_unit_seat(session, unit, seat, note=note, actor="t")
            assert (refused.value.code, refused.value.status, refused.value.field) == expected
        assert session.scalar(select(RegionalUnitSeatDecision.seat_municipality_code)) is None


# --- supervisors' reach -----------------------------------------------------------------------


def test_supervisors_reach_their_own_and_the_supervised_municipalities() -> None:
    assert {ROLE_REACH[role] for role in SUPERVISORS} == {Reach.SUPERVISION}
    supervisor = Principal.from_claims(
        TokenFactory(issuer="x").claims(Role.SUPERVISOR_OPERATIONAL, municipality=SEAT)
    )
    assert supervisor.may_enter(SEAT, "EL42", SEAT)  # its own, supervising itself
    assert supervisor.may_enter(SEAT, "EL42", None)  # its own, whoever supervises it
    assert supervisor.may_enter(NO_SERVICE, "EL42", SEAT)
    assert not supervisor.may_enter(OWN_SERVICE, "EL42", OWN_SERVICE)
    assert not supervisor.may_enter(OTHER_UNIT, "EL42", OTHER_UNIT)
    assert not supervisor.may_enter(KEA, "EL42", None)  # not determined: nobody's
    assert supervisor.allows(Permission.TENANT_COMPLIANCE_READ, NO_SERVICE, "EL42", SEAT)
    assert not supervisor.allows(Permission.TENANT_STAFF_READ, NO_SERVICE, "EL42", SEAT)
    # Without an organization a supervisor reaches nothing; other roles never by supervision.
    nobody = Principal.from_claims(TokenFactory(issuer="x").claims(Role.SUPERVISOR_OPERATIONAL))
    assert not nobody.may_enter(SEAT, "EL42", None)
    admin = Principal.from_claims(
        TokenFactory(issuer="x").claims(Role.MUNICIPALITY_ADMIN, municipality=SEAT)
    )
    assert not admin.may_enter(NO_SERVICE, "EL42", SEAT)


@pytest.mark.parametrize("role", SUPERVISORS)
def test_a_seats_supervisor_enters_the_unit_municipalities_without_a_social_service(
    client: FlaskClient, tokens: TokenFactory, tenants: None, role: Role
) -> None:
    auth = headers(tokens, role, SEAT)
    assert client.get(f"/api/v1/municipalities/{SEAT}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/municipalities/{NO_SERVICE}", headers=auth).status_code == 200
    assert (
        client.get(f"/api/v1/municipalities/{NO_SERVICE}/supervision", headers=auth).get_json()[
            "supervisor_code"
        ]
        == SEAT
    )
    # Not one with its own Social Service, nor one of another regional unit: both absent.
    for code in (OWN_SERVICE, OTHER_UNIT):
        response = client.get(f"/api/v1/municipalities/{code}", headers=auth)
        assert response.status_code == 404
        assert response.get_json()["detail"] == NOT_FOUND
    # Reached, but people's records are not there for them (supervisors hold no unit:
    # permission): 404, as for a municipality they do not reach.
    workspace = client.get(f"/api/v1/municipalities/{NO_SERVICE}/units/1/workspace", headers=auth)
    assert workspace.status_code == 404
    assert workspace.get_json()["detail"] == NOT_FOUND


def test_a_municipality_admin_of_the_seat_does_not_enter_the_supervised(
    client: FlaskClient, tokens: TokenFactory, tenants: None
) -> None:
    auth = headers(tokens, Role.MUNICIPALITY_ADMIN, SEAT)
    assert client.get(f"/api/v1/municipalities/{NO_SERVICE}", headers=auth).status_code == 404


def test_a_ministry_decision_gives_the_decided_seat_its_reach(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, tenants: None
) -> None:
    auth = headers(tokens, Role.SUPERVISOR_ADMINISTRATIVE, KYTHNOS)
    assert client.get(f"/api/v1/municipalities/{KEA}", headers=auth).status_code == 404
    decide(engine, UNKNOWN_SEAT_UNIT, KYTHNOS)
    assert client.get(f"/api/v1/municipalities/{KEA}", headers=auth).status_code == 200


def test_the_supervised_list(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, tenants: None
) -> None:
    url = "/api/v1/supervision/supervised"
    response = client.get(url, headers=headers(tokens, Role.SUPERVISOR_OPERATIONAL, SEAT))
    assert response.status_code == 200
    assert [(m["municipality_code"], m["basis"]) for m in response.get_json()] == [
        (SEAT, "own_social_service"),
        (NO_SERVICE, "regional_unit_seat"),
    ]
    # National and regional roles have their own overviews: nothing is supervised by them.
    assert client.get(url, headers=ministry(tokens)).get_json() == []
    with Session(engine) as session:
        assert access_supervised(session, READER, None) == []
    for role in (Role.MUNICIPALITY_ADMIN, Role.CENTRE_HEAD, Role.STAFF, Role.PLATFORM_OPERATOR):
        assert client.get(url, headers=headers(tokens, role, SEAT)).status_code == 403


# --- the API ----------------------------------------------------------------------------------


def test_supervision_of_a_municipality_is_read_by_whoever_reaches_it(
    client: FlaskClient, tokens: TokenFactory, tenants: None
) -> None:
    url = f"/api/v1/municipalities/{NO_SERVICE}/supervision"
    response = client.get(url, headers=headers(tokens, Role.STAFF, NO_SERVICE))
    assert response.status_code == 200
    assert response.get_json() == {
        "municipality_code": NO_SERVICE,
        "municipality_name_el": "Δήμος Μεγίστης",
        "supervisor_code": SEAT,
        "supervisor_name_el": "Δήμος Ρόδου",
        "basis": "regional_unit_seat",
    }
    # Another municipality's staff: the same 404 as a municipality not on the platform.
    other = client.get(url, headers=headers(tokens, Role.STAFF, OWN_SERVICE))
    assert other.status_code == 404
    assert other.get_json()["detail"] == NOT_FOUND
    kea = client.get(f"/api/v1/municipalities/{KEA}/supervision", headers=ministry(tokens))
    assert kea.get_json()["basis"] == "not_determined"
    assert kea.get_json()["supervisor_code"] is None


def test_the_unknown_seats_are_listed_for_the_ministry_only(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    url = "/api/v1/supervision/seats"
    response = client.get(url, headers=ministry(tokens))
    assert response.status_code == 200
    units = {u["regional_unit_code"]: u for u in response.get_json()}
    assert sorted(units) == ["25", "52", "63"]
    assert units["63"]["decision"] is None
    assert units["63"]["municipalities"] == [
        {"code": KEA, "name_el": "Δήμος Κέας"},
        {"code": KYTHNOS, "name_el": "Δήμος Κύθνου"},
    ]
    decide(engine, UNKNOWN_SEAT_UNIT, KEA, note="Απόφαση του Υπουργείου")
    decision = client.get(url, headers=ministry(tokens)).get_json()[2]["decision"]
    assert decision["seat_municipality_code"] == KEA
    assert decision["seat_name_el"] == "Δήμος Κέας"
    assert decision["note"] == "Απόφαση του Υπουργείου"
    for role in Role:
        if role is not Role.MINISTRY_OFFICER:
            assert client.get(url, headers=headers(tokens, role, SEAT)).status_code == 403


def seat_events(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PlatformAuditEvent.actor, PlatformAuditEvent.details)
            .where(PlatformAuditEvent.action == SEAT_DECIDED)
            .order_by(PlatformAuditEvent.id)
        )
        return [(r.actor, r.details) for r in rows]


def test_the_ministry_sets_an_unknown_seat_audited(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    url = f"/api/v1/supervision/seats/{UNKNOWN_SEAT_UNIT}"
    claims = tokens.claims(Role.MINISTRY_OFFICER)
    auth = {"Authorization": f"Bearer {tokens.sign(claims)}"}
    response = client.put(url, headers=auth, json={"seat_municipality_code": KEA, "note": "Α.Π. 1"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["decision"]["seat_municipality_code"] == KEA
    assert response.get_json()["decision"]["decided_by"] == claims["sub"]
    # A correction replaces the decision; both are audited, by codes only.
    again = client.put(
        url, headers=auth, json={"seat_municipality_code": KYTHNOS, "note": "Α.Π. 2"}
    )
    assert again.get_json()["decision"]["seat_municipality_code"] == KYTHNOS
    assert seat_events(engine) == [
        (
            claims["sub"],
            {
                "regional_unit_code": "63",
                "seat_municipality_code": KEA,
                "previous_seat_municipality_code": None,
            },
        ),
        (
            claims["sub"],
            {
                "regional_unit_code": "63",
                "seat_municipality_code": KYTHNOS,
                "previous_seat_municipality_code": KEA,
            },
        ),
    ]


@pytest.mark.parametrize(
    ("unit", "body", "status", "field"),
    [
        ("69", {"seat_municipality_code": SEAT, "note": "Α.Π. 1"}, 409, None),
        ("63", {"seat_municipality_code": SEAT, "note": "Α.Π. 1"}, 422, "seat_municipality_code"),
        ("63", {"seat_municipality_code": KEA}, 422, "note"),
        ("63", {"seat_municipality_code": "63", "note": "Α.Π. 1"}, 422, "seat_municipality_code"),
        ("99", {"seat_municipality_code": KEA, "note": "Α.Π. 1"}, 404, None),
    ],
)
def test_a_seat_is_refused_with_a_reason(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    unit: str,
    body: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    response = client.put(f"/api/v1/supervision/seats/{unit}", headers=ministry(tokens), json=body)
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    if field:
        assert field in response.get_json()["errors"]["json"]
    if status == 409:
        assert response.get_json()["detail"].startswith("Η έδρα αυτής της Περιφερειακής")
    assert seat_events(engine) == []
    with Session(engine) as session:
        assert all(u.decision is None for u in access_unknown_seats(session, READER))


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.MINISTRY_OFFICER])
def test_only_the_ministry_sets_seats(
    client: FlaskClient, tokens: TokenFactory, role: Role
) -> None:
    response = client.put(
        f"/api/v1/supervision/seats/{UNKNOWN_SEAT_UNIT}",
        headers=headers(tokens, role, SEAT),
        json={"seat_municipality_code": KEA, "note": "Α.Π. 1"},
    )
    assert response.status_code == 403


# --- the ministry's page ----------------------------------------------------------------------


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient, auth: dict[str, str]) -> str:
    return csrf_token_of(client, PAGE, auth)


def post_seat(client: FlaskClient, auth: dict[str, str], seat: str, note: str) -> TestResponse:
    """The page's form for regional unit 63, sent with its CSRF token."""
    data = {
        "regional_unit_code": "63",
        "seat_municipality_code": seat,
        "note": note,
        "csrf_token": csrf_token(client, auth),
    }
    return client.post(PAGE, headers=auth, data=data)


def test_the_page_lists_the_unknown_seats_and_sets_one(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    auth = ministry(tokens)
    page = text(client.get(PAGE, headers=auth))
    assert "<h1>Έδρες Περιφερειακών Ενοτήτων</h1>" in page
    assert page.count("Δεν έχει οριστεί") >= 3  # three units, none decided
    assert '<label for="seat_municipality_code-63">' in page
    assert '<option value="6301">Δήμος Κέας (6301)</option>' in page
    response = post_seat(client, auth, KYTHNOS, "Απόφαση Α.Π. 7")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{PAGE}#unit-63"
    after = text(client.get(PAGE, headers=auth))
    assert "Η έδρα ορίστηκε: Περιφερειακή Ενότητα Κέας-Κύθνου — Δήμος Κύθνου." in after
    assert "Δήμος Κύθνου (6302)" in after
    assert "Απόφαση Α.Π. 7" in after
    assert len(seat_events(engine)) == 1


def test_the_page_refuses_without_losing_what_was_typed(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    auth = ministry(tokens)
    token = csrf_token(client, auth)
    missing_note = client.post(
        PAGE,
        headers=auth,
        data={"regional_unit_code": "63", "seat_municipality_code": KEA, "csrf_token": token},
    )
    assert missing_note.status_code == 422
    page = text(missing_note)
    assert "<title>Σφάλμα:" in page
    assert '<a href="#note-63">Αιτιολόγηση: Το πεδίο είναι υποχρεωτικό.</a>' in page
    assert '<option value="6301" selected>' in page
    assert 'id="note-63" name="note" required aria-describedby="hint-note-63 note-63-error"' in (
        page
    )

    known = client.post(
        PAGE,
        headers=auth,
        data={"regional_unit_code": "69", "seat_municipality_code": SEAT, "note": "Α.Π. 1"}
        | {"csrf_token": token},
    )
    assert known.status_code == 409

    no_csrf = client.post(
        PAGE,
        headers=auth,
        data={"regional_unit_code": "63", "seat_municipality_code": KEA, "note": "Α.Π. 9"},
    )
    assert no_csrf.status_code == 400
    assert "Α.Π. 9" in text(no_csrf)
    assert "Η φόρμα έληξε" in text(no_csrf)
    assert seat_events(engine) == []


def test_the_page_shows_a_seat_outside_the_unit_next_to_its_field(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    auth = ministry(tokens)
    response = post_seat(client, auth, SEAT, "Α.Π. 1")
    assert response.status_code == 422
    assert "Ο Δήμος δεν ανήκει σε αυτή την Περιφερειακή Ενότητα." in text(response)
    assert "The municipality" not in text(response)


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.MINISTRY_OFFICER])
def test_the_page_is_the_ministrys(client: FlaskClient, tokens: TokenFactory, role: Role) -> None:
    auth = headers(tokens, role, SEAT)
    assert client.get(PAGE, headers=auth).status_code == 403
    assert client.post(PAGE, headers=auth, data={}).status_code == 403


def test_the_summary_macro_for_other_pages(app: Flask, engine: Engine, tenants: None) -> None:
    template = (
        '{% from "supervision/summary.html" import supervision_summary %}'
        "<dl>{{ supervision_summary(supervision, basis_text) }}</dl>"
    )
    with Session(engine) as session, app.test_request_context("/"):
        seat = render_template_string(
            template,
            supervision=access_supervision(session, READER, NO_SERVICE),
            basis_text=BASIS_TEXT,
        )
        kea = render_template_string(
            template, supervision=access_supervision(session, READER, KEA), basis_text=BASIS_TEXT
        )
    assert "Δήμος Ρόδου (6901) — Ο Δήμος έδρας της Περιφερειακής Ενότητας" in seat
    assert "<dd>Δεν έχει οριστεί</dd>" in kea
