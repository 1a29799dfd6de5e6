"""The API document's pages (issue 12 item 8, ADR 0037): Swagger UI at /api/v1/docs and ReDoc
at /api/v1/docs/redoc, public, their files served by the platform (no CDN) under a CSP that
allows no inline script and nothing from elsewhere."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from kentra.platform.api import docs

CSP = "Content-Security-Policy"


def _sources(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.parametrize(
    ("url", "viewer"), [("/api/v1/docs", "swagger-ui-bundle.js"), ("/api/v1/docs/redoc", "redoc")]
)
def test_the_docs_pages_load_everything_from_the_platform(
    client: FlaskClient, url: str, viewer: str
) -> None:
    assert docs.installed(), "make docs-assets (part of make test) installs the viewers"
    page = client.get(url)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    policy = page.headers[CSP]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "http" not in policy  # no other origin: no CDN
    body = page.get_data(as_text=True)
    assert "<script>" not in body  # no inline script: every <script> names its file
    assert "/api/v1/openapi.json" in body
    sources = _sources(body)
    assert any(viewer in source for source in sources)
    for source in sources:
        assert source.startswith("/"), source  # this platform, nothing from elsewhere
        with client.get(source) as fetched:
            assert fetched.status_code == 200, source
            expected = {
                ".js": "text/javascript",
                ".css": "text/css",
                ".json": "application/json",
            }.get(source[source.rfind(".") :], "text/html")
            assert fetched.mimetype == expected, source


def test_only_the_viewers_files_are_served(client: FlaskClient) -> None:
    """node_modules holds more than the pages load (package.json, the packages' sources and
    their dependencies): none of it is reachable."""
    with client.get("/api/v1/docs/assets/redoc/redoc.standalone.js") as served:
        assert served.status_code == 200
    for url in (
        "/api/v1/docs/assets/redoc/package.json",
        "/api/v1/docs/assets/swagger-ui/package.json",
        "/api/v1/docs/assets/swagger-ui/../redoc/package.json",
        "/api/v1/docs/assets/react/index.js",
        "/api/v1/docs/assets/kentra/docs.py",
    ):
        assert client.get(url).status_code == 404, url


def test_without_the_viewers_the_page_says_how_to_install_them(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setattr(docs, "PACKAGES", tmp_path)
    page = client.get("/api/v1/docs")
    assert page.status_code == 503
    assert "make docs-assets" in page.get_data(as_text=True)
    assert client.get("/api/v1/docs/assets/swagger-ui/swagger-ui.css").status_code == 404


def test_the_api_document_names_the_problems_each_operation_answers(client: FlaskClient) -> None:
    """Problems as they are sent (application/problem+json, the Problem schema), no catch-all
    ``default``; 400 and 503 everywhere, 404 where the path names something, 413 and 422
    where a body is read, and a write's module's DomainError statuses (a centre that exists:
    409; the identity provider failing: 502)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            answers = operation["responses"]
            assert "default" not in answers, (path, method)
            assert {"400", "503"} <= set(answers), (path, method)
            if "{" in path:
                assert "404" in answers, (path, method)
            if "requestBody" in operation:
                assert {"413", "422"} <= set(answers), (path, method)
    centre = spec["paths"]["/api/v1/municipalities/{municipality_code}/units/centre"]["post"]
    assert {"409", "422", "502"} <= set(centre["responses"])
    conflict = spec["components"]["responses"]["CONFLICT"]
    assert conflict["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    parameters = spec["paths"]["/api/v1/municipalities/{municipality_code}/units"]["parameters"]
    assert parameters[0]["schema"]["pattern"] == "^[0-9]{4}$"


def test_the_api_document_holds_the_fields_rules(client: FlaskClient) -> None:
    """What the server checks is in the schemas: an ΑΦΜ's and a phone's shape, a postal
    code's range, FTE's bounds as a number, and the input layer's clean-text rule."""
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    onboarding = schemas["OnboardingRequestCreate"]["properties"]
    assert onboarding["body_vat"]["pattern"] == "^[0-9]{9}$"
    assert onboarding["contact_phone"]["pattern"] == "^\\+?[0-9]{7,15}$"
    assert onboarding["municipality_code"]["pattern"] == "^[0-9]{4}$"
    assert onboarding["body_type"]["enum"] == [
        "municipality",
        "npdd",
        "public_benefit_enterprise",
        "other_municipal_body",
    ]
    postal = re.compile(schemas["CentreCreate"]["properties"]["postal_code"]["pattern"])
    assert postal.match("10431")
    assert postal.match("85999")
    assert not postal.match("09999")
    assert not postal.match("86000")
    fte = schemas["StaffMemberCreate"]["properties"]["fte"]
    assert (fte["type"], fte["exclusiveMinimum"], fte["maximum"]) == ("number", 0, 1)
    assert schemas["StaffMember"]["properties"]["fte"]["type"] == "number"
    name = re.compile(schemas["StaffMemberCreate"]["properties"]["full_name"]["pattern"])
    assert name.match("Μαρία Παπαδοπούλου")
    assert not name.match("Μαρία\u202eΠαπα")
    assert not name.match("a\x07b")
