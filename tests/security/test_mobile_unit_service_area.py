"""Issue 10, §6: Athens could declare mobile units serving municipalities hundreds of
kilometres away. The served municipalities must lie in the area the policy in force draws
around the centre (its region, NUTS 2, by default); beyond it only under a ministry exception,
recorded with a reason and audited. Each test is the request as it was made: Athens' admin
declares a mobile unit serving a Peloponnese municipality, another tenant reads or records
exceptions, and a unit saved before the rule is edited.

Athens (4501, Attica) is a session tenant; its centre ``kk-athinon`` is ensured here and every
mobile unit, identity group and exception a test creates is removed afterwards. Served:
4103 (Επίδαυρος, Peloponnese, 7,030 residents) and 5208 (Ύδρα, Attica, 2,070), both without a
centre of their own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from werkzeug.test import TestResponse

from kentra.auth.issuer.models import IdentityGroup
from kentra.auth.roles import Role
from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.policy.models import PolicyVersion
from kentra.platform.service_area.models import ServiceAreaException
from kentra.platform.units.models import Unit, UnitKind, UnitServedMunicipality
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.policy.test_policy_editing import body as policy_body
from tests.policy.test_policy_editing import restore_policy  # noqa: F401 - the fixture
from tests.tokens import TokenFactory

ATHENS, HERAKLION = "4501", "7101"
PELOPONNESE, ATTICA_ISLAND = "4103", "5208"
CENTRE = "kk-athinon"
EXCEPTIONS = "/api/v1/service-area/exceptions"
OUTSIDE_REGION = "(4103) βρίσκεται εκτός της Περιφέρειας του Κέντρου"


@pytest.fixture
def centre_id(engine: Engine, tenant_a: MunicipalityCode) -> Iterator[int]:
    """Athens' centre; the mobile units, groups and exceptions of the test removed after it."""
    with tenant_session(engine, tenant_a) as session:
        centre = ensure_unit(
            session,
            centre=CENTRE,
            unit=None,
            kind=UnitKind.CENTRE,
            name="Κέντρο Κοινότητας Δήμου Αθηναίων",
        )
        found = centre.id
        before = set(session.scalars(select(Unit.id)))
    yield found
    with tenant_session(engine, tenant_a) as session:
        added = [u for u in session.scalars(select(Unit)) if u.id not in before]
        paths = [f"/m-{ATHENS}/{u.centre}/{u.unit}" for u in added]
        for unit in added:
            session.delete(unit)
    with engine.begin() as conn:
        conn.execute(delete(IdentityGroup).where(IdentityGroup.path.in_(paths)))
        conn.execute(
            delete(ServiceAreaException).where(
                ServiceAreaException.municipality_code.in_([ATHENS, HERAKLION])
            )
        )


def admin(tokens: TokenFactory, code: str = ATHENS) -> dict[str, str]:
    return tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=code)


def ministry(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.MINISTRY_OFFICER)


def declare(
    client: FlaskClient, tokens: TokenFactory, centre_id: int, served: list[str]
) -> TestResponse:
    return client.post(
        f"/api/v1/municipalities/{ATHENS}/units/{centre_id}/mobile-units",
        headers=admin(tokens),
        json={"name": "Κινητή Μονάδα Νησιών", "served_municipalities": served},
    )


def mobile_units(engine: Engine) -> int:
    with tenant_session(engine, parse_municipality_code(ATHENS)) as session:
        query = select(func.count()).select_from(Unit).where(Unit.kind == UnitKind.MOBILE_UNIT)
        return session.scalar(query) or 0


