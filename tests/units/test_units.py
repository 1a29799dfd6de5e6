"""The municipality's structure through the API: centre, annexes, mobile units, edits, closing.

Scratch tenants (dropped after each test, with their identity organizations): 2201 (Λαρισαίοι,
164,095), 2202 (Αγιά, 10,711 — just above the threshold) and 2302 (Αργιθέα, 3,496 — no centre
of its own). Served municipalities: 2303 (Λίμνη Πλαστήρα), 2503 (Σκόπελος), both in
Thessaly like the tenants (the service area, tests/security/test_mobile_unit_service_area.py),
and 2003 (Φιλιάτες, Epirus), read only. A row of ``shared.centre_compliance`` stands in for
another municipality's centre and is removed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, insert, select
from werkzeug.test import TestResponse

from kentra.auth.issuer.models import IdentityGroup
from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.principal import UnitPath
from kentra.auth.roles import ROLE_REACH, Reach, Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.compliance.models import CentreCompliance, ComplianceStatus
from kentra.platform.core.models import utcnow
from kentra.platform.onboarding.models import BodyType, OnboardingRequest, RequestStatus
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.policy.operations import policy_in_force, staffing_requirement
from kentra.platform.reference.models import Municipality
from kentra.platform.units import blueprint as units_blueprint
from kentra.platform.units.models import Unit, UnitKind, UnitServedMunicipality
from kentra.platform.units.operations import segment_base, transliterate
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.helpers import SMALL_MUNICIPALITY_TEXT, remove_organizations
from tests.identity import FailingIdentityAdmin, provider
from tests.tokens import TokenFactory

BIG, EDGE, SMALL = "2201", "2202", "2302"
CODES = (BIG, EDGE, SMALL)
SERVED = ("2303", "2503", "2003")
OTHER_CENTRE = "2003"  # given a centre of its own by a compliance row, in some tests
VALID_VAT = "090000045"
REGIONS = {BIG: "EL61", EDGE: "EL61", SMALL: "EL61"}  # Θεσσαλία
ADMIN = Role.MUNICIPALITY_ADMIN
WRITERS = [role for role in Role if Permission.TENANT_UNITS_WRITE in ROLE_PERMISSIONS[role]]
READERS_NOT_WRITERS = [
    role
    for role in Role
    if Permission.TENANT_UNITS_READ in ROLE_PERMISSIONS[role]
    and Permission.TENANT_UNITS_WRITE not in ROLE_PERMISSIONS[role]
]


@pytest.fixture(autouse=True)
def clean(engine: Engine) -> Iterator[None]:
    yield
    remove_organizations(engine, *CODES)
    with engine.begin() as conn:
        conn.execute(
            delete(CentreCompliance).where(CentreCompliance.municipality_code.in_(CODES + SERVED))
        )
        conn.execute(
            delete(OnboardingRequest).where(OnboardingRequest.municipality_code.in_(CODES))
        )


@pytest.fixture(autouse=True)
def tenants(scratch_tenants: Callable[..., list[MunicipalityCode]]) -> list[MunicipalityCode]:
    return scratch_tenants(*CODES)


def url(code: str, tail: str = "") -> str:
    return f"/api/v1/municipalities/{code}/units{tail}"


def admin(tokens: TokenFactory, code: str = BIG, role: Role = ADMIN) -> dict[str, str]:
    """A principal of ``role`` reaching municipality ``code`` (by its region for regional
    roles)."""
    if ROLE_REACH[role] is Reach.REGION:
        return tokens.headers(role, region=REGIONS[code])
    return tokens.headers(role, municipality=code)


# The bodies a municipality admin sends, valid as they stand; a test overrides fields.
CENTRE: dict[str, Any] = {
    "name": "Κέντρο Κοινότητας Δήμου Λαρισαίων",
    "street_address": "Παπαναστασίου 12",
    "postal_code": "41222",
    "opening_date": "2024-03-01",
    "focus_groups": ["poverty", "roma"],
    "body_type": "municipality",
    "body_legal_name": "Δήμος Λαρισαίων",
    "body_vat": VALID_VAT,
    "premises_distinct_space": True,
    "premises_accessible": True,
}
ANNEX: dict[str, Any] = {
    "name": "Παράρτημα Ρομά Νέας Σμύρνης",
    "annex_reason": "roma",
    "street_address": "Ηρώων 3",
    "postal_code": "41336",
}
MOBILE: dict[str, Any] = {"name": "Κινητή Μονάδα Θεσσαλίας", "served_municipalities": ["2303"]}


def centre_body(**overrides: Any) -> dict[str, Any]:
    return {**CENTRE, **overrides}


def annex_body(**overrides: Any) -> dict[str, Any]:
    return {**ANNEX, **overrides}


def mobile_body(**overrides: Any) -> dict[str, Any]:
    return {**MOBILE, **overrides}


def make_centre(client: FlaskClient, tokens: TokenFactory, code: str = BIG, **kw: Any) -> Any:
    response = client.post(
        url(code, "/centre"), headers=admin(tokens, code), json=centre_body(**kw)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def centre(client: FlaskClient, tokens: TokenFactory) -> Any:
    """The big municipality's centre, registered as ``centre_body()`` has it."""
    return make_centre(client, tokens)


