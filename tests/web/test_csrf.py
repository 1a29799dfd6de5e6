"""CSRF from Flask-WTF's CSRFProtect for every unsafe request of the pages (issue 12, item 3):
checked before the view runs, never by hand; only blueprints that take no cookie are exempt;
a page form refused for its token shows itself again with what was typed (``on_stale_form``)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select

from kentra.auth.roles import Role
from kentra.auth.web import csrf
from kentra.platform.staff.models import StaffMember
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode
from tests.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[2]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_no_view_checks_csrf_by_hand() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for layer in ("platform", "auth")
        for path in (ROOT / layer).rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"csrf\.protect\(", line)
    ]
    assert found == []


def test_every_unsafe_route_is_checked_but_those_that_take_no_cookie(app: Flask) -> None:
    assert app.config["WTF_CSRF_CHECK_DEFAULT"] is True
    exempt = {blueprint.name for blueprint in csrf._exempt_blueprints}
    api = {
        rule.endpoint.split(".")[0]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
    }
    api_writes = {
        rule.endpoint.split(".")[0]
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.methods & UNSAFE
    }
    # Every API blueprint that writes is exempt (bearer tokens, no cookie), and nothing else
    # is but the health checks and the issuer (the API document's pages only read).
    assert api_writes <= exempt
    assert exempt - {"health", "oidc_issuer"} <= api
    checked = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods & UNSAFE and rule.endpoint.split(".")[0] not in exempt
    ]
    assert len(checked) >= 17
    # Each page form answers a stale token with the form again; logout has nothing typed.
    unmarked = [
        rule.rule
        for rule in checked
        if not getattr(app.view_functions[rule.endpoint], "_kentra_on_stale_form", None)
    ]
    assert unmarked == ["/auth/logout"]


def test_a_form_without_its_token_runs_nothing_and_keeps_what_was_typed(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, tenant_a: MunicipalityCode
) -> None:
    headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=tenant_a.value)
    with tenant_session(engine, tenant_a) as session:
        before = session.scalar(select(func.count()).select_from(StaffMember))
    response = client.post(
        f"/municipalities/{tenant_a.value}/staff/new",
        headers=headers,
        data={"full_name": "Ελένη Παπαδάκη", "email": "eleni@example.gr"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Ελένη Παπαδάκη"' in page
    assert "Η φόρμα έληξε" in page
    with tenant_session(engine, tenant_a) as session:
        assert session.scalar(select(func.count()).select_from(StaffMember)) == before
