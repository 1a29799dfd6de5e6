"""The Beneficiaries Registry API: registering a person (validation that keeps nothing half
saved, the ΑΜΚΑ against the date of birth, identifiers registered once), reading and searching
only inside the caller's units, 404 to everyone else, and every access audited.

Municipality used here and nowhere else: 4401 (Καλαμάτας), a tenant of this module, with a
centre, its annex and mobile unit, a closed annex and a second centre; 7101 (a session tenant)
is the other municipality.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from stdnum import luhn
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.beneficiaries.models import Beneficiary
from kentra.platform.core.models import local_today
from kentra.platform.units.models import Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.factories import VALID_VAT
from tests.helpers import module_tenant
from tests.tokens import TokenFactory

CODE = "4401"
URL = f"/api/v1/municipalities/{CODE}/beneficiaries"
OTHER = "7101"
CENTRE = "kk-kalamatas"


def amka_of(birth: str, serial: str = "0123") -> str:
    body = birth + serial
    return body + luhn.calc_check_digit(body)


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[MunicipalityCode]:
    with module_tenant(engine, CODE) as code:
        yield code


@pytest.fixture(scope="module")
def units(engine: Engine, tenant: MunicipalityCode) -> dict[str, int]:
    layout = {
        "centre": (CENTRE, None, UnitKind.CENTRE),
        "annex": (CENTRE, "parartima-1", UnitKind.ANNEX),
        "mobile": (CENTRE, "kinhth-1", UnitKind.MOBILE_UNIT),
        "closed": (CENTRE, "parartima-2", UnitKind.ANNEX),
        "centre 2": ("kk-messinis", None, UnitKind.CENTRE),
    }
    ids = {}
    with tenant_session(engine, tenant) as session:
        for key, (centre, unit, kind) in layout.items():
            ids[key] = ensure_unit(session, centre=centre, unit=unit, kind=kind, name=key).id
        closed = session.get(Unit, ids["closed"])
        assert closed is not None
        closed.closed_on = date(2023, 6, 30)
    return ids


@pytest.fixture(autouse=True)
def registry_emptied(engine: Engine, tenant: MunicipalityCode) -> Iterator[None]:
    yield
    with tenant_session(engine, tenant) as session:
        session.execute(delete(Beneficiary))
        session.execute(delete(AuditEvent).where(AuditEvent.action.startswith("beneficiaries.")))


def staff(tokens: TokenFactory, unit: str = "parartima-1", code: str = CODE) -> dict[str, str]:
    return tokens.headers(Role.STAFF, municipality=code, groups=[f"/m-{code}/{CENTRE}/{unit}"])


def head(tokens: TokenFactory, centre: str = CENTRE) -> dict[str, str]:
    return tokens.headers(Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/{centre}"])


def person(units: dict[str, int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": units["annex"],
        "given_name": "Ευάγγελος",
        "family_name": "Παπαδόπουλος",
        "father_name": "Νικόλαος",
        "born_on": "1985-03-15",
        "sex": "male",
        "nationality": "GR",
        "residence_municipality_code": "4402",
        "phone": "6912345678",
        "amka": amka_of("150385"),
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}  # None: left out


def register(client: FlaskClient, headers: dict[str, str], body: dict[str, Any]) -> TestResponse:
    return client.post(URL, headers=headers, json=body)


def registered(
    client: FlaskClient, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = register(client, headers, body)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


def people(engine: Engine) -> int:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        return session.scalar(select(func.count()).select_from(Beneficiary)) or 0


def audit(engine: Engine) -> list[tuple[str, str, str | None, dict[str, Any]]]:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.actor, AuditEvent.object_id, AuditEvent.details)
            .where(AuditEvent.action.startswith("beneficiaries."))
            .order_by(AuditEvent.id)
        )
        return [(r.action, r.actor, r.object_id, r.details) for r in rows]


# --- registering ------------------------------------------------------------------------------


def test_a_person_is_registered_with_the_latin_names_proposed_and_audited_by_id(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, units: dict[str, int]
) -> None:
    headers = staff(tokens)
    body = registered(client, headers, person(units, given_name="  Ευάγγελος "))
    assert body["given_name"] == "Ευάγγελος"
    assert (body["given_name_latin"], body["family_name_latin"]) == ("Evangelos", "Papadopoulos")
    assert (body["born_on"], body["birth_year"]) == ("1985-03-15", 1985)
    assert body["phone"] == "+306912345678"
    assert body["registered_on"] == local_today().isoformat()
    assert body["unit_id"] == units["annex"]
    ((action, actor, object_id, details),) = audit(engine)
    assert (action, object_id, details) == (
        "beneficiaries.register",
        str(body["id"]),
        {"unit_id": units["annex"]},
    )
    assert actor  # the token's subject: who registered, never whom (ids only above)


def test_latin_names_typed_as_a_passport_writes_them_are_kept(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    body = registered(
        client,
        staff(tokens),
        person(units, given_name_latin="Vangelis", family_name_latin="Papadopoulos-Smith"),
    )
    assert (body["given_name_latin"], body["family_name_latin"]) == (
        "Vangelis",
        "Papadopoulos-Smith",
    )


def test_every_invalid_field_is_named_at_once_and_nothing_is_saved(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, units: dict[str, int]
) -> None:
    response = register(
        client,
        staff(tokens),
        person(
            units,
            amka="15038501234",
            vat="123456789",
            phone="12",
            nationality="XX",
            given_name_latin="Ευάγγελος",
            document_number="AB 12",
            birth_year=1850,
            email="not-an-address",
            sex="unknown",
        ),
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == {
        "amka",
        "vat",
        "phone",
        "nationality",
        "given_name_latin",
        "document_number",
        "birth_year",
        "email",
        "sex",
    }
    assert errors["amka"] == [
        "Ο ΑΜΚΑ δεν είναι έγκυρος: 11 ψηφία, τα 6 πρώτα η ημερομηνία γέννησης (ΗΗΜΜΕΕ)."
    ]
    assert people(engine) == 0


def test_names_and_the_unit_are_required(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    response = register(client, staff(tokens), {"given_name": "  ", "family_name": "1234"})
    errors = response.get_json()["errors"]["json"]
    assert response.status_code == 422
    assert set(errors) == {"unit_id", "given_name", "family_name"}


def test_a_document_number_needs_its_type(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    response = register(client, staff(tokens), person(units, document_number="ab123456"))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["json"]) == {"document_type"}


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"born_on": "1985-03-16"}, "beneficiaries.amka_not_birth_date", "amka"),
        ({"born_on": None, "birth_year": 1986}, "beneficiaries.amka_not_birth_year", "amka"),
        ({"birth_year": 1984}, "beneficiaries.year_not_of_birth_date", "birth_year"),
        (
            {"born_on": (local_today() + timedelta(days=1)).isoformat(), "amka": None},
            "beneficiaries.born_in_the_future",
            "born_on",
        ),
        ({"residence_municipality_code": "0999"}, "beneficiaries.no_such_municipality", None),
    ],
)
def test_what_fields_say_together_is_checked_and_named(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    units: dict[str, int],
    overrides: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    response = register(client, staff(tokens), person(units, **overrides))
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["code"] == code
    if field is not None:
        assert field in problem["errors"]["json"]
    assert people(engine) == 0


def test_the_century_of_the_amka_is_the_date_of_births(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    # python-stdnum would read 150305 as 1905: a child born in 2005 is registered.
    body = registered(
        client, staff(tokens), person(units, born_on="2005-03-15", amka=amka_of("150305"))
    )
    assert body["amka"] == amka_of("150305")


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({}, {"given_name": "Άλλος"}, "amka"),
        ({"amka": None, "vat": VALID_VAT}, {"amka": None, "vat": VALID_VAT}, "vat"),
        (
            {"amka": None, "document_type": "passport", "document_number": "ab123"},
            {"amka": None, "document_type": "passport", "document_number": "AB123"},
            "document_number",
        ),
    ],
)
def test_an_identifier_already_registered_is_a_conflict_naming_it(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    units: dict[str, int],
    first: dict[str, Any],
    second: dict[str, Any],
    field: str,
) -> None:
    registered(client, staff(tokens), person(units, **first))
    # Even from a unit that cannot see the first person: an identifier is the municipality's.
    response = register(
        client, staff(tokens, "kinhth-1"), person(units, **{**second, "unit_id": units["mobile"]})
    )
    assert response.status_code == 409, response.get_json()
    problem = response.get_json()
    assert problem["code"] == "beneficiaries.already_registered"
    assert field in problem["errors"]["json"]
    assert people(engine) == 1


def test_the_same_number_on_another_kind_of_document_is_another_document(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    for kind in ("passport", "residence_permit"):
        registered(
            client,
            staff(tokens),
            person(units, amka=None, document_type=kind, document_number="X1234567"),
        )


@pytest.mark.parametrize("unit", ["centre", "mobile", "closed", "centre 2"])
def test_staff_register_only_in_their_own_open_unit(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, units: dict[str, int], unit: str
) -> None:
    response = register(client, staff(tokens), person(units, unit_id=units[unit]))
    assert response.status_code == 422
    assert response.get_json()["code"] == "beneficiaries.not_your_unit"
    assert people(engine) == 0


def test_a_centre_head_registers_in_the_centres_annexes_and_mobile_units(
    client: FlaskClient, tokens: TokenFactory, units: dict[str, int]
) -> None:
    for unit, serial in (("centre", "0001"), ("annex", "0002"), ("mobile", "0003")):
        registered(
            client, head(tokens), person(units, unit_id=units[unit], amka=amka_of("150385", serial))
        )


# --- reading and searching -------------------------------------------------------------------


@pytest.fixture
def registry(client: FlaskClient, tokens: TokenFactory, units: dict[str, int]) -> dict[str, int]:
    """Four people: two of the annex, one of the mobile unit, one of the second centre."""
    made = {
        "annex 1": (head(tokens), person(units)),
        "annex 2": (
            head(tokens),
            person(
                units,
                given_name="Γιώργος",
                family_name="Αλεξίου",
                amka=None,
                vat=VALID_VAT,
                phone="2721012345",
                document_type="identity_card",
                document_number="AK123456",
            ),
        ),
        "mobile": (
            head(tokens),
            person(units, unit_id=units["mobile"], given_name="Ελένη", amka=None, phone=None),
        ),
        "centre 2": (
            head(tokens, "kk-messinis"),
            person(units, unit_id=units["centre 2"], given_name="Μαρία", amka=None, phone=None),
        ),
    }
    return {key: registered(client, headers, body)["id"] for key, (headers, body) in made.items()}


def found(client: FlaskClient, headers: dict[str, str], q: str | None = None) -> list[int]:
    response = client.get(URL, headers=headers, query_string={"q": q} if q else {})
    assert response.status_code == 200, response.get_json()
    return [p["id"] for p in response.get_json()]


def test_each_reads_the_people_of_their_units_only_newest_first(
    client: FlaskClient, tokens: TokenFactory, registry: dict[str, int]
) -> None:
    assert found(client, staff(tokens)) == [registry["annex 2"], registry["annex 1"]]
    assert found(client, staff(tokens, "kinhth-1")) == [registry["mobile"]]
    assert found(client, head(tokens)) == [
        registry["mobile"],
        registry["annex 2"],
        registry["annex 1"],
    ]
    assert found(client, head(tokens, "kk-messinis")) == [registry["centre 2"]]


def test_one_person_is_read_by_their_units_only(
    client: FlaskClient, tokens: TokenFactory, registry: dict[str, int]
) -> None:
    url = f"{URL}/{registry['annex 1']}"
    assert client.get(url, headers=staff(tokens)).status_code == 200
    assert client.get(url, headers=head(tokens)).status_code == 200
    assert client.get(url, headers=staff(tokens, "kinhth-1")).status_code == 404
    assert client.get(url, headers=head(tokens, "kk-messinis")).status_code == 404
    assert client.get(f"{URL}/999999999", headers=staff(tokens)).status_code == 404


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("Παπαδόπουλος", ["annex 1"]),
        ("papadopoulos evangelos", ["annex 1"]),
        ("Evaggelos", ["annex 1"]),
        ("ΠΑΠΑΔΟΠ", ["annex 1"]),
        ("Giwrgos Alexiou", ["annex 2"]),
        ("Γιωργος", ["annex 2"]),
        (amka_of("150385"), ["annex 1"]),
        ("150385 0123 " + amka_of("150385")[-1], ["annex 1"]),
        (VALID_VAT, ["annex 2"]),
        ("2721 012345", ["annex 2"]),
        ("+30 6912345678", ["annex 1"]),
        ("ak123456", ["annex 2"]),
        ("Μαρία", []),  # another centre's person is not found, by name or otherwise
        ("Ελένη", []),  # the mobile unit's, for the annex's staff
    ],
)
def test_one_search_box_finds_by_name_in_either_script_or_any_identifier(
    client: FlaskClient,
    tokens: TokenFactory,
    registry: dict[str, int],
    q: str,
    who: list[str],
) -> None:
    assert found(client, staff(tokens), q) == [registry[key] for key in who]


def test_reads_and_searches_are_audited_with_their_terms_and_counts(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, registry: dict[str, int]
) -> None:
    before = len(audit(engine))
    found(client, staff(tokens), "Παπαδόπουλος")
    found(client, staff(tokens))
    client.get(f"{URL}/{registry['annex 1']}", headers=staff(tokens))
    client.get(f"{URL}/{registry['mobile']}", headers=staff(tokens))  # 404: not a read
    entries = [(action, object_id, details) for action, _, object_id, details in audit(engine)]
    assert entries[before:] == [
        (
            "beneficiaries.search",
            None,
            {"terms": "Παπαδόπουλος", "count": 1, "beneficiary_ids": [registry["annex 1"]]},
        ),
        (
            "beneficiaries.read",
            None,
            {"count": 2, "beneficiary_ids": [registry["annex 2"], registry["annex 1"]]},
        ),
        (
            "beneficiaries.read",
            str(registry["annex 1"]),
            {"count": 1, "beneficiary_ids": [registry["annex 1"]]},
        ),
    ]


def test_the_list_pages_by_keyset_with_links(
    client: FlaskClient, tokens: TokenFactory, registry: dict[str, int]
) -> None:
    first = client.get(URL, headers=head(tokens), query_string={"per_page": 2})
    assert [p["id"] for p in first.get_json()] == [registry["mobile"], registry["annex 2"]]
    assert 'rel="next"' in first.headers["Link"]
    cursor = first.headers["Link"].split("cursor=")[1].split("&")[0].split(">")[0]
    second = client.get(URL, headers=head(tokens), query_string={"per_page": 2, "cursor": cursor})
    assert [p["id"] for p in second.get_json()] == [registry["annex 1"]]


# --- who may not ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        Role.MUNICIPALITY_ADMIN,
        Role.SUPERVISOR_OPERATIONAL,
        Role.SUPERVISOR_ADMINISTRATIVE,
        Role.REGIONAL_OFFICER,
        Role.MINISTRY_OFFICER,
        Role.PLATFORM_OPERATOR,
    ],
)
def test_no_oversight_role_reads_or_registers_a_person_they_are_not_there(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    units: dict[str, int],
    registry: dict[str, int],
    role: Role,
) -> None:
    headers = tokens.headers(role, municipality=CODE, region="EL65")
    before = audit(engine)
    assert client.get(URL, headers=headers).status_code == 404
    assert client.get(f"{URL}/{registry['annex 1']}", headers=headers).status_code == 404
    assert register(client, headers, person(units, amka=None)).status_code == 404
    assert audit(engine) == before


def test_another_municipalitys_staff_find_nothing_here(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    units: dict[str, int],
    registry: dict[str, int],
) -> None:
    other = staff(tokens, code=OTHER)
    assert client.get(URL, headers=other).status_code == 404
    assert client.get(f"{URL}/{registry['annex 1']}", headers=other).status_code == 404
    assert register(client, other, person(units, amka=None)).status_code == 404
    # In their own municipality, this one's person id is nobody.
    own = f"/api/v1/municipalities/{OTHER}/beneficiaries/{registry['annex 1']}"
    assert client.get(own, headers=other).status_code == 404
    assert people(engine) == 4


def test_without_a_token_nothing_is_said(client: FlaskClient, units: dict[str, int]) -> None:
    assert client.get(URL).status_code == 401
    assert client.post(URL, json={}).status_code == 401