def make_annex(client: FlaskClient, tokens: TokenFactory, centre: dict[str, Any]) -> Any:
    """The default annex of ``centre`` (of the big municipality), registered."""
    response = client.post(
        url(BIG, f"/{centre['id']}/annexes"), headers=admin(tokens), json=annex_body()
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def units_of(engine: Engine, code: str) -> list[tuple[Any, ...]]:
    """Everything a test could have half-saved: the units and their served municipalities."""
    with tenant_session(engine, parse_municipality_code(code)) as session:
        units = [
            (u.id, u.kind, u.centre, u.unit, u.name, u.closed_on, u.version)
            for u in session.scalars(select(Unit).order_by(Unit.id))
        ]
        served = [
            (s.unit_id, s.municipality_code)
            for s in session.scalars(select(UnitServedMunicipality))
        ]
        return [*units, *served]


def audit_actions(engine: Engine, code: str) -> list[str]:
    with tenant_session(engine, parse_municipality_code(code)) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.like("unit.%"))
                .order_by(AuditEvent.id)
            )
        )


def groups(engine: Engine, code: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.scalars(select(IdentityGroup.path).where(IdentityGroup.path.like(f"/m-{code}/%")))
        )


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    return body


def add_compliance_row(engine: Engine, code: str) -> None:
    """Another municipality's centre, as the compliance module records it."""
    with engine.begin() as conn:
        policy_id = conn.scalar(select(func.max(PolicyVersion.id)))
        conn.execute(
            insert(CentreCompliance).values(
                municipality_code=code,
                centre_id=999_000_777,
                centre_name="Κέντρο άλλου Δήμου",
                status=ComplianceStatus.NON_COMPLIANT,
                unmet=[],
                staff_count=0,
                required_staff=2,
                policy_version_id=policy_id,
                computed_at=utcnow(),
            )
        )


# --- policy edges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "allowed"), [("7403", False), ("2302", False), ("2202", True), ("0714", True)]
)
def test_own_centre_by_the_policy_in_force(engine: Engine, code: str, allowed: bool) -> None:
    with tenant_session(engine, parse_municipality_code(BIG)) as session:
        policy = policy_in_force(session)
        assert policy is not None
        municipality = session.get(Municipality, code)
        assert municipality is not None
        assert staffing_requirement(policy, municipality.population).own_centre_allowed is allowed


# --- the centre --------------------------------------------------------------------------------


def test_a_centre_is_registered_with_its_group_and_audited(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    created = make_centre(client, tokens)
    assert created["kind"] == "centre"
    assert created["path"] == "/m-2201/kk-dimou-larisaion"
    assert created["postal_code"] == "41222"
    assert created["opening_date"] == "2024-03-01"
    assert created["focus_groups"] == ["poverty", "roma"]
    assert created["premises_accessible"] is True
    assert created["premises_municipality_owned"] is False
    assert created["body_vat"] == VALID_VAT
    assert created["closed_on"] is None
    assert groups(engine, BIG) == {"/m-2201/kk-dimou-larisaion"}
    assert audit_actions(engine, BIG) == ["unit.centre_registered"]
    # The API lists it; the GET carries the ETag.
    listed = client.get(url(BIG), headers=admin(tokens)).get_json()
    assert [u["id"] for u in listed] == [created["id"]]
    one = client.get(url(BIG, f"/{created['id']}"), headers=admin(tokens))
    assert one.status_code == 200
    assert one.headers["ETag"] == f'"{created["version"]}"'


def test_the_audit_names_ids_only(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    created = make_centre(client, tokens)
    with tenant_session(engine, parse_municipality_code(BIG)) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action.like("unit.%"))).one()
        assert event.object_id == str(created["id"])
        assert "Λαρισ" not in str(event.details)
        assert VALID_VAT not in str(event.details)