def page(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def refusal(response: TestResponse) -> str:
    assert response.status_code == 422, response.get_json()
    return str(response.get_json()["errors"]["json"]["served_municipalities"])


def allow(client: FlaskClient, tokens: TokenFactory, **overrides: Any) -> TestResponse:
    body = {
        "municipality_code": ATHENS,
        "served_municipality_code": PELOPONNESE,
        "reason": "Το πλησιέστερο Κέντρο, με απόφαση του Υπουργείου",
        **overrides,
    }
    return client.post(EXCEPTIONS, headers=ministry(tokens), json=body)


def test_athens_may_not_serve_a_peloponnese_municipality(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    before = mobile_units(engine)
    assert OUTSIDE_REGION in refusal(declare(client, tokens, centre_id, [PELOPONNESE]))
    assert OUTSIDE_REGION in refusal(
        declare(client, tokens, centre_id, [ATTICA_ISLAND, PELOPONNESE])
    )
    assert mobile_units(engine) == before
    # Within the region it is served as before.
    assert declare(client, tokens, centre_id, [ATTICA_ISLAND]).status_code == 201
    assert mobile_units(engine) == before + 1


def test_a_ministry_exception_allows_it_and_is_audited(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    recorded = allow(client, tokens)
    assert recorded.status_code == 201, recorded.get_json()
    exception = recorded.get_json()
    assert exception["served_municipality_name_el"] == "Δήμος Επιδαύρου"
    with engine.connect() as conn:
        audit = conn.execute(
            select(PlatformAuditEvent.action, PlatformAuditEvent.details).where(
                PlatformAuditEvent.action == "service_area.exception_recorded",
                PlatformAuditEvent.tenant_code == ATHENS,
            )
        ).all()
    assert any(details["exception_id"] == exception["id"] for _action, details in audit)

    created = declare(client, tokens, centre_id, [ATTICA_ISLAND, PELOPONNESE])
    assert created.status_code == 201, created.get_json()
    served = [s["code"] for s in created.get_json()["served_municipalities"]]
    assert served == [PELOPONNESE, ATTICA_ISLAND]
    # Athens sees the exception granted to it (not who decided it).
    area = client.get(f"/api/v1/municipalities/{ATHENS}/service-area", headers=admin(tokens))
    assert area.status_code == 200
    assert area.get_json()["area"] == "region"
    assert area.get_json()["region_code"] == "EL30"
    assert [e["served_municipality_code"] for e in area.get_json()["exceptions"]] == [PELOPONNESE]
    assert "decided_by" not in area.get_json()["exceptions"][0]

    # Withdrawn: the unit keeps serving 4103 until it is edited; an edit re-checks.
    withdrawn = client.delete(f"{EXCEPTIONS}/{exception['id']}", headers=ministry(tokens))
    assert withdrawn.status_code == 204
    unit = client.get(
        f"/api/v1/municipalities/{ATHENS}/units/{created.get_json()['id']}",
        headers=admin(tokens),
    )
    assert [s["code"] for s in unit.get_json()["served_municipalities"]] == served
    edit = client.patch(
        f"/api/v1/municipalities/{ATHENS}/units/{created.get_json()['id']}",
        headers={**admin(tokens), "If-Match": unit.headers["ETag"]},
        json={"name": "Κινητή Μονάδα Νησιών και Αργολίδας", "served_municipalities": served},
    )
    assert OUTSIDE_REGION in refusal(edit)
    again = client.get(unit.request.path, headers=admin(tokens))
    assert again.get_json()["name"] == "Κινητή Μονάδα Νησιών"  # nothing saved


def test_a_unit_saved_before_the_rule_is_not_broken_and_re_checked_when_edited(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    with tenant_session(engine, parse_municipality_code(ATHENS)) as session:
        old = Unit(
            kind=UnitKind.MOBILE_UNIT,
            centre=CENTRE,
            unit="kinhth-palia",
            name="Κινητή Μονάδα πριν από τον κανόνα",
            served_municipalities=[UnitServedMunicipality(municipality_code=PELOPONNESE)],
        )
        session.add(old)
        session.flush()
        old_id = old.id
    target = f"/api/v1/municipalities/{ATHENS}/units/{old_id}"
    read = client.get(target, headers=admin(tokens))
    assert read.status_code == 200
    units = client.get(f"/api/v1/municipalities/{ATHENS}/units", headers=admin(tokens))
    assert old_id in [u["id"] for u in units.get_json()]
    # Editing its served municipalities re-checks the whole list.
    edit = client.patch(
        target,
        headers={**admin(tokens), "If-Match": read.headers["ETag"]},
        json={"served_municipalities": [PELOPONNESE, ATTICA_ISLAND]},
    )
    assert OUTSIDE_REGION in refusal(edit)
    fixed = client.patch(
        target,
        headers={**admin(tokens), "If-Match": read.headers["ETag"]},
        json={"served_municipalities": [ATTICA_ISLAND]},
    )
    assert fixed.status_code == 200
    assert [s["code"] for s in fixed.get_json()["served_municipalities"]] == [ATTICA_ISLAND]


def test_the_form_offers_only_the_area_and_the_exceptions(
    client: FlaskClient, tokens: TokenFactory, centre_id: int
) -> None:
    form = f"/municipalities/{ATHENS}/units/{centre_id}/mobile-units/new"
    page = client.get(form, headers=admin(tokens)).get_data(as_text=True)
    assert f'<option value="{ATTICA_ISLAND}"' in page
    assert f'<option value="{PELOPONNESE}"' not in page
    assert allow(client, tokens).status_code == 201
    page = client.get(form, headers=admin(tokens)).get_data(as_text=True)
    assert f'<option value="{PELOPONNESE}"' in page


def test_another_tenant_cannot_see_or_record_exceptions(
    client: FlaskClient, tokens: TokenFactory, centre_id: int, tenant_b: MunicipalityCode
) -> None:
    assert allow(client, tokens).status_code == 201
    other = admin(tokens, HERAKLION)
    # Athens' area and exceptions: as missing as a municipality not on the platform.
    assert (
        client.get(f"/api/v1/municipalities/{ATHENS}/service-area", headers=other).status_code
        == 404
    )
    own = client.get(f"/api/v1/municipalities/{HERAKLION}/service-area", headers=other)
    assert own.status_code == 200
    assert own.get_json()["exceptions"] == []
    # Recording, listing and withdrawing are the ministry's.
    for role_headers in (other, admin(tokens)):
        body = {
            "municipality_code": HERAKLION,
            "served_municipality_code": PELOPONNESE,
            "reason": "Αυτο-εξαίρεση",
        }
        assert client.post(EXCEPTIONS, headers=role_headers, json=body).status_code == 403
        assert client.get(EXCEPTIONS, headers=role_headers).status_code == 403
        listed = client.get(EXCEPTIONS, headers=ministry(tokens)).get_json()
        assert (
            client.delete(f"{EXCEPTIONS}/{listed[0]['id']}", headers=role_headers).status_code
            == 403
        )
    assert [
        e["municipality_code"] for e in client.get(EXCEPTIONS, headers=ministry(tokens)).get_json()
    ] == [ATHENS]


def test_the_exception_needs_a_reason_and_two_municipalities(
    client: FlaskClient, tokens: TokenFactory, centre_id: int
) -> None:
    for overrides, field in (
        ({"reason": "  "}, "reason"),
        ({"served_municipality_code": ATHENS}, "served_municipality_code"),
        ({"served_municipality_code": "9999"}, "served_municipality_code"),
    ):
        response = allow(client, tokens, **overrides)
        assert response.status_code == 422, overrides
        assert field in response.get_json()["errors"]["json"]
    assert client.get(EXCEPTIONS, headers=ministry(tokens)).get_json() == []


@pytest.mark.usefixtures("restore_policy")
def test_the_area_is_policy_data(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    # The programme's policy: the region.
    with engine.connect() as conn:
        assert set(conn.scalars(select(PolicyVersion.mobile_unit_area))) == {"region"}
    # The ministry narrows it to the regional unit: Hydra (Islands) is another unit than
    # Central Athens, so it is refused too.
    published = client.post(
        "/api/v1/policy/versions",
        headers=ministry(tokens),
        json=policy_body(mobile_unit_area="regional_unit"),
    )
    assert published.status_code == 201, published.get_json()
    assert published.get_json()["mobile_unit_area"] == "regional_unit"
    refused = refusal(declare(client, tokens, centre_id, [ATTICA_ISLAND]))
    assert "(5208) βρίσκεται εκτός της Περιφερειακής Ενότητας του Κέντρου" in refused


def test_the_ministry_records_and_withdraws_an_exception_on_its_page(
    client: FlaskClient, engine: Engine, tokens: TokenFactory, centre_id: int
) -> None:
    page_url = "/ministry/service-area"
    headers = ministry(tokens)

    def token() -> str:
        found = re.search(
            r'name="csrf_token" value="([^"]+)"', page(client.get(page_url, headers=headers))
        )
        assert found is not None
        return html.unescape(found.group(1))

    empty = page(client.get(page_url, headers=headers))
    assert "στην Περιφέρεια του Κέντρου τους" in empty
    form = {"municipality_code": ATHENS, "served_municipality_code": PELOPONNESE, "reason": ""}
    refused = client.post(page_url, headers=headers, data={**form, "csrf_token": token()})
    assert refused.status_code == 422
    assert 'href="#reason"' in page(refused)
    assert f'<option value="{PELOPONNESE}" selected>' in page(refused)  # typed values kept
    form["reason"] = "Το πλησιέστερο Κέντρο"
    recorded = client.post(page_url, headers=headers, data={**form, "csrf_token": token()})
    assert recorded.status_code == 303
    shown = page(client.get(page_url, headers=headers))
    assert "Η εξαίρεση καταχωρίστηκε" in shown
    assert "Δήμος Επιδαύρου (4103)" in shown
    assert declare(client, tokens, centre_id, [PELOPONNESE]).status_code == 201
    with engine.connect() as conn:
        exception_id = conn.scalar(
            select(ServiceAreaException.id).where(ServiceAreaException.municipality_code == ATHENS)
        )
    withdraw = f"{page_url}/{exception_id}/withdraw"
    assert client.post(withdraw, headers=headers).status_code == 400  # no CSRF token
    assert client.post(withdraw, headers=headers, data={"csrf_token": token()}).status_code == 303
    assert "Δεν υπάρχουν εξαιρέσεις." in page(client.get(page_url, headers=headers))
    assert OUTSIDE_REGION in refusal(declare(client, tokens, centre_id, [PELOPONNESE]))
