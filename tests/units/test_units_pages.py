"""The structure's web pages: the list, the centre's form (and the refusal of a small
municipality before it), annexes and mobile units, the unit's page with its edit and closing
forms; Greek messages next to their fields, typed values kept, stale versions, CSRF.

Scratch tenants (dropped after each test, with their identity organizations): 2401 (Βόλος,
139,670), 2402 (Αλμυρός, 16,072) and 2403 (Ζαγορά-Μουρέσι, 4,562). 2404 and 2405 are served
municipalities, read only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from werkzeug.test import TestResponse

from kentra.auth.claims import organization_alias
from kentra.auth.issuer.models import IdentityOrganization
from kentra.auth.roles import Role
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.units import views as unit_views
from kentra.platform.units.models import Unit, UnitServedMunicipality
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.helpers import assert_contains_all, assert_labelled, csrf_token_of
from tests.identity import FailingIdentityAdmin, provider
from tests.tokens import TokenFactory

BIG, EDGE, SMALL = "2401", "2402", "2403"
CODES = (BIG, EDGE, SMALL)
VALID_VAT = "090000045"


@pytest.fixture(autouse=True)
def clean(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(
            delete(IdentityOrganization).where(
                IdentityOrganization.alias.in_([organization_alias(c) for c in CODES])
            )
        )
        conn.execute(delete(CentreCompliance).where(CentreCompliance.municipality_code.in_(CODES)))


@pytest.fixture
def tenants(scratch_tenants: Callable[..., list[MunicipalityCode]]) -> list[MunicipalityCode]:
    return scratch_tenants(*CODES)


class Browser:
    """A signed-in municipality admin's browser: the session cookie stays in the client."""

    def __init__(self, client: FlaskClient, tokens: TokenFactory, code: str = BIG) -> None:
        self.client = client
        self.headers = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=code)
        self.code = code

    def url(self, tail: str = "") -> str:
        return f"/municipalities/{self.code}/units{tail}"

    def get(self, tail: str = "") -> TestResponse:
        return self.client.get(self.url(tail), headers=self.headers)

    def token(self, tail: str) -> str:
        return csrf_token_of(self.client, self.url(tail), self.headers)

    def post(
        self, tail: str, data: dict[str, Any], *, token_from: str | None = None
    ) -> TestResponse:
        token = self.token(token_from if token_from is not None else tail)
        return self.client.post(
            self.url(tail), headers=self.headers, data={**data, "csrf_token": token}
        )


@pytest.fixture
def browser(client: FlaskClient, tokens: TokenFactory, tenants: list[MunicipalityCode]) -> Browser:
    return Browser(client, tokens)


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def summary(page: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', page, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


def centre_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Κέντρο Κοινότητας Βόλου",
        "street_address": "Ιάσονος 20",
        "postal_code": "38221",
        "opening_date": "2024-02-01",
        "focus_groups": ["poverty", "migrants"],
        "body_type": "municipality",
        "body_legal_name": "Δήμος Βόλου",
        "body_vat": VALID_VAT,
        "premises_distinct_space": "true",
        "premises_accessible": "true",
    }
    data.update(overrides)
    return data


def units_of(engine: Engine, code: str = BIG) -> list[tuple[Any, ...]]:
    with tenant_session(engine, parse_municipality_code(code)) as session:
        units = [
            (u.id, u.kind, u.centre, u.unit, u.name, u.closed_on, u.version, u.postal_code)
            for u in session.scalars(select(Unit).order_by(Unit.id))
        ]
        served = [
            (s.unit_id, s.municipality_code)
            for s in session.scalars(select(UnitServedMunicipality))
        ]
        return [*units, *served]


def register(browser: Browser) -> int:
    response = browser.post("/new-centre", centre_form())
    assert response.status_code == 303, text(response)
    found = re.fullmatch(rf"/municipalities/{BIG}/units/(\d+)", response.headers["Location"])
    assert found is not None
    return int(found.group(1))


def test_the_list_page_before_and_after_the_centre(browser: Browser) -> None:
    page = text(browser.get())
    assert_contains_all(
        page,
        '<html lang="el">',
        "<h1>Κέντρο και μονάδες</h1>",
        'aria-current="page">Κέντρο και μονάδες</a>',
        "Ο Δήμος δεν έχει ακόμη ανοιχτό Κέντρο Κοινότητας.",
        f'href="/municipalities/{BIG}/units/new-centre"',
    )
    centre_id = register(browser)
    page = text(browser.get())
    assert_contains_all(
        page,
        "Κέντρο Κοινότητας Βόλου",
        f'href="/municipalities/{BIG}/units/{centre_id}/annexes/new"',
        f'href="/municipalities/{BIG}/units/{centre_id}/mobile-units/new"',
    )