def test_the_body_defaults_to_the_approved_onboarding_request(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(OnboardingRequest).values(
                municipality_code=BIG,
                body_type=BodyType.NPDD,
                body_legal_name="ΚΟΙΝΩΦΕΛΗΣ ΛΑΡΙΣΑΣ",
                body_vat="094014298",
                contact_name="Δοκιμή",
                contact_email="units@example.invalid",
                contact_phone="+302410000000",
                has_social_service=True,
                status=RequestStatus.APPROVED,
                decided_by="test",
                decided_at=utcnow(),
                submitted_at=utcnow(),
            )
        )
    body = centre_body()
    for name in ("body_type", "body_legal_name", "body_vat"):
        del body[name]
    response = client.post(url(BIG, "/centre"), headers=admin(tokens), json=body)
    assert response.status_code == 201
    created = response.get_json()
    assert (created["body_type"], created["body_legal_name"], created["body_vat"]) == (
        "npdd",
        "ΚΟΙΝΩΦΕΛΗΣ ΛΑΡΙΣΑΣ",
        "094014298",
    )


def test_without_onboarding_the_body_is_required(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    body = centre_body()
    del body["body_vat"]
    refused = problem(client.post(url(BIG, "/centre"), headers=admin(tokens), json=body), 422)
    assert refused["code"] == "units.body_required"
    assert refused["errors"]["json"]["body_vat"] == ["Το πεδίο είναι υποχρεωτικό."]
    # One language per answer: the request's (issue 12).
    english = {**admin(tokens), "Accept-Language": "en-GB,en;q=0.9,el;q=0.5"}
    refused = problem(client.post(url(BIG, "/centre"), headers=english, json=body), 422)
    assert refused["detail"] == "This field is required."
    assert refused["errors"]["json"]["body_vat"] == ["This field is required."]
    assert units_of(engine, BIG) == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("body_vat", "123456789", "Ο ΑΦΜ δεν είναι έγκυρος."),
        ("postal_code", "1234", "Ο ταχυδρομικός κώδικας έχει 5 ψηφία"),
        ("postal_code", "09123", "Ο ταχυδρομικός κώδικας έχει 5 ψηφία"),
        ("postal_code", "86100", "Ο ταχυδρομικός κώδικας έχει 5 ψηφία"),
        ("postal_code", "4122a", "Ο ταχυδρομικός κώδικας έχει 5 ψηφία"),
        ("opening_date", "1/3/2024", "Η ημερομηνία δεν είναι έγκυρη"),
        ("focus_groups", ["aliens"], "Η ομάδα εστίασης είναι ένα από"),
        ("body_type", "company", "Ο φορέας υλοποίησης είναι ένα από"),
        ("name", "", "Το κείμενο πρέπει να έχει από 2 έως 200 χαρακτήρες."),
        ("premises_accessible", "maybe", "Η τιμή πρέπει να είναι true ή false."),
    ],
)
def test_bad_centre_input_is_a_422_and_saves_nothing(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, field: str, value: Any, message: str
) -> None:
    response = client.post(
        url(BIG, "/centre"), headers=admin(tokens), json=centre_body(**{field: value})
    )
    refused = problem(response, 422)
    assert message in str(refused["errors"]["json"][field])
    assert units_of(engine, BIG) == []
    assert groups(engine, BIG) == set()


