"""The reference API and the tenant-scoped API root."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine

import kentra.platform
from kentra.auth.flask import PUBLIC, requirement_of
from kentra.auth.permissions import Permission
from kentra.auth.roles import Role
from kentra.platform.api import openapi_path
from kentra.platform.regulations.blueprint import ACTIONS as REGULATION_ACTIONS
from kentra.tenants.codes import MunicipalityCode
from kentra.tenants.models import TenantStatus
from kentra.tenants.provisioning import change_status
from tests.api.test_paging import walk
from tests.tokens import TokenFactory

PROBLEM = "application/problem+json"
Scratch = Callable[..., list[MunicipalityCode]]


def codes(client: FlaskClient, query: str = "") -> list[str]:
    response = client.get("/api/v1/reference/municipalities" + query)
    assert response.status_code == 200, response.get_json()
    return [m["code"] for m in response.get_json()]


# --- reference: list --------------------------------------------------------------------------


def test_lists_all_332_municipalities(client: FlaskClient) -> None:
    first = codes(client)
    assert len(first) == 50  # a page (ADR 0040); the Link header leads on
    pages = walk(client, "/api/v1/reference/municipalities?per_page=200", {})
    everything = [m["code"] for page in pages for m in page.get_json()]
    assert everything[:50] == first
    assert len(everything) == 332
    assert everything == sorted(everything)
    assert everything[0] == "0101"  # text codes: the leading zero is kept


def test_filters_by_region_and_regional_unit(client: FlaskClient) -> None:
    crete = codes(client, "?region=EL43")
    assert len(crete) == 24
    assert {"7101", "7403"} <= set(crete)
    thessaloniki = codes(client, "?regional_unit=07")
    assert thessaloniki
    assert all(c.startswith("07") for c in thessaloniki)
    assert codes(client, "?region=EL43&regional_unit=07") == []


@pytest.mark.parametrize("term", ["αθηνα", "ΑΘΗΝΑ", "Αθηναίων", "athin", "ΑΘΗΝΑΊΩΝ"])
def test_name_search_ignores_accents_and_case(client: FlaskClient, term: str) -> None:
    response = client.get("/api/v1/reference/municipalities", query_string={"q": term})
    names = {m["code"]: m["name_el"] for m in response.get_json()}
    assert names.get("4501") == "Δήμος Αθηναίων"


def test_search_finds_both_municipalities_of_the_same_name(client: FlaskClient) -> None:
    response = client.get("/api/v1/reference/municipalities", query_string={"q": "ηρακλειου"})
    found = {m["code"]: m["region"]["code"] for m in response.get_json()}
    assert found == {"4604": "EL30", "7101": "EL43"}


def test_search_wildcards_are_literal(client: FlaskClient) -> None:
    assert codes(client, "?q=%25") == []
    assert codes(client, "?q=_") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?region=Crete", "region"),
        ("?regional_unit=7", "regional_unit"),
        ("?q=" + "α" * 101, "q"),
        ("?colour=red", "colour"),
    ],
)
def test_bad_query_arguments_are_a_422_problem(client: FlaskClient, query: str, field: str) -> None:
    response = client.get("/api/v1/reference/municipalities" + query)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == 422
    assert field in body["errors"]["query"]


# --- reference: one ---------------------------------------------------------------------------


def test_one_municipality_with_region_unit_population_and_seat(client: FlaskClient) -> None:
    body = client.get("/api/v1/reference/municipalities/0714").get_json()
    assert body["code"] == "0714"
    assert body["name_el"] == "Δήμος Ωραιοκάστρου"
    assert body["name_latin"] == "Dimos Oraiokastrou"
    assert body["population"] == 40004
    assert body["region"] == {"code": "EL52", "name_el": "Περιφέρεια Κεντρικής Μακεδονίας"}
    assert body["regional_unit"]["code"] == "07"
    assert body["regional_unit"]["seat"]["municipality_code"] == "0701"
    assert body["is_regional_unit_seat"] is False


def test_seat_not_determined_is_null_never_guessed(client: FlaskClient) -> None:
    sporades = list(client.get("/api/v1/reference/municipalities?regional_unit=25").get_json())
    assert sporades
    for municipality in sporades:
        assert municipality["regional_unit"]["seat"] is None
        assert municipality["is_regional_unit_seat"] is None


def test_smallest_municipality_and_provisional_figures(client: FlaskClient) -> None:
    gavdos = client.get("/api/v1/reference/municipalities/7403").get_json()
    assert gavdos["population"] == 142
    pages = walk(client, "/api/v1/reference/municipalities?per_page=200", {})
    everything = [m for page in pages for m in page.get_json()]
    assert sum(m["population"] for m in everything) == 10_477_257
    assert sum(m["population_provisional"] for m in everything) == 12


@pytest.mark.parametrize("code", ["9999", "45O1", "4501;", "'"])
def test_unknown_municipality_is_a_404_problem(client: FlaskClient, code: str) -> None:
    response = client.get(f"/api/v1/reference/municipalities/{code}")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.get_json()["title"] == "Not Found"


# --- tenant-scoped root -----------------------------------------------------------------------


def test_tenant_profile_comes_from_its_own_schema(
    client: FlaskClient,
    tenant_a: MunicipalityCode,
    tenant_b: MunicipalityCode,
    tokens: TokenFactory,
) -> None:
    a = client.get(
        f"/api/v1/municipalities/{tenant_a}",
        headers=tokens.headers(Role.STAFF, municipality="4501"),
    ).get_json()
    b = client.get(
        f"/api/v1/municipalities/{tenant_b}",
        headers=tokens.headers(Role.STAFF, municipality="7101"),
    ).get_json()
    assert a == {
        "code": "4501",
        "name_el": "Δήμος Αθηναίων",
        "name_latin": "Dimos Athinaion",
        "status": "active",
    }
    assert b["code"] == "7101"
    assert b["name_el"] == "Δήμος Ηρακλείου"


def _not_found(client: FlaskClient, code: str, headers: dict[str, str]) -> dict[str, object]:
    response = client.get(f"/api/v1/municipalities/{code}", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    body: dict[str, object] = response.get_json()
    body.pop("instance")
    return body


def test_unknown_suspended_archived_and_malformed_tenants_get_the_same_404(
    client: FlaskClient, engine: Engine, scratch_tenants: Scratch, tokens: TokenFactory
) -> None:
    scratch_tenants("0301", "0302")
    change_status(engine, "0301", TenantStatus.SUSPENDED)
    change_status(engine, "0302", TenantStatus.ARCHIVED)
    ministry = tokens.headers(Role.MINISTRY_OFFICER)  # national reach: only existence decides
    never_provisioned = _not_found(client, "0303", ministry)
    assert never_provisioned["detail"] == "There is no municipality with this code on the platform."
    for code in ("0301", "0302", "9999", "45O1", "4501%3B%20drop%20schema%20x"):
        assert _not_found(client, code, ministry) == never_provisioned
    # Another municipality's staff get the very same answer for a tenant that exists.
    assert (
        _not_found(client, "4501", tokens.headers(Role.STAFF, municipality="7101"))
        == never_provisioned
    )
    # Resuming brings the suspended one back.
    change_status(engine, "0301", TenantStatus.ACTIVE)
    assert client.get("/api/v1/municipalities/0301", headers=ministry).status_code == 200


def test_openapi_document_lists_the_api(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/reference/municipalities" in spec["paths"]
    assert "/api/v1/municipalities/{municipality_code}" in spec["paths"]


def test_the_api_document_says_how_each_operation_authenticates(client: FlaskClient) -> None:
    """securitySchemes name the identity provider's discovery document and the bearer token;
    every operation that declares a permission requires them and documents its 401 and 403,
    every public one requires nothing; errors are described as they are sent."""
    app = client.application
    settings = app.extensions["kentra"].settings
    spec = client.get("/api/v1/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["openIdConnect"] == {
        "type": "openIdConnect",
        "openIdConnectUrl": f"{settings.issuer}/.well-known/openid-configuration",
    }
    assert schemes["bearer"]["scheme"] == "bearer"
    assert spec["servers"][0]["url"] == settings.base_url
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["properties"]) == {
        "type",
        "title",
        "status",
        "code",
        "detail",
        "instance",
        "errors",
    }
    assert set(problem["required"]) == {"type", "title", "status"}
    for name, response in spec["components"]["responses"].items():
        if "content" in response:
            assert list(response["content"]) == ["application/problem+json"], name
    rules = {
        (openapi_path(rule.rule), method.lower()): rule.endpoint
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
    }
    counted = {"public": 0, "authenticated": 0}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            requirement = requirement_of(rules[(path, method)], app)
            if requirement == PUBLIC:
                assert operation["security"] == [], (path, method)
                counted["public"] += 1
            else:
                assert isinstance(requirement, Permission), (path, method)
                assert operation["security"] == [{"bearer": []}, {"openIdConnect": []}]
                assert {"401", "403"} <= set(operation["responses"]), (path, method)
                if "{municipality_code}" in path:
                    assert "404" in operation["responses"], (path, method)
                counted["authenticated"] += 1
    assert counted["public"] >= 3
    assert counted["authenticated"] >= 20
    # The document's own description of a refusal is what the API sends.
    refused = client.get("/api/v1/municipalities/4501/units")
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert {"type", "title", "status", "instance"} <= set(refused.get_json())


def _views_calling(function: str) -> set[str]:
    """The functions of platform/*/blueprint.py that call ``function``, directly or through
    another function of their module (``_act`` in regulations)."""
    found: set[str] = set()
    for path in Path(kentra.platform.__path__[0]).glob("*/blueprint.py"):
        calls = {
            node.name: {
                call.func.id
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            }
            for node in ast.parse(path.read_text()).body
            if isinstance(node, ast.FunctionDef)
        }
        reaching = {function}
        while True:
            more = {name for name, called in calls.items() if called & reaching} - reaching
            if not more:
                break
            reaching |= more
        found |= reaching & set(calls)
    return found