def test_the_centre_form_labels_every_field_and_says_accessibility_is_mandatory(
    browser: Browser,
) -> None:
    response = browser.get("/new-centre")
    assert response.status_code == 200
    page = text(response)
    assert "<h1>Καταχώριση του Κέντρου Κοινότητας</h1>" in page
    assert 'role="alert"' not in page
    ids = re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page)
    assert len(ids) >= 4 + 7 + 4 + 2 + 7
    assert_labelled(page, *ids)
    assert_contains_all(
        page,
        "<legend>Ομάδες στις οποίες εστιάζει το Κέντρο",
        "<legend>Φορέας υλοποίησης",
        "<legend>Στέγαση: ο χώρος του Κέντρου</legend>",
        "είναι υποχρεωτική για τη συμμόρφωση του Κέντρου",
        'name="csrf_token"',
    )


def test_a_registered_centre_is_shown_with_what_happened(browser: Browser, engine: Engine) -> None:
    centre_id = register(browser)
    page = text(browser.get(f"/{centre_id}"))
    assert "Το Κέντρο Κοινότητας καταχωρίστηκε." in page
    # The identity provider's group path is an internal name: never on the page.
    assert f"/m-{BIG}/" not in page
    assert_contains_all(
        page,
        'name="version" value="1"',
        'value="38221"',
        'id="premises_accessible" name="premises_accessible" value="true" checked',
        'value="poverty" checked',
    )
    assert units_of(engine)[0][1] == "centre"


def test_a_refused_centre_keeps_every_typed_value_and_links_each_message(
    browser: Browser, engine: Engine
) -> None:
    response = browser.post(
        "/new-centre",
        centre_form(postal_code="9999", body_vat="123456789", name="", focus_groups=["roma"]),
    )
    assert response.status_code == 422
    page = text(response)
    assert "<title>Σφάλμα: " in page
    box = summary(page)
    assert 'href="#postal_code"' in box
    assert "Ο ταχυδρομικός κώδικας έχει 5 ψηφία, από 10000 έως 85999 (π.χ. 10431)." in box
    assert "A postal code" not in page  # only the Greek part
    assert_contains_all(box, 'href="#body_vat"', "Ο ΑΦΜ δεν είναι έγκυρος.", 'href="#name"')
    assert_contains_all(
        page,
        'value="9999"',
        'value="123456789"',
        'value="Ιάσονος 20"',
        'value="roma" checked',
    )
    assert 'value="poverty" checked' not in page
    assert 'id="premises_accessible" name="premises_accessible" value="true" checked' in page
    assert 'aria-invalid="true"' in page
    assert units_of(engine) == []


def test_a_small_municipality_is_told_why_before_the_form(
    client: FlaskClient, tokens: TokenFactory, engine: Engine, tenants: list[MunicipalityCode]
) -> None:
    small = Browser(client, tokens, SMALL)
    page = text(small.get("/new-centre"))
    assert "Ο Δήμος έχει λιγότερους από 10.000 κατοίκους" in page
    assert "μπορεί να εξυπηρετείται από Κινητή Μονάδα γειτονικού Κέντρου" in page
    assert '<form method="post" action="/municipalities/2403/units/new-centre"' not in page
    assert "Ο Δήμος έχει λιγότερους από 10.000 κατοίκους" in text(small.get())
    # Posting anyway is refused, and nothing is saved.
    token = small.token("")
    refused = client.post(
        small.url("/new-centre"),
        headers=small.headers,
        data={**centre_form(postal_code="37001"), "csrf_token": token},
    )
    assert refused.status_code == 422
    assert "Ο Δήμος έχει λιγότερους από 10.000 κατοίκους" in summary(text(refused))
    assert units_of(engine, SMALL) == []


def test_a_missing_csrf_token_is_a_400_and_saves_nothing(browser: Browser, engine: Engine) -> None:
    response = browser.client.post(
        browser.url("/new-centre"), headers=browser.headers, data=centre_form()
    )
    assert response.status_code == 400
    page = text(response)
    assert "Η φόρμα έληξε" in summary(page)
    assert 'value="Ιάσονος 20"' in page
    assert units_of(engine) == []


