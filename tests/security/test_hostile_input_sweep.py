"""Issue 10 §2: every hostile value, in every parameter and body property of every operation
of the OpenAPI document, and in every field of the main forms of the pages: 0 answers ≥ 500.

Each operation is called with a token of a role that may call it, in municipality 4501 (the
own municipality of the matrix), so the input layer is really reached: no answer may be a 401
or a 403. The valid sample each hostile value is put into is chosen so that the operation,
once the input is accepted, refuses on the object's state (a decided request, a unit that is
no open centre, a policy dated in the past, a missing If-Match): the sweep stores nothing.
Run with ``-s`` to see the figures (requests sent, statuses seen).
"""

from __future__ import annotations

import copy
import html
import io
import itertools
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select

from kentra.auth.flask import PUBLIC, requirement_of
from kentra.auth.permissions import ROLE_PERMISSIONS, Permission
from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.core import inputs
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import AnnexReason, Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from tests.factories import StaffMemberFactory
from tests.onboarding_samples import add_rejected_request, remove_request
from tests.test_authorization import token_kwargs, unit_scoped
from tests.tokens import TokenFactory

OWN = "4501"
MISSING_ID = 999_999_999
DECIDED_REQUEST_ID = 999_000_961
# Values that are hostile wherever text goes: a path segment, a query, a form, a JSON string.
HOSTILE_TEXT: dict[str, str] = {
    "NUL": "a\x00b",
    "C0 control": "a\x1bb",
    "C1 control": "a\x85b",
    "bidi override": "a\u202eb",
    "bidi isolate": "a\u2066b\u2069",
    "zero width": "a\u200bb",
    "byte-order mark": "\ufeffab",
    "over-long": "α" * (inputs.MULTILINE_MAX + 1),  # longer than any field may be
    "2^63": str(2**63),
    "10^30": str(10**30),
    "-2^63-1": str(-(2**63) - 1),
    "year 9999": "9999-12-31",
}


@dataclass(frozen=True)
class Raw:
    """A JSON literal written as is (Python's json module would not write it)."""

    text: str


# Values only a JSON body can carry.
HOSTILE_JSON: dict[str, Any] = {
    "2^63 as a number": 2**63,
    "10^30 as a number": 10**30,
    "-2^63-1 as a number": -(2**63) - 1,
    "lone surrogate": "a\ud800b",
    "1e400": Raw("1e400"),
    "5000 digits": Raw("9" * 5000),
    "nested 1000 deep": Raw("[" * 1000 + "]" * 1000),
    "an object": {"a": "\x00"},
}
DEEP_BODY = "[" * 1000 + "]" * 1000  # 2 KB, the probe's


# --- the samples each hostile value is put into ----------------------------------------------


@dataclass
class Objects:
    annex_id: int
    member_id: int


@pytest.fixture(scope="module")
def objects(engine: Engine) -> Iterator[Objects]:
    """In 4501: an open centre (as the authorization matrix has it), an annex of it (no open
    centre: adding units to it is refused) and a member whose contract ended (inviting them is
    refused); a decided onboarding request. Removed afterwards, with their audit rows."""
    code = parse_municipality_code(OWN)
    with tenant_session(engine, code) as session:
        ensure_unit(session, centre="kk-athinon", unit=None, kind=UnitKind.CENTRE, name="ΚΚ")
        annex = ensure_unit(
            session,
            centre="kk-athinon",
            unit="hostile-input-sweep",
            kind=UnitKind.ANNEX,
            name="Παράρτημα σάρωσης",
        )
        annex.annex_reason = AnnexReason(next(iter(AnnexReason)).value)
        annex.street_address, annex.postal_code = "Οδός Σάρωσης 1", "10431"
        added = StaffMemberFactory(
            session=session,
            unit_id=annex.id,
            full_name="Μέλος Σάρωσης",
            email="hostile-sweep@example.invalid",
            ended=True,
        )
        found = Objects(annex_id=annex.id, member_id=added.id)
    add_rejected_request(engine, DECIDED_REQUEST_ID, "2502", "hostile-sweep")
    yield found
    with tenant_session(engine, code) as session:
        session.execute(delete(StaffMember).where(StaffMember.id == found.member_id))
        session.execute(delete(Unit).where(Unit.id == found.annex_id))
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.object_id.in_([str(found.annex_id), str(found.member_id)])
            )
        )
    remove_request(engine, DECIDED_REQUEST_ID)