def test_the_api_document_declares_if_match_and_etag_where_they_are_used(
    client: FlaskClient,
) -> None:
    """Every write that calls require_if_match documents the If-Match header and its 428 and
    412; the answers that carry an ETag document it (ADR 0031)."""
    app = client.application
    spec = client.get("/api/v1/openapi.json").get_json()
    views = {rule.endpoint.rsplit(".", 1)[-1]: rule for rule in app.url_map.iter_rules()}
    # Shared helpers: regulations' action, the registry's person to change.
    writes = _views_calling("require_if_match") - {"_act", "_for_change"}
    # Regulations' action views are made by _route_action, one per row of the action table.
    assert "_route_action" in writes
    writes = writes - {"_route_action"} | {action.endpoint for action in REGULATION_ACTIONS}
    assert writes == {
        "patch_unit",
        "post_close",
        "update_staff",
        "approve",
        "submit",
        "withdraw",
        "acknowledge",
        "return_",
        "correct_beneficiary",
        "restrict",
        "lift",
    }
    documented = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "If-Match" in headers:
                assert {"412", "428"} <= set(operation["responses"]), (path, method)
                documented.add((path, method))
    # Exactly the routes of those views, with their methods.
    assert documented == {
        (openapi_path(rule.rule), method.lower())
        for name, rule in views.items()
        if name in writes
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    unit = spec["paths"]["/api/v1/municipalities/{municipality_code}/units/{unit_id}"]["get"]
    assert "ETag" in unit["responses"]["200"]["headers"]
    listed = spec["paths"]["/api/v1/municipalities/{municipality_code}/units"]["get"]
    assert "ETag" not in listed["responses"]["200"].get("headers", {})


def test_reference_tables_hold_13_regions_and_74_regional_units(engine: Engine) -> None:
    from sqlalchemy import func, select

    from kentra.platform.reference.models import Municipality, Region, RegionalUnit

    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Region)) == 13
        assert conn.scalar(select(func.count()).select_from(RegionalUnit)) == 74
        assert conn.scalar(select(func.count()).select_from(Municipality)) == 332
        unknown_seats = conn.scalars(
            select(RegionalUnit.code).where(RegionalUnit.seat_municipality_code.is_(None))
        ).all()
    assert sorted(unknown_seats) == ["25", "52", "63"]


def test_a_record_id_comes_first_in_its_schema(client: FlaskClient) -> None:
    """Field groups are inherited before a schema's own fields; a record's id still leads."""
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    with_id = {
        name: list(s["properties"])
        for name, s in schemas.items()
        if "id" in s.get("properties", {})
    }
    assert {"Run", "RecomputeJob", "Regulation", "Exception"} <= set(with_id)
    assert {name: props[0] for name, props in with_id.items()} == dict.fromkeys(with_id, "id")