def test_an_identity_failure_is_a_502_with_the_values_kept(
    browser: Browser, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:

    monkeypatch.setattr(
        unit_views, "identity_admin", provider(FailingIdentityAdmin("ensure_unit_group"))
    )
    response = browser.post("/new-centre", centre_form())
    assert response.status_code == 502
    page = text(response)
    assert "δεν αποθηκεύτηκε τίποτα" in summary(page)
    assert 'value="Ιάσονος 20"' in page
    assert units_of(engine) == []


def test_annex_and_mobile_unit_forms(browser: Browser, engine: Engine) -> None:
    centre_id = register(browser)
    page = text(browser.get(f"/{centre_id}/annexes/new"))
    assert "<legend>Λόγος ίδρυσης του Παραρτήματος" in page
    assert 'for="annex_reason-former_roma_centre">Πρώην Κέντρο Στήριξης Ρομά' in page
    refused = browser.post(
        f"/{centre_id}/annexes/new",
        {"name": "Παράρτημα Ρομά", "street_address": "Οδός 1", "postal_code": "38221"},
    )
    assert refused.status_code == 422
    assert 'href="#annex_reason-poverty_pocket"' in summary(text(refused))
    assert 'value="Παράρτημα Ρομά"' in text(refused)
    added = browser.post(
        f"/{centre_id}/annexes/new",
        {
            "name": "Παράρτημα Ρομά",
            "annex_reason": "roma",
            "street_address": "Οδός 1",
            "postal_code": "38221",
        },
    )
    assert added.status_code == 303

    page = text(browser.get(f"/{centre_id}/mobile-units/new"))
    assert '<select id="served_municipalities" name="served_municipalities" multiple' in page
    assert "data-searchable" in page  # a list to type in, where the component is installed
    groups = re.findall(r'<optgroup label="([^"]+)">', page)
    # The nearest first: the municipalities of Volos's own regional unit (Magnesia).
    assert "(του Δήμου σας)" in groups[0]
    assert "Μαγνησίας" in groups[0]
    first_group = page.split("<optgroup", 2)[1]
    assert 'value="2404"' in first_group  # Νότιο Πήλιο: no centre, in Magnesia
    assert ">Δήμος Νοτίου Πηλίου</option>" in first_group  # by name, no code on screen
    assert groups[1:] == sorted(set(groups[1:]), key=groups[1:].index)  # each region once
    assert f'<option value="{BIG}"' not in page  # the tenant has its own centre
    none_chosen = browser.post(f"/{centre_id}/mobile-units/new", {"name": "Κινητή Πηλίου"})
    assert none_chosen.status_code == 422
    assert 'href="#served_municipalities"' in summary(text(none_chosen))
    added = browser.post(
        f"/{centre_id}/mobile-units/new",
        {"name": "Κινητή Πηλίου", "served_municipalities": ["2404", "2405"]},
    )
    assert added.status_code == 303
    mobile_page = text(browser.client.get(added.headers["Location"], headers=browser.headers))
    assert "Η Κινητή Μονάδα προστέθηκε." in mobile_page
    assert '<option value="2404" selected>' in mobile_page
    assert len(units_of(engine)) == 3 + 2


def test_a_unit_without_a_reference_centre_is_refused_on_the_page(
    browser: Browser, engine: Engine
) -> None:
    centre_id = register(browser)
    annex = browser.post(
        f"/{centre_id}/annexes/new",
        {"name": "Π1", "annex_reason": "roma", "street_address": "Οδός 1", "postal_code": "38221"},
    )
    annex_id = int(annex.headers["Location"].rsplit("/", 1)[1])
    page = text(browser.get(f"/{annex_id}/annexes/new"))
    assert "Μια μονάδα χρειάζεται Κέντρο αναφοράς" in page
    before = units_of(engine)
    refused = browser.post(
        f"/{annex_id}/mobile-units/new",
        {"name": "Κινητή", "served_municipalities": ["2404"]},
        token_from="",
    )
    assert refused.status_code == 422
    assert units_of(engine) == before


def test_a_stale_edit_is_a_409_with_the_typed_values_and_a_notice(
    browser: Browser, engine: Engine
) -> None:
    centre_id = register(browser)
    fresh = browser.post(f"/{centre_id}", {**centre_form(name="Νέο όνομα"), "version": "1"})
    assert fresh.status_code == 303
    assert "Οι αλλαγές αποθηκεύτηκαν." in text(
        browser.client.get(fresh.headers["Location"], headers=browser.headers)
    )
    before = units_of(engine)
    stale = browser.post(f"/{centre_id}", {**centre_form(name="Τρίτο όνομα"), "version": "1"})
    assert stale.status_code == 409
    page = text(stale)
    assert "Κάποιος άλλος άλλαξε τα στοιχεία της μονάδας στο μεταξύ" in summary(page)
    assert 'value="Τρίτο όνομα"' in page
    assert 'name="version" value="2"' in page  # the next save is made on the current version
    assert units_of(engine) == before


def test_an_edit_refused_on_its_input_keeps_the_values(browser: Browser, engine: Engine) -> None:
    centre_id = register(browser)
    before = units_of(engine)
    response = browser.post(
        f"/{centre_id}", {**centre_form(postal_code="00001", body_legal_name=""), "version": "1"}
    )
    assert response.status_code == 422
    page = text(response)
    assert 'href="#postal_code"' in summary(page)
    assert 'value="00001"' in page
    assert units_of(engine) == before


def test_closing_on_the_page(browser: Browser, engine: Engine) -> None:
    centre_id = register(browser)
    annex = browser.post(
        f"/{centre_id}/annexes/new",
        {"name": "Π1", "annex_reason": "roma", "street_address": "Οδός 1", "postal_code": "38221"},
    )
    annex_id = int(annex.headers["Location"].rsplit("/", 1)[1])
    busy = browser.post(
        f"/{centre_id}/close",
        {"closed_on": "2025-05-31", "version": "1"},
        token_from=f"/{centre_id}",
    )
    assert busy.status_code == 409
    assert "ανοιχτά Παραρτήματα" in summary(text(busy))
    assert 'value="2025-05-31"' in text(busy)
    # The same refusal in English once English is chosen, and only in English (issue 12).
    browser.client.get("/language/en")
    try:
        busy = browser.post(
            f"/{centre_id}/close",
            {"closed_on": "2025-05-31", "version": "1"},
            token_from=f"/{centre_id}",
        )
    finally:
        browser.client.get("/language/el")
    assert busy.status_code == 409
    refusal = summary(text(busy))
    assert "The centre has open annexes or mobile units: close them first." in refusal
    assert "Παραρτήματα" not in refusal
    missing = browser.post(f"/{annex_id}/close", {"version": "1"}, token_from=f"/{annex_id}")
    assert missing.status_code == 422
    assert 'href="#closed_on"' in summary(text(missing))
    stale = browser.post(
        f"/{annex_id}/close", {"closed_on": "2025-05-31", "version": "7"}, token_from=f"/{annex_id}"
    )
    assert stale.status_code == 409
    no_token = browser.client.post(
        browser.url(f"/{annex_id}/close"),
        headers=browser.headers,
        data={"closed_on": "2025-05-31", "version": "1"},
    )
    assert no_token.status_code == 400
    closed = browser.post(
        f"/{annex_id}/close", {"closed_on": "2025-05-31", "version": "1"}, token_from=f"/{annex_id}"
    )
    assert closed.status_code == 303
    page = text(browser.get(f"/{annex_id}"))
    assert "Η μονάδα έκλεισε· παραμένει στο ιστορικό." in page
    assert "έκλεισε στις 31/05/2025" in page
    assert f'action="/municipalities/{BIG}/units/{annex_id}"' not in page  # no edit form
    assert "έκλεισε στις 31/05/2025" in text(browser.get())


def test_a_reader_sees_the_details_without_forms(
    client: FlaskClient, tokens: TokenFactory, browser: Browser
) -> None:
    centre_id = register(browser)
    head = tokens.headers(Role.CENTRE_HEAD, municipality=BIG)
    page = text(client.get(browser.url(f"/{centre_id}"), headers=head))
    assert "Ιάσονος 20, 38221" in page
    assert '<form method="post" action="/municipalities' not in page
    assert "Η προσβασιμότητα όλων των χώρων" in page
    assert client.get(browser.url("/new-centre"), headers=head).status_code == 403
    other = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=EDGE)
    assert client.get(browser.url(f"/{centre_id}"), headers=other).status_code == 404


def test_the_overview_shows_the_centre_summary(browser: Browser) -> None:
    overview = f"/municipalities/{BIG}"
    page = text(browser.client.get(overview, headers=browser.headers))
    assert "<h1>Δήμος Βόλου</h1>" in page
    assert 'aria-current="page">Επισκόπηση</a>' in page
    # Not stated whether it has a Social Service (provisioned without onboarding).
    assert "<dt>Εποπτεία</dt>\n<dd>Δεν έχει οριστεί</dd>" in page
    assert f'href="/municipalities/{BIG}/units/new-centre"' in page
    centre_id = register(browser)
    page = text(browser.client.get(overview, headers=browser.headers))
    assert f'href="/municipalities/{BIG}/units/{centre_id}">Κέντρο Κοινότητας Βόλου</a>' in page
    assert "Ιάσονος 20, 38221" in page