def path_samples(objects: Objects) -> dict[str, str]:
    """A value for every path parameter: one the operation finds where it matters."""
    return {
        "municipality_code": OWN,
        "unit_id": str(objects.annex_id),
        "staff_id": str(objects.member_id),
        "beneficiary_id": str(MISSING_ID),
        "regulation_id": str(MISSING_ID),
        "run_id": str(MISSING_ID),
        "request_id": str(DECIDED_REQUEST_ID),
        "job_id": str(MISSING_ID),
        "exception_id": str(MISSING_ID),
        "regional_unit_code": "45",  # its seat is known: deciding it is a 409
        "code": OWN,
    }


SIGNUP = {  # 4501 is on the platform: a 409 once the input is accepted
    "municipality_code": OWN,
    "body_type": "municipality",
    "body_legal_name": "Δήμος Αθηναίων",
    "body_vat": "090025537",
    "contact_name": "Ελένη Παππά",
    "contact_email": "sweep@example.gr",
    "contact_phone": "+302103721000",
    "has_social_service": True,
}
POLICY = {  # dated in the past: refused once the input is accepted
    "valid_from": "2000-01-01",
    "note": "Σάρωση εισόδου.",
    "head_profile_code": "social_worker",
    "bands": [{"min_population": 0, "max_population": None, "minimum_staff": 3}],
    "profiles": [
        {
            "code": "social_worker",
            "name_el": "Κοινωνικός Λειτουργός",
            "name_en": "Social worker",
            "mandatory": True,
        }
    ],
}
MEMBER = {  # a unit that does not exist: refused once the input is accepted
    "full_name": "Γιώργος Αντωνίου",
    "email": "sweep@example.gr",
    "unit_id": MISSING_ID,
    "profile_code": "psychologist",
    "start_date": "2024-03-01",
    "end_date": None,
    "fte": "0.5",
    "is_head": False,
}
PERSON = {  # a unit that does not exist: refused once the input is accepted
    "unit_id": MISSING_ID,
    "given_name": "Ευάγγελος",
    "family_name": "Σαρώσεως",
    "father_name": "Νικόλαος",
    "mother_name": "Μαρία",
    "given_name_latin": "Evangelos",
    "family_name_latin": "Saroseos",
    "born_on": "1985-03-15",
    "sex": "male",
    "nationality": "GR",
    "interpreter_needed": False,
    "residence_municipality_code": OWN,
    "address": "Οδός Σάρωσης 3",
    "phone": "+306912345678",
    "email": "sweep@example.gr",
    "amka": "15038501233",
    "vat": "090025537",
    "document_type": "passport",
    "document_number": "AB1234567",
}
CENTRE = {  # 4501 has an open centre
    "name": "Κέντρο Σάρωσης",
    "street_address": "Οδός Σάρωσης 2",
    "postal_code": "10431",
    "opening_date": "2024-01-01",
    "focus_groups": ["roma"],
    "body_type": "municipality",
    "body_legal_name": "Δήμος Αθηναίων",
    "body_vat": "090025537",
    "premises_accessible": True,
}
# Bodies by operation ("METHOD /path" as the OpenAPI document writes it).
BODIES: dict[str, dict[str, Any]] = {
    "POST /api/v1/onboarding/requests": SIGNUP,
    "POST /api/v1/onboarding/requests/{request_id}/approve": {"reason": "Εντάξει."},
    "POST /api/v1/onboarding/requests/{request_id}/reject": {"reason": "Όχι τώρα."},
    "POST /api/v1/policy/versions": POLICY,
    "POST /api/v1/municipalities/{municipality_code}/regulations": {
        "centre_id": MISSING_ID,
        "effective_date": "2025-01-31",
        "change_summary": "Αλλαγές.",
    },
    "POST /api/v1/municipalities/{municipality_code}/regulations/{regulation_id}/return": {
        "comment": "Χρειάζονται αλλαγές."
    },
    "POST /api/v1/service-area/exceptions": {  # the municipality itself: refused
        "municipality_code": OWN,
        "served_municipality_code": OWN,
        "reason": "Πλησιέστερο Κέντρο.",
    },
    "POST /api/v1/municipalities/{municipality_code}/staff": MEMBER,
    "POST /api/v1/municipalities/{municipality_code}/beneficiaries": PERSON,
    "PUT /api/v1/municipalities/{municipality_code}/beneficiaries/{beneficiary_id}/restriction": {
        "reason": "Αμφισβητεί την ακρίβεια των στοιχείων."
    },
    # A person who does not exist: 404 once the input is accepted.
    "PATCH /api/v1/municipalities/{municipality_code}/beneficiaries/{beneficiary_id}": {
        key: value for key, value in PERSON.items() if key != "unit_id"
    },
    # Changes and closing need If-Match, which the sweep never sends (428 after the input).
    "PATCH /api/v1/municipalities/{municipality_code}/staff/{staff_id}": MEMBER,
    "PUT /api/v1/supervision/seats/{regional_unit_code}": {
        "seat_municipality_code": OWN,
        "note": "Απόφαση σάρωσης.",
    },
    "PATCH /api/v1/municipalities/{municipality_code}/units/{unit_id}": {
        **CENTRE,
        "annex_reason": "roma",
        "served_municipalities": ["4502"],
    },
    "POST /api/v1/municipalities/{municipality_code}/units/centre": CENTRE,
    "POST /api/v1/municipalities/{municipality_code}/units/{unit_id}/annexes": {
        "name": "Παράρτημα Σάρωσης",
        "annex_reason": "roma",
        "street_address": "Οδός Σάρωσης 3",
        "postal_code": "10431",
        "opening_date": "2024-01-01",
    },
    "POST /api/v1/municipalities/{municipality_code}/units/{unit_id}/mobile-units": {
        "name": "Κινητή Σάρωσης",
        "served_municipalities": ["4502"],
        "opening_date": "2024-01-01",
    },
    "POST /api/v1/municipalities/{municipality_code}/units/{unit_id}/close": {
        "closed_on": "2024-12-31"
    },
}
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# --- the operations of the OpenAPI document ----------------------------------------------------