def test_a_postal_code_with_a_space_is_kept_as_five_digits(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    assert make_centre(client, tokens, postal_code="412 22")["postal_code"] == "41222"


def test_unknown_fields_are_refused(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    response = client.post(url(BIG, "/centre"), headers=admin(tokens), json=centre_body(staff=3))
    assert problem(response, 422)["errors"]["json"]["staff"]
    assert units_of(engine, BIG) == []


def test_a_municipality_under_the_threshold_cannot_register_a_centre(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    response = client.post(
        url(SMALL, "/centre"), headers=admin(tokens, SMALL), json=centre_body(postal_code="43065")
    )
    refused = problem(response, 422)
    assert refused["detail"] == SMALL_MUNICIPALITY_TEXT
    assert refused["code"] == "units.no_centre_of_its_own"
    assert units_of(engine, SMALL) == []
    assert groups(engine, SMALL) == set()


def test_a_municipality_just_above_the_threshold_registers_its_centre(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    created = make_centre(client, tokens, EDGE, name="Κέντρο Κοινότητας Αγιάς")
    assert created["path"] == "/m-2202/kk-agias"


def test_one_open_centre_per_municipality(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    make_centre(client, tokens)
    before = units_of(engine, BIG)
    second = client.post(url(BIG, "/centre"), headers=admin(tokens), json=centre_body())
    assert "έχει ήδη ανοιχτό Κέντρο" in problem(second, 409)["detail"]
    assert units_of(engine, BIG) == before


def test_after_closing_its_centre_a_municipality_registers_a_new_one_with_a_new_segment(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    first = make_centre(client, tokens)
    closed = client.post(
        url(BIG, f"/{first['id']}/close"),
        headers={**admin(tokens), "If-Match": f'"{first["version"]}"'},
        json={"closed_on": "2025-01-31"},
    )
    assert closed.status_code == 200
    second = make_centre(client, tokens)
    assert second["path"] == "/m-2201/kk-dimou-larisaion-2"
    listed = client.get(url(BIG), headers=admin(tokens)).get_json()
    assert [(u["id"], u["closed_on"]) for u in listed] == [
        (first["id"], "2025-01-31"),
        (second["id"], None),
    ]


def test_an_identity_failure_is_a_502_and_saves_nothing(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        units_blueprint, "identity_admin", provider(FailingIdentityAdmin("ensure_unit_group"))
    )
    response = client.post(url(BIG, "/centre"), headers=admin(tokens), json=centre_body())
    assert "δεν αποθηκεύτηκε τίποτα" in problem(response, 502)["detail"]
    assert units_of(engine, BIG) == []
    assert audit_actions(engine, BIG) == []
    monkeypatch.undo()
    centre = make_centre(client, tokens)
    before = units_of(engine, BIG)
    monkeypatch.setattr(
        units_blueprint, "identity_admin", provider(FailingIdentityAdmin("ensure_unit_group"))
    )
    for tail, body in (("/annexes", annex_body()), ("/mobile-units", mobile_body())):
        failed = client.post(url(BIG, f"/{centre['id']}{tail}"), headers=admin(tokens), json=body)
        problem(failed, 502)
        assert units_of(engine, BIG) == before


def test_a_renamed_unit_renames_its_identity_group(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    monkeypatch: pytest.MonkeyPatch,
    centre: dict[str, Any],
) -> None:
    path = centre["path"]

    def group_name() -> str | None:
        with engine.connect() as conn:
            return conn.scalar(select(IdentityGroup.name).where(IdentityGroup.path == path))

    def rename(name: str) -> TestResponse:
        etag = client.get(url(BIG, f"/{centre['id']}"), headers=admin(tokens)).headers["ETag"]
        return client.patch(
            url(BIG, f"/{centre['id']}"),
            headers={**admin(tokens), "If-Match": etag},
            json={"name": name},
        )

    with monkeypatch.context() as patched:
        patched.setattr(
            units_blueprint, "identity_admin", provider(FailingIdentityAdmin("ensure_unit_group"))
        )
        problem(rename("Κέντρο Κοινότητας Βόλου — Νέα Ιωνία"), 502)
    assert group_name() == centre["name"]
    assert rename("Κέντρο Κοινότητας Βόλου — Νέα Ιωνία").status_code == 200
    assert group_name() == "Κέντρο Κοινότητας Βόλου — Νέα Ιωνία"
    # The path, and so everyone's access, stays as it was.
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(IdentityGroup.path == path)) == 1


# --- annexes -----------------------------------------------------------------------------------


def test_an_annex_belongs_to_the_open_centre(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    response = client.post(
        url(BIG, f"/{centre['id']}/annexes"), headers=admin(tokens), json=annex_body()
    )
    assert response.status_code == 201
    annex = response.get_json()
    assert annex["kind"] == "annex"
    assert annex["annex_reason"] == "roma"
    assert annex["centre_id"] == centre["id"]
    assert annex["path"] == "/m-2201/kk-dimou-larisaion/parartima-roma-neas-smyrnis"
    assert "/m-2201/kk-dimou-larisaion/parartima-roma-neas-smyrnis" in groups(engine, BIG)
    # The same name again: a numeric suffix.
    again = client.post(
        url(BIG, f"/{centre['id']}/annexes"), headers=admin(tokens), json=annex_body()
    ).get_json()
    assert again["path"].endswith("/parartima-roma-neas-smyrnis-2")
    assert audit_actions(engine, BIG)[-2:] == ["unit.annex_added", "unit.annex_added"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("annex_reason", "tourism", "Ο λόγος του Παραρτήματος είναι ένα από"),
        ("postal_code", "99999", "Ο ταχυδρομικός κώδικας έχει 5 ψηφία"),
        ("street_address", None, "Το πεδίο δεν μπορεί να είναι κενό."),
    ],
)
def test_bad_annex_input_is_a_422_and_saves_nothing(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    field: str,
    value: Any,
    message: str,
    centre: dict[str, Any],
) -> None:
    before = units_of(engine, BIG)
    response = client.post(
        url(BIG, f"/{centre['id']}/annexes"),
        headers=admin(tokens),
        json=annex_body(**{field: value}),
    )
    assert message in str(problem(response, 422)["errors"]["json"][field])
    assert units_of(engine, BIG) == before


def test_a_unit_needs_an_open_reference_centre(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    annex = make_annex(client, tokens, centre)
    before = units_of(engine, BIG)
    # An annex is no reference centre.
    for tail, body in (("/annexes", annex_body()), ("/mobile-units", mobile_body())):
        refused = problem(
            client.post(url(BIG, f"/{annex['id']}{tail}"), headers=admin(tokens), json=body), 422
        )
        assert refused["detail"].startswith("Μια μονάδα χρειάζεται Κέντρο αναφοράς")
        assert units_of(engine, BIG) == before
    # Nor is a closed centre.
    with tenant_session(engine, parse_municipality_code(BIG)) as session:
        for unit in session.scalars(select(Unit)):
            unit.closed_on = date(2025, 1, 1)
    before = units_of(engine, BIG)
    refused = problem(
        client.post(url(BIG, f"/{centre['id']}/annexes"), headers=admin(tokens), json=annex_body()),
        422,
    )
    assert refused["code"] == "units.no_reference_centre"
    assert refused["detail"].startswith("Μια μονάδα χρειάζεται Κέντρο αναφοράς")
    assert units_of(engine, BIG) == before


def test_units_of_an_unknown_centre_are_a_404(client: FlaskClient, tokens: TokenFactory) -> None:
    for tail, body in (("/annexes", annex_body()), ("/mobile-units", mobile_body())):
        response = client.post(url(BIG, f"/999999{tail}"), headers=admin(tokens), json=body)
        problem(response, 404)


# --- mobile units ------------------------------------------------------------------------------


def test_a_mobile_unit_serves_municipalities_without_a_centre(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    response = client.post(
        url(BIG, f"/{centre['id']}/mobile-units"),
        headers=admin(tokens),
        json=mobile_body(served_municipalities=["2303", "2503", "2303"]),
    )
    assert response.status_code == 201
    mobile = response.get_json()
    assert mobile["kind"] == "mobile_unit"
    assert mobile["path"] == "/m-2201/kk-dimou-larisaion/kinhth-thessalias"
    assert mobile["served_municipalities"] == [
        {"code": "2303", "name_el": "Δήμος Λίμνης Πλαστήρα"},
        {"code": "2503", "name_el": "Δήμος Σκοπέλου"},
    ]
    assert audit_actions(engine, BIG)[-1] == "unit.mobile_unit_added"


def test_the_list_is_each_unit_as_its_own_answer_in_three_statements_and_no_transaction(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list writes its documents itself (ADR 0028): they must be what ``UnitSchema`` dumps
    for each unit's own answer, dates, enums, served municipalities and reference centre
    included. Its database work is one statement for the tenant, one for the units and one
    for the served municipalities, whatever the count, each a transaction of its own: no
    ``BEGIN``, no ``COMMIT`` (ADR 0032)."""
    centre = make_centre(client, tokens)
    annex = make_annex(client, tokens, centre)
    for served in (["2303", "2503"], ["2303"]):
        client.post(
            url(BIG, f"/{centre['id']}/mobile-units"),
            headers=admin(tokens),
            json=mobile_body(name=f"Κινητή Μονάδα {len(served)}", served_municipalities=served),
        )
    closed = client.post(
        url(BIG, f"/{annex['id']}/close"),
        headers={**admin(tokens), "If-Match": f'"{annex["version"]}"'},
        json={"closed_on": "2025-06-30"},
    )
    assert closed.status_code == 200
    # Counted by the driver: the list's reads and the tenant lookup go to psycopg directly
    # (ADR 0029), past SQLAlchemy's events. psycopg sends BEGIN by itself, before a statement
    # on a connection that is not in autocommit, and the request ends no transaction.
    statements: list[tuple[str, bool]] = []
    execute = psycopg.Cursor.execute

    def count(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        statements.append((str(query), cursor.connection.autocommit))
        return execute(cursor, query, *args, **kwargs)

    def no_commit(connection: psycopg.Connection[Any]) -> None:
        raise AssertionError("a read-only request committed")

    monkeypatch.setattr(psycopg.Connection, "commit", no_commit)

    monkeypatch.setattr(psycopg.Cursor, "execute", count)
    listed = client.get(url(BIG), headers=admin(tokens, role=Role.STAFF))
    monkeypatch.undo()
    assert listed.status_code == 200
    assert listed.mimetype == "application/json"
    documents = listed.get_json()
    assert len(documents) == 4
    assert [u["kind"] for u in documents].count("mobile_unit") == 2
    assert {u["closed_on"] for u in documents} == {None, "2025-06-30"}
    singles = [
        client.get(url(BIG, f"/{u['id']}"), headers=admin(tokens)).get_json() for u in documents
    ]
    assert documents == singles
    assert len(statements) == 3, statements
    assert all(autocommit for _, autocommit in statements), statements


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (["9999"], "Δεν υπάρχει Δήμος με κωδικό 9999."),
        ([BIG], "Ο Δήμος Λαρισαίων (2201) έχει δικό του Κέντρο Κοινότητας"),
        ([OTHER_CENTRE], "Ο Δήμος Φιλιατών (2003) έχει δικό του Κέντρο Κοινότητας"),
        (["2303", OTHER_CENTRE], "Ο Δήμος Φιλιατών (2003) έχει δικό του Κέντρο Κοινότητας"),
        ([], "Επιλέξτε τουλάχιστον έναν Δήμο."),
        (["23"], "Ο κωδικός Δήμου είναι τετραψήφιος"),
    ],
)
def test_a_mobile_unit_may_not_serve_a_municipality_with_a_centre(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, served: list[str], message: str
) -> None:
    add_compliance_row(engine, OTHER_CENTRE)
    centre = make_centre(client, tokens)
    before = units_of(engine, BIG)
    response = client.post(
        url(BIG, f"/{centre['id']}/mobile-units"),
        headers=admin(tokens),
        json=mobile_body(served_municipalities=served),
    )
    assert message in str(problem(response, 422)["errors"]["json"]["served_municipalities"])
    assert units_of(engine, BIG) == before


# --- edits and closing ------------------------------------------------------------------------


def test_an_edit_needs_the_current_etag(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    target = url(BIG, f"/{centre['id']}")
    missing = client.patch(target, headers=admin(tokens), json={"name": "Νέο όνομα"})
    assert problem(missing, 428)
    stale = client.patch(
        target, headers={**admin(tokens), "If-Match": '"999"'}, json={"name": "Νέο όνομα"}
    )
    assert problem(stale, 412)
    before = units_of(engine, BIG)
    etag = client.get(target, headers=admin(tokens)).headers["ETag"]
    changed = client.patch(
        target,
        headers={**admin(tokens), "If-Match": etag},
        json={"name": "ΚΚ Λάρισας", "premises_toilets_public_and_staff": True},
    )
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["name"] == "ΚΚ Λάρισας"
    assert body["premises_toilets_public_and_staff"] is True
    assert body["path"] == centre["path"]  # the group path stays
    assert changed.headers["ETag"] == f'"{body["version"]}"' != etag
    assert units_of(engine, BIG) != before
    # The old ETag is stale now.
    again = client.patch(target, headers={**admin(tokens), "If-Match": etag}, json={"name": "Άλλο"})
    assert problem(again, 412)
    assert audit_actions(engine, BIG)[-1] == "unit.updated"


def test_an_edit_validates_like_creation_and_by_kind(
    client: FlaskClient, engine: Engine, tokens: TokenFactory
) -> None:
    add_compliance_row(engine, OTHER_CENTRE)
    centre = make_centre(client, tokens)
    annex = make_annex(client, tokens, centre)
    mobile = client.post(
        url(BIG, f"/{centre['id']}/mobile-units"), headers=admin(tokens), json=mobile_body()
    ).get_json()
    before = units_of(engine, BIG)
    cases = [
        (centre, {"postal_code": "00000"}, "postal_code", "Ο ταχυδρομικός κώδικας"),
        (centre, {"body_vat": "111111111"}, "body_vat", "Ο ΑΦΜ δεν είναι έγκυρος."),
        (centre, {"annex_reason": "roma"}, "annex_reason", "Το πεδίο δεν αφορά"),
        (annex, {"premises_accessible": True}, "premises_accessible", "Το πεδίο δεν αφορά"),
        (
            mobile,
            {"served_municipalities": [OTHER_CENTRE]},
            "served_municipalities",
            "έχει δικό του Κέντρο",
        ),
    ]
    for unit, body, field, message in cases:
        response = client.patch(
            url(BIG, f"/{unit['id']}"),
            headers={**admin(tokens), "If-Match": f'"{unit["version"]}"'},
            json=body,
        )
        assert message in str(problem(response, 422)["errors"]["json"][field])
        assert units_of(engine, BIG) == before
    served = client.patch(
        url(BIG, f"/{mobile['id']}"),
        headers={**admin(tokens), "If-Match": f'"{mobile["version"]}"'},
        json={"served_municipalities": ["2503"]},
    )
    assert served.status_code == 200
    assert [s["code"] for s in served.get_json()["served_municipalities"]] == ["2503"]


def test_closing_keeps_the_unit_and_a_centre_closes_after_its_units(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    annex = make_annex(client, tokens, centre)

    def close(unit: dict[str, Any], day: str = "2025-06-30", **headers: str) -> TestResponse:
        return client.post(
            url(BIG, f"/{unit['id']}/close"),
            headers={**admin(tokens), **headers},
            json={"closed_on": day},
        )

    assert problem(close(annex), 428)
    assert problem(close(annex, **{"If-Match": '"42"'}), 412)
    before = units_of(engine, BIG)
    early = close(centre, "2020-01-01", **{"If-Match": f'"{centre["version"]}"'})
    assert "πριν από την ημερομηνία λειτουργίας" in problem(early, 422)["detail"]
    busy = close(centre, **{"If-Match": f'"{centre["version"]}"'})
    assert "ανοιχτά Παραρτήματα" in problem(busy, 409)["detail"]
    assert units_of(engine, BIG) == before

    closed = close(annex, **{"If-Match": f'"{annex["version"]}"'})
    assert closed.status_code == 200
    assert closed.get_json()["closed_on"] == "2025-06-30"
    closed_version = closed.get_json()["version"]
    # A closed unit stays listed, is not closed again and is not edited.
    listed = {
        u["id"]: u["closed_on"] for u in client.get(url(BIG), headers=admin(tokens)).get_json()
    }
    assert listed == {centre["id"]: None, annex["id"]: "2025-06-30"}
    again = close(annex, **{"If-Match": f'"{closed_version}"'})
    assert "έχει κλείσει" in problem(again, 409)["detail"]
    edit = client.patch(
        url(BIG, f"/{annex['id']}"),
        headers={**admin(tokens), "If-Match": f'"{closed_version}"'},
        json={"name": "Νέο"},
    )
    assert "έχει κλείσει" in problem(edit, 409)["detail"]
    # Now the centre closes.
    assert close(centre, **{"If-Match": f'"{centre["version"]}"'}).status_code == 200
    assert audit_actions(engine, BIG)[-2:] == ["unit.closed", "unit.closed"]


def test_a_closing_date_is_required(client: FlaskClient, tokens: TokenFactory) -> None:
    centre = make_centre(client, tokens)
    response = client.post(
        url(BIG, f"/{centre['id']}/close"),
        headers={**admin(tokens), "If-Match": f'"{centre["version"]}"'},
        json={},
    )
    assert problem(response, 422)["errors"]["json"]["closed_on"] == ["Το πεδίο είναι υποχρεωτικό."]


# --- permissions and tenants --------------------------------------------------------------------


def write_requests(centre_id: int, version: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", url(BIG, "/centre"), centre_body()),
        ("POST", url(BIG, f"/{centre_id}/annexes"), annex_body()),
        ("POST", url(BIG, f"/{centre_id}/mobile-units"), mobile_body()),
        ("PATCH", url(BIG, f"/{centre_id}"), {"name": "Άλλο"}),
        ("POST", url(BIG, f"/{centre_id}/close"), {"closed_on": "2025-01-01"}),
    ]


def test_only_the_municipality_admin_writes_units() -> None:
    assert WRITERS == [Role.MUNICIPALITY_ADMIN]


@pytest.mark.parametrize("role", READERS_NOT_WRITERS)
def test_writes_without_the_permission_are_a_403_and_change_nothing(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, role: Role, centre: dict[str, Any]
) -> None:
    before = units_of(engine, BIG)
    for method, target, body in write_requests(centre["id"], centre["version"]):
        response = client.open(
            target,
            method=method,
            headers={**admin(tokens, BIG, role), "If-Match": f'"{centre["version"]}"'},
            json=body,
        )
        problem(response, 403)
    assert units_of(engine, BIG) == before
    # Reading is allowed.
    read = client.get(url(BIG, f"/{centre['id']}"), headers=admin(tokens, BIG, role))
    assert read.status_code == 200


def test_another_municipalitys_admin_gets_a_404_everywhere(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre: dict[str, Any]
) -> None:
    before = units_of(engine, BIG)
    stranger = {**admin(tokens, EDGE), "If-Match": f'"{centre["version"]}"'}
    reads = [("GET", url(BIG), {}), ("GET", url(BIG, f"/{centre['id']}"), {})]
    for method, target, body in [*reads, *write_requests(centre["id"], centre["version"])]:
        response = client.open(target, method=method, headers=stranger, json=body or None)
        problem(response, 404)
    assert units_of(engine, BIG) == before
    # Its own URL does not reach the other tenant's unit either.
    own = client.get(url(EDGE, f"/{centre['id']}"), headers=admin(tokens, EDGE))
    problem(own, 404)


# --- segments -----------------------------------------------------------------------------------


def test_segments_are_readable_and_valid() -> None:
    assert transliterate("Δήμος Αγίου Νικολάου") == "dimos-agiou-nikolaou"
    assert segment_base(UnitKind.CENTRE, "Κέντρο Κοινότητας Δήμου Βόλου") == "kk-dimou-volou"
    assert segment_base(UnitKind.ANNEX, "Παράρτημα") == "parartima"
    assert segment_base(UnitKind.MOBILE_UNIT, "Κινητή Μονάδα 2") == "kinhth-2"
    long = segment_base(UnitKind.CENTRE, "Ψ" * 200)
    assert len(long) <= 59
    for sample in ("Κέντρο", "Ω!!", "x" * 300, "Ντόπιοι Μπαξέδες"):
        base = segment_base(UnitKind.ANNEX, sample)
        assert UnitPath.parse(f"/m-2201/kk-a/{base}-999") is not None
