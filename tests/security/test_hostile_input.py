"""Issue 10 §2: hostile input is refused by the input layer, never a 500 — one test per
finding, each written as the probe's request (tests/security/test_hostile_input_sweep.py sends
every such value to every operation).

Municipalities: 4501 (a session tenant) for the refusals, which store nothing; 3703 (Δήμος
Δυτικής Αχαΐας), a tenant of this module, where a request that the old code accepted would
have stored something.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, Integer, String, delete, select
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from kentra.platform.api import Schema
from kentra.platform.core import inputs
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.helpers import module_tenant
from tests.onboarding_samples import add_rejected_request, remove_request
from tests.tokens import TokenFactory

OWN = "4501"
CODE = "3703"
BEYOND_BIGINT = 2**63  # 9223372036854775808
DECIDED_REQUEST_ID = 999_000_951
NAME_NFC = "Ιωάννα Χατζηγεωργίου"
NAME_NFD = unicodedata.normalize("NFD", NAME_NFC)


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[MunicipalityCode]:
    with module_tenant(engine, CODE) as code:
        yield code


@pytest.fixture(scope="module")
def unit_id(engine: Engine, tenant: MunicipalityCode) -> int:
    with tenant_session(engine, tenant) as session:
        return ensure_unit(
            session, centre="kk-dytikis-achaias", unit=None, kind=UnitKind.CENTRE, name="ΚΚ"
        ).id


@pytest.fixture(autouse=True)
def no_members_left(engine: Engine, tenant: MunicipalityCode) -> Iterator[None]:
    yield
    with tenant_session(engine, tenant) as session:
        session.execute(delete(StaffMember))


@pytest.fixture(scope="module")
def decided_request(engine: Engine) -> Iterator[int]:
    """A rejected onboarding request: deciding it again passes validation, then is a 409."""
    add_rejected_request(engine, DECIDED_REQUEST_ID, "2501", "hostile-input")
    yield DECIDED_REQUEST_ID
    remove_request(engine, DECIDED_REQUEST_ID)


def admin(tokens: TokenFactory, code: str = CODE) -> dict[str, str]:
    return tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=code)


def member(unit: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "full_name": "Ελένη Παππά",
        "email": f"hostile-{uuid.uuid4().hex[:8]}@example.gr",
        "unit_id": unit,
        "profile_code": "psychologist",
        "start_date": "2024-03-01",
        "fte": "0.5",
    }
    body.update(overrides)
    return body


def field_errors(response: TestResponse, location: str = "json") -> dict[str, Any]:
    assert response.status_code == 422, response.get_data(as_text=True)
    errors: dict[str, Any] = response.get_json()["errors"][location]
    return errors


def stored_names(engine: Engine) -> list[str]:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        return list(session.scalars(select(StaffMember.full_name).order_by(StaffMember.id)))


# --- JSON nested 1,000 deep ---------------------------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000  # 2 KB


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/onboarding/requests", DEEP),  # public
        (f"/api/v1/municipalities/{OWN}/staff", DEEP),
        (f"/api/v1/municipalities/{OWN}/staff", '{"full_name": ' + DEEP + "}"),
        ("/api/v1/policy/versions", '{"bands": [' + DEEP + "]}"),
    ],
)
def test_json_nested_a_thousand_deep_is_refused_before_parsing(
    client: FlaskClient, tokens: TokenFactory, path: str, body: str
) -> None:
    role = Role.MINISTRY_OFFICER if "policy" in path else Role.MUNICIPALITY_ADMIN
    response = client.post(
        path,
        data=body,
        content_type="application/json",
        headers=tokens.headers(role, municipality=OWN),
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["detail"] == "The JSON body is nested deeper than 32 levels."
    # Within the limit, the body reaches the schema (a list is no object: 422).
    depth = inputs.JSON_MAX_DEPTH
    within = client.post(
        path,
        data="[" * depth + "]" * depth,
        content_type="application/json",
        headers=tokens.headers(role, municipality=OWN),
    )
    assert within.status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        '{"unit_id": 1e400}',  # overflows to infinity
        '{"unit_id": NaN}',
        '{"unit_id": ' + "9" * 5000 + "}",  # Python refuses 4,300 digits with a ValueError
        '{"full_name": "\\ud800"}',  # a lone surrogate: no UTF-8 text can hold it
        '{"\\udfff": 1}',
    ],
)
def test_json_that_is_no_value_of_ours_is_a_400(
    client: FlaskClient, tokens: TokenFactory, body: str
) -> None:
    response = client.post(
        f"/api/v1/municipalities/{OWN}/staff",
        data=body,
        content_type="application/json",
        headers=admin(tokens, OWN),
    )
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"json": ["Invalid JSON body."]}


# --- NUL and control characters -----------------------------------------------------------------


def test_nul_in_a_public_query_string_is_a_400(client: FlaskClient) -> None:
    response = client.get("/api/v1/reference/municipalities?q=a%00b")
    assert response.status_code == 400
    assert response.get_json()["detail"] == "The query string contains control characters."


def test_nul_in_a_public_path_segment_is_a_404(client: FlaskClient) -> None:
    response = client.get("/api/v1/reference/municipalities/45%0001")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Ελένη\x00Παππά", inputs.CONTROL_CHARACTERS),
        ("Ελένη\x1bΠαππά", inputs.CONTROL_CHARACTERS),
        ("Ελένη\x85Παππά", inputs.CONTROL_CHARACTERS),  # C1
        ("Ελένη\nΠαππά", inputs.CONTROL_CHARACTERS),  # a name is one line
        ("Ελένη \u202eάππαΠ", inputs.INVISIBLE_CHARACTERS),  # shown as "Ελένη Παππά"
        ("Ελένη \u2066Παππά\u2069", inputs.INVISIBLE_CHARACTERS),
        ("Ελ\u200bένη Παππά", inputs.INVISIBLE_CHARACTERS),
        ("\ufeffΕλένη Παππά", inputs.INVISIBLE_CHARACTERS),
        ("12345", inputs.NEEDS_A_LETTER),
        ("-- --", inputs.NEEDS_A_LETTER),
    ],
)
def test_names_with_control_direction_or_zero_width_characters_or_no_letter_are_refused(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    unit_id: int,
    value: str,
    message: str,
) -> None:
    response = client.post(
        f"/api/v1/municipalities/{CODE}/staff",
        json=member(unit_id, full_name=value),
        headers=admin(tokens),
    )
    assert field_errors(response) == {"full_name": [inputs.bilingual(message)]}
    assert stored_names(engine) == []


def test_the_public_signup_refuses_a_reversed_name(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/onboarding/requests",
        json={
            "municipality_code": OWN,
            "body_type": "municipality",
            "body_legal_name": "Δήμος Αθηναίων",
            "body_vat": "090025537",
            "contact_name": "Ελένη \u202eάππαΠ",
            "contact_email": "signup@example.gr",
            "contact_phone": "+302103721000",
            "has_social_service": True,
        },
    )
    assert field_errors(response)["contact_name"] == [inputs.bilingual(inputs.INVISIBLE_CHARACTERS)]


def test_line_breaks_are_kept_in_multi_line_text_and_control_characters_are_not(
    client: FlaskClient, tokens: TokenFactory, decided_request: int
) -> None:
    url = f"/api/v1/onboarding/requests/{decided_request}/reject"
    headers = tokens.headers(Role.MINISTRY_OFFICER)
    with_lines = client.post(url, json={"reason": "Λείπει:\n\t- ο ΑΦΜ"}, headers=headers)
    assert with_lines.status_code == 409  # valid; the request was decided already
    with_nul = client.post(url, json={"reason": "Λείπει\x00"}, headers=headers)
    assert field_errors(with_nul) == {"reason": [inputs.bilingual(inputs.CONTROL_CHARACTERS)]}


# --- ids beyond BIGINT ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "role"),
    [
        (f"/api/v1/municipalities/{OWN}/units/{BEYOND_BIGINT}", Role.MUNICIPALITY_ADMIN),
        (f"/api/v1/municipalities/{OWN}/units/{10**30}/workspace", Role.MUNICIPALITY_ADMIN),
        (f"/api/v1/municipalities/{OWN}/staff/{BEYOND_BIGINT}", Role.MUNICIPALITY_ADMIN),
        (f"/api/v1/municipalities/{OWN}/regulations/{BEYOND_BIGINT}", Role.MUNICIPALITY_ADMIN),
        (f"/api/v1/policy/jobs/{BEYOND_BIGINT}", Role.MINISTRY_OFFICER),
        (f"/api/v1/onboarding/requests/{BEYOND_BIGINT}", Role.MINISTRY_OFFICER),
        (f"/municipalities/{OWN}/units/{BEYOND_BIGINT}", Role.MUNICIPALITY_ADMIN),  # a page
    ],
)
def test_an_id_beyond_bigint_in_the_path_is_a_404(
    client: FlaskClient, tokens: TokenFactory, path: str, role: Role
) -> None:
    response = client.get(path, headers=tokens.headers(role, municipality=OWN))
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["PATCH", "POST"])
def test_an_id_beyond_bigint_is_a_404_whatever_the_method(
    client: FlaskClient, tokens: TokenFactory, method: str
) -> None:
    # Not a 405: the GET route of the same path must not count as a match either.
    url = f"/api/v1/municipalities/{OWN}/units/{BEYOND_BIGINT}"
    if method == "POST":
        url += "/close"
    response = client.open(url, method=method, json={}, headers=admin(tokens, OWN))
    assert response.status_code == 404


def test_an_id_beyond_bigint_in_the_query_is_a_422(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    response = client.get(
        f"/api/v1/municipalities/{OWN}/staff?unit_id={BEYOND_BIGINT}", headers=admin(tokens, OWN)
    )
    assert field_errors(response, "query") == {
        "unit_id": [inputs.bilingual(inputs.NUMBER_OUT_OF_RANGE)]
    }


@pytest.mark.parametrize("value", [10**30, BEYOND_BIGINT, -(2**63) - 1])
def test_an_id_beyond_bigint_in_the_body_is_a_422(
    client: FlaskClient, tokens: TokenFactory, unit_id: int, value: int
) -> None:
    response = client.post(
        f"/api/v1/municipalities/{OWN}/staff",
        json=member(unit_id, unit_id=value),
        headers=admin(tokens, OWN),
    )
    assert field_errors(response) == {"unit_id": [inputs.bilingual(inputs.NUMBER_OUT_OF_RANGE)]}


def test_an_id_beyond_bigint_in_a_form_body_is_a_422(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    response = client.post(
        f"/api/v1/municipalities/{OWN}/regulations",
        data={"centre_id": str(BEYOND_BIGINT), "effective_date": "2025-01-31"},
        content_type="multipart/form-data",
        headers=admin(tokens, OWN),
    )
    assert field_errors(response, "form") == {
        "centre_id": [inputs.bilingual(inputs.NUMBER_OUT_OF_RANGE)]
    }


def test_a_population_beyond_an_integer_column_is_a_422(
    client: FlaskClient, tokens: TokenFactory
) -> None:
    # staffing_bands.max_population is INTEGER: 2**31 fits BIGINT, not the column.
    body = {
        "valid_from": "2099-01-01",
        "note": "Σάρωση.",
        "head_profile_code": "social_worker",
        "bands": [
            {"min_population": 0, "max_population": 2**31, "minimum_staff": 3},
            {"min_population": 2**31 + 1, "max_population": None, "minimum_staff": 4},
        ],
        "profiles": [{"code": "social_worker", "name_el": "Κοινωνικός", "name_en": "Social"}],
    }
    response = client.post(
        "/api/v1/policy/versions", json=body, headers=tokens.headers(Role.MINISTRY_OFFICER)
    )
    out_of_range = [inputs.bilingual(inputs.NUMBER_OUT_OF_RANGE)]
    assert field_errors(response)["bands"] == {
        "0": {"max_population": out_of_range},
        "1": {"min_population": out_of_range},
    }


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("start_date", "9999-01-01"), ("start_date", "1899-12-31"), ("end_date", "2101-01-01")],
)
def test_a_contract_dated_beyond_plausible_bounds_is_a_422(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    unit_id: int,
    field: str,
    value: str,
) -> None:
    response = client.post(
        f"/api/v1/municipalities/{CODE}/staff",
        json=member(unit_id, **{field: value}),
        headers=admin(tokens),
    )
    assert field_errors(response) == {field: [inputs.bilingual(inputs.DATE_OUT_OF_RANGE)]}
    assert stored_names(engine) == []


# --- one text, one way ------------------------------------------------------------------------------


def test_greek_typed_two_ways_is_stored_one_way(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, unit_id: int
) -> None:
    assert NAME_NFD != NAME_NFC  # ά as α + U+0301, and as U+03AC
    for name in (NAME_NFD, NAME_NFC):
        response = client.post(
            f"/api/v1/municipalities/{CODE}/staff",
            json=member(unit_id, full_name=name),
            headers=admin(tokens),
        )
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["full_name"] == NAME_NFC
    assert stored_names(engine) == [NAME_NFC, NAME_NFC]


def test_greek_typed_two_ways_in_a_page_form_is_stored_one_way(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, unit_id: int
) -> None:
    url = f"/municipalities/{CODE}/staff/new"
    headers = admin(tokens)
    token = csrf_token(client, headers, url)
    form = {**member(unit_id, full_name=NAME_NFD, fte="0,5"), "csrf_token": token}
    response = client.post(url, headers=headers, data=form)
    assert response.status_code == 303, response.get_data(as_text=True)
    assert stored_names(engine) == [NAME_NFC]


# --- the pages: same rules, what was typed kept ----------------------------------------------------


def csrf_token(client: FlaskClient, headers: dict[str, str], url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url, headers=headers).text)
    assert found is not None
    return html.unescape(found.group(1))


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("el", inputs.INVISIBLE_CHARACTERS),
        ("en", inputs.MESSAGES[inputs.INVISIBLE_CHARACTERS]),
    ],
)
def test_a_page_refuses_a_reversed_name_with_the_field_message_and_keeps_what_was_typed(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    unit_id: int,
    language: str,
    message: str,
) -> None:
    client.get(f"/language/{language}")
    url = f"/municipalities/{CODE}/staff/new"
    headers = admin(tokens)
    typed = member(unit_id, full_name="Ελένη \u202eάππαΠ", fte="0,5", start_date="9999-01-01")
    response = client.post(
        url, headers=headers, data={**typed, "csrf_token": csrf_token(client, headers, url)}
    )
    client.get("/language/el")
    assert response.status_code == 422
    text = response.text
    assert '<p id="full_name-error" class="error-message">' in text
    assert html.escape(message) in text or message in text
    assert 'value="Ελένη \u202eάππαΠ"' in text  # what was typed, as typed
    assert f'value="{typed["email"]}"' in text
    assert 'value="9999-01-01"' in text
    assert stored_names(engine) == []


def test_the_signup_page_refuses_a_nul_and_keeps_the_form(client: FlaskClient) -> None:
    token = csrf_token(client, {}, "/onboarding")
    form = {
        "municipality_code": OWN,
        "body_type": "municipality",
        "body_legal_name": "Δήμος\x00Αθηναίων",
        "body_vat": "090025537",
        "contact_name": "Ελένη Παππά",
        "contact_email": "signup@example.gr",
        "contact_phone": "2103721000",
        "has_social_service": "true",
        "csrf_token": token,
    }
    response = client.post("/onboarding", data=form)
    assert response.status_code == 422
    assert inputs.CONTROL_CHARACTERS in response.text
    assert 'value="signup@example.gr"' in response.text


# --- lengths and ranges come from the columns ---------------------------------------------------


def _schemas(base: type[ma.Schema]) -> Iterator[type[ma.Schema]]:
    for schema in base.__subclasses__():
        yield schema
        yield from _schemas(schema)


def test_every_field_stored_in_a_column_is_bounded_by_it(app: Flask) -> None:
    """A ``String(n)`` column's fields are at most n long, an ``INTEGER`` column's fit in 32
    bits: what the schema lets through, the column can hold."""
    checked = 0
    for schema_class in set(_schemas(Schema)):
        schema = schema_class()
        model = schema.opts.model
        if model is None:
            continue
        for name, field in schema.fields.items():
            column = model.__table__.columns.get(field.attribute or name)
            if column is None:
                continue
            if isinstance(column.type, String) and column.type.length:
                longest = [v.max for v in field.validators if isinstance(v, ma.validate.Length)]
                longest += [
                    max(len(str(choice)) for choice in v.choices)
                    for v in field.validators
                    if isinstance(v, ma.validate.OneOf)
                ]
                assert longest, f"{schema_class.__name__}.{name}"
                assert min(m for m in longest if m) <= column.type.length
                checked += 1
            if type(column.type) is Integer:
                ranges = [v for v in field.validators if isinstance(v, ma.validate.Range)]
                assert max(r.min for r in ranges if r.min is not None) >= inputs.INT32_MIN
                assert min(r.max for r in ranges if r.max is not None) <= inputs.INT32_MAX
                checked += 1
    assert checked >= 10


def test_the_openapi_document_states_the_bounds(client: FlaskClient) -> None:
    document = json.loads(client.get("/api/v1/openapi.json").data)
    staff = document["components"]["schemas"]["StaffMemberCreate"]["properties"]
    assert staff["unit_id"]["maximum"] == inputs.INT64_MAX
    assert staff["start_date"]["x-maximum"] == "2100-12-31"
    unit = document["paths"]["/api/v1/municipalities/{municipality_code}/units/{unit_id}"]
    (unit_id,) = [p for p in unit["parameters"] if p["name"] == "unit_id"]
    assert unit_id["schema"]["maximum"] == inputs.INT64_MAX