@dataclass
class Operation:
    method: str
    path: str  # as the document writes it: /api/v1/units/{unit_id}
    path_parameters: list[str]
    query_parameters: list[str]
    media_type: str | None
    body_properties: list[tuple[str | int, ...]]
    requirement: object = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _properties(
    document: dict[str, Any], schema: dict[str, Any], prefix: tuple[str | int, ...] = ()
) -> list[tuple[str | int, ...]]:
    """Every property, and every property of a list's first item, as a path into the body."""
    found: list[tuple[str | int, ...]] = []
    for name, declared in _resolve(document, schema).get("properties", {}).items():
        found.append((*prefix, name))
        prop = _resolve(document, declared)
        if "array" in prop.get("type", []):
            items = _resolve(document, prop.get("items", {}))
            found.append((*prefix, name, 0))
            if "properties" in items:
                found.extend(_properties(document, items, (*prefix, name, 0)))
    return found


def operations(
    app: Flask, client: FlaskClient, objects: Objects, tokens: TokenFactory
) -> list[Operation]:
    document = client.get("/api/v1/openapi.json").get_json()
    samples = path_samples(objects)
    adapter = app.url_map.bind("localhost")
    found = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method == "parameters":
                continue
            parameters = [*item.get("parameters", []), *spec.get("parameters", [])]
            content = spec.get("requestBody", {}).get("content", {})
            media_type = next(iter(content), None)
            operation = Operation(
                method=method.upper(),
                path=path,
                path_parameters=[p["name"] for p in parameters if p["in"] == "path"],
                query_parameters=[p["name"] for p in parameters if p["in"] == "query"],
                media_type=media_type,
                body_properties=_properties(document, content[media_type]["schema"])
                if media_type
                else [],
            )
            missing = [p for p in operation.path_parameters if p not in samples]
            assert missing == [], f"{operation.key}: add a sample for {missing}"
            assert media_type is None or operation.key in BODIES, f"add a body for {operation.key}"
            endpoint, _args = adapter.match(fill(path, samples), method=operation.method)
            operation.requirement = requirement_of(endpoint, app)
            operation.headers = headers_for(tokens, operation.requirement)
            found.append(operation)
    return found


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"{(\w+)}", lambda m: quote(values[m.group(1)], safe=""), path)


# The role each operation is called with: the first that holds the permission, in this order;
# a unit-scoped permission needs a unit role whose group covers the sample unit.
PREFERRED = [
    Role.MUNICIPALITY_ADMIN,
    Role.MINISTRY_OFFICER,
    Role.PLATFORM_OPERATOR,
    Role.REGIONAL_OFFICER,
    Role.SUPERVISOR_ADMINISTRATIVE,
    Role.SUPERVISOR_OPERATIONAL,
    Role.CENTRE_HEAD,
    Role.STAFF,
]


def role_headers(tokens: TokenFactory, role: Role) -> dict[str, str]:
    """A principal of ``role`` in 4501 (or its region), as the authorization matrix makes it;
    long-lived, as a slow machine may take more than a test token's five minutes."""
    claims = tokens.claims(role, **token_kwargs(role))
    claims["exp"] = claims["iat"] + 3600
    return {"Authorization": f"Bearer {tokens.sign(claims)}"}


def headers_for(tokens: TokenFactory, requirement: object) -> dict[str, str]:
    if requirement == PUBLIC:
        return {}
    assert isinstance(requirement, Permission), requirement
    candidates = [Role.CENTRE_HEAD] if unit_scoped(requirement) else PREFERRED
    role = next(r for r in candidates if requirement in ROLE_PERMISSIONS[r])
    return role_headers(tokens, role)


def set_at(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    changed = copy.deepcopy(body)
    target = changed
    for step, following in itertools.pairwise(path):
        if isinstance(step, int):
            while len(target) <= step:
                target.append({} if isinstance(following, str) else None)
        elif step not in target or not isinstance(target[step], dict | list):
            target[step] = [] if isinstance(following, int) else {}
        target = target[step]
    last = path[-1]
    if isinstance(last, int):
        while len(target) <= last:
            target.append(None)
    target[last] = value
    return changed


def json_text(body: Any) -> str:
    """The body as JSON, ``Raw`` values written as they are."""
    raws: dict[str, str] = {}

    def placeholders(value: Any) -> Any:
        if isinstance(value, Raw):
            key = f"@@raw{len(raws)}@@"
            raws[key] = value.text
            return key
        if isinstance(value, dict):
            return {k: placeholders(v) for k, v in value.items()}
        if isinstance(value, list):
            return [placeholders(v) for v in value]
        return value

    text = json.dumps(placeholders(body))  # ensure_ascii: a lone surrogate becomes \ud800
    for key, raw in raws.items():
        text = text.replace(f'"{key}"', raw)
    return text


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    refused_authorization: list[str] = field(default_factory=list)

    def record(self, what: str, status: int) -> None:
        self.statuses[status] += 1
        if status >= 500:
            self.failures.append(f"{status} {what}")
        if status in (401, 403):
            self.refused_authorization.append(f"{status} {what}")

    @property
    def sent(self) -> int:
        return sum(self.statuses.values())


def _send_api(
    client: FlaskClient, operation: Operation, samples: dict[str, str], tally: Tally
) -> None:
    base_body = BODIES.get(operation.key)

    def call(
        what: str,
        *,
        path_values: dict[str, str] | None = None,
        query: str = "",
        body: Any = None,
        raw_body: str | None = None,
        form: dict[str, Any] | None = None,
    ) -> None:
        url = fill(operation.path, {**samples, **(path_values or {})}) + query
        kwargs: dict[str, Any] = {"headers": operation.headers}
        if form is not None:
            kwargs.update(data=form, content_type="multipart/form-data")
        elif raw_body is not None:
            kwargs.update(data=raw_body, content_type="application/json")
        elif body is not None:
            kwargs.update(data=json_text(body), content_type="application/json")
        response = client.open(url, method=operation.method, **kwargs)
        response.close()
        tally.record(f"{operation.key} {what}", response.status_code)

    def default_body() -> dict[str, Any]:
        if operation.media_type == "multipart/form-data":
            return {"form": upload_form(base_body or {})}
        return {"body": base_body} if base_body is not None else {}

    for name in operation.path_parameters:
        for label, value in HOSTILE_TEXT.items():
            call(f"path {name}={label}", path_values={name: value}, **default_body())
    for name in operation.query_parameters:
        for label, value in HOSTILE_TEXT.items():
            call(f"query {name}={label}", query="?" + urlencode({name: value}), **default_body())
    call("query name NUL", query="?a%00b=1", **default_body())
    if operation.media_type == "application/json":
        assert base_body is not None
        call("deep body", raw_body=DEEP_BODY)
        for path in operation.body_properties:
            for label, value in {**HOSTILE_TEXT, **HOSTILE_JSON}.items():
                call(f"body {path}={label}", body=set_at(base_body, path, value))
    elif operation.media_type == "multipart/form-data":
        assert base_body is not None
        for path in operation.body_properties:
            (name,) = path
            for label, value in HOSTILE_TEXT.items():
                call(f"form {name}={label}", form={**upload_form(base_body), name: value})
                if name == "file":
                    hostile_file = (io.BytesIO(PDF), f"{value[:200]}.pdf", "application/pdf")
                    form = {**upload_form(base_body), "file": hostile_file}
                    call(f"file name {label}", form=form)


def upload_form(base: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: str(v) for k, v in base.items()},
        "file": (io.BytesIO(PDF), "regulation.pdf", "application/pdf"),
    }


def test_no_hostile_value_in_any_operation_is_a_server_error(
    app: Flask,
    client: FlaskClient,
    tokens: TokenFactory,
    tenant_a: object,
    objects: Objects,
) -> None:
    started = time.perf_counter()
    found = operations(app, client, objects, tokens)
    tally = Tally()
    samples = path_samples(objects)
    for operation in found:
        _send_api(client, operation, samples, tally)
    elapsed = time.perf_counter() - started
    print(  # the figures of the report (pytest -s)
        f"\nAPI sweep: {len(found)} operations, {tally.sent} requests in {elapsed:.1f} s; "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )
    assert tally.failures == []
    assert tally.refused_authorization == []  # every request got past authorization
    assert len(found) >= 40
    assert tally.sent >= 2500


# --- the pages' forms -----------------------------------------------------------------------------


@dataclass
class Form:
    url: str
    role: Role | None
    base: dict[str, str]
    fields: list[str]
    version_of: Callable[[Engine, Objects], int] | None = None
    method: str = "POST"
    upload: bool = False


def _member_version(engine: Engine, objects: Objects) -> int:
    with tenant_session(engine, parse_municipality_code(OWN)) as session:
        version = session.scalar(
            select(StaffMember.version).where(StaffMember.id == objects.member_id)
        )
        assert version is not None
        return version


def _annex_version(engine: Engine, objects: Objects) -> int:
    with tenant_session(engine, parse_municipality_code(OWN)) as session:
        version = session.scalar(select(Unit.version).where(Unit.id == objects.annex_id))
        assert version is not None
        return version


def forms(objects: Objects) -> list[Form]:
    units = f"/municipalities/{OWN}/units"
    annex = f"{units}/{objects.annex_id}"
    staff_form = {**{k: str(v) for k, v in MEMBER.items() if v is not None}, "fte": "0,5"}
    member_form = {**staff_form, "unit_id": str(objects.annex_id), "end_date": "2020-12-31"}
    annex_form = {
        "name": "Παράρτημα σάρωσης",
        "annex_reason": next(iter(AnnexReason)).value,
        "street_address": "Οδός Σάρωσης 1",
        "postal_code": "10431",
        "opening_date": "",
    }
    policy_form = {
        "valid_from": "2000-01-01",
        "note": "Σάρωση εισόδου.",
        "head_profile_code": "social_worker",
        "bands-0-min_population": "0",
        "bands-0-max_population": "",
        "bands-0-minimum_staff": "3",
        "profiles-0-code": "social_worker",
        "profiles-0-name_el": "Κοινωνικός Λειτουργός",
        "profiles-0-name_en": "Social worker",
        "profiles-0-mandatory": "true",
    }
    signup = {k: str(v).lower() if isinstance(v, bool) else v for k, v in SIGNUP.items()}
    admin, ministry = Role.MUNICIPALITY_ADMIN, Role.MINISTRY_OFFICER
    return [
        Form("/onboarding", None, signup, list(signup)),
        Form(
            f"/onboarding/requests/{DECIDED_REQUEST_ID}",
            ministry,
            {"decision": "reject", "reason": "Όχι τώρα."},
            ["reason", "decision"],
        ),
        Form(f"/municipalities/{OWN}/staff/new", admin, staff_form, list(staff_form)),
        Form(
            f"/municipalities/{OWN}/staff/{objects.member_id}",
            admin,
            member_form,
            list(member_form),
            _member_version,
        ),
        Form(
            f"{units}/new-centre",
            admin,
            {k: str(v) for k, v in CENTRE.items() if not isinstance(v, list | bool)},
            ["name", "street_address", "postal_code", "opening_date", "focus_groups"],
        ),
        Form(f"{annex}/annexes/new", admin, annex_form, list(annex_form)),
        Form(
            f"{annex}/mobile-units/new",
            admin,
            {"name": "Κινητή Σάρωσης", "served_municipalities": "4502"},
            ["name", "served_municipalities", "opening_date"],
        ),
        Form(annex, admin, annex_form, list(annex_form), _annex_version),
        Form(f"{annex}/close", admin, {}, ["closed_on"], _annex_version),
        Form("/ministry/policy", ministry, policy_form, list(policy_form)),
        Form(
            "/ministry/supervision",
            ministry,
            {"regional_unit_code": "25", "seat_municipality_code": OWN, "note": "Απόφαση."},
            ["regional_unit_code", "seat_municipality_code", "note"],
        ),
        Form(
            "/ministry/service-area",  # the municipality itself: refused once accepted
            ministry,
            {"municipality_code": OWN, "served_municipality_code": OWN, "reason": "Λόγος."},
            ["municipality_code", "served_municipality_code", "reason"],
        ),
        Form(
            f"/municipalities/{OWN}/regulations/new",
            admin,
            {"centre_id": str(MISSING_ID), "effective_date": "2025-01-31"},
            ["centre_id", "effective_date", "change_summary"],
            upload=True,
        ),
        Form("/compliance", ministry, {}, ["region", "status"], method="GET"),
        Form("/ministry/regulations", ministry, {}, ["region", "status"], method="GET"),
    ]


def test_no_hostile_value_in_a_form_of_the_pages_is_a_server_error(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, objects: Objects
) -> None:
    started = time.perf_counter()
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/onboarding").text)
    assert found is not None
    csrf = html.unescape(found.group(1))
    tally = Tally()
    pages = forms(objects)
    for form in pages:
        headers = role_headers(tokens, form.role) if form.role else {}
        for name in form.fields:
            for label, value in HOSTILE_TEXT.items():
                values: dict[str, Any] = {**form.base, name: value}
                if form.method == "GET":
                    response = client.get(form.url, query_string=values, headers=headers)
                else:
                    values["csrf_token"] = csrf
                    if form.version_of is not None:
                        values["version"] = str(form.version_of(engine, objects))
                    if form.upload:
                        values["file"] = (io.BytesIO(PDF), "regulation.pdf", "application/pdf")
                    response = client.post(form.url, data=values, headers=headers)
                response.close()
                tally.record(f"{form.method} {form.url} {name}={label}", response.status_code)
    elapsed = time.perf_counter() - started
    print(
        f"\nForm sweep: {len(pages)} forms, {tally.sent} requests in {elapsed:.1f} s; "
        f"statuses {dict(sorted(tally.statuses.items()))}"
    )
    assert tally.failures == []
    assert tally.refused_authorization == []
    assert 302 not in tally.statuses  # no form sent the visitor to the login
