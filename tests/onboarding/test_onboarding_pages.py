"""The signup web page: the form, its Greek messages with every typed value kept, the policy's
refusal, duplicates, CSRF, and the confirmation.

Municipalities used here and nowhere else: 1203 (Βισαλτία, 16,036) and 1204 (Εμμανουήλ Παππάς,
11,585); 7403 (Γαύδος, 142) and 4501 (a test tenant) are read only. Every request and audit row
a test creates is removed after it.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from werkzeug.test import TestResponse

from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus
from tests.helpers import assert_contains_all, assert_labelled, csrf_token_of

URL = "/onboarding"
SENT = "/onboarding/sent"
CODES = ("1203", "1204")
TOO_SMALL = "7403"  # Γαύδος, 142 residents
VALID_VAT = "090000045"
FIELDS = (
    "municipality_code",
    "body_type",
    "body_legal_name",
    "body_vat",
    "contact_name",
    "contact_email",
    "contact_phone",
    "has_social_service",
)
SMALL_MUNICIPALITY_TEXT = (
    "Ο Δήμος έχει λιγότερους από 10.000 κατοίκους: δεν μπορεί να έχει δικό του Κέντρο "
    "Κοινότητας· μπορεί να εξυπηρετείται από Κινητή Μονάδα γειτονικού Κέντρου."
)


@pytest.fixture(autouse=True)
def clean(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as conn:
        conn.execute(
            delete(OnboardingRequest).where(OnboardingRequest.municipality_code.in_(CODES))
        )
        conn.execute(delete(PlatformAuditEvent).where(PlatformAuditEvent.tenant_code.in_(CODES)))


def page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient) -> str:
    """The token of the form, as a browser gets it (the session cookie stays in the client)."""
    return csrf_token_of(client, URL)


def form(**overrides: Any) -> dict[str, str]:
    data = {
        "municipality_code": "1203",
        "body_type": "municipality",
        "body_legal_name": "Δήμος Βισαλτίας",
        "body_vat": VALID_VAT,
        "contact_name": "Ελένη Παππά",
        "contact_email": f"rep-{uuid.uuid4().hex[:8]}@example.gr",
        "contact_phone": "2324 0 12345",
        "has_social_service": "true",
    }
    data.update(overrides)
    return data


def post(client: FlaskClient, data: dict[str, str]) -> TestResponse:
    return client.post(URL, data={**data, "csrf_token": csrf_token(client)})


def saved(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(OnboardingRequest)
                .where(OnboardingRequest.municipality_code == code)
            )
            or 0
        )


def summary(text: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', text, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


def test_the_form_is_greek_and_labels_every_field(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = page(response)
    assert '<html lang="el">' in text
    assert text.count("<h1>") == 1
    assert "Αίτηση ένταξης Δήμου" in text
    assert "Όλα τα πεδία είναι υποχρεωτικά." in text
    assert 'role="alert"' not in text
    assert_labelled(text, "municipality_code", "body_legal_name", "body_vat", "contact_name")
    assert_contains_all(
        text,
        '<label for="contact_email">',
        'type="email" id="contact_email"',
        'autocomplete="email"',
        'type="tel" id="contact_phone"',
        'autocomplete="tel"',
    )
    # Radio buttons: grouped, each option labelled.
    assert text.count("<fieldset") == 2
    assert "<legend>Φορέας υλοποίησης" in text
    for value, label in (
        ("municipality", "Ο ίδιος ο Δήμος"),
        ("npdd", "Δημοτικό ΝΠΔΔ"),
        ("public_benefit_enterprise", "Κοινωφελής δημοτική επιχείρηση"),
        ("other_municipal_body", "Άλλος δημοτικός φορέας"),
    ):
        assert f'<label for="body_type-{value}">{label}' in text
    assert '<label for="has_social_service-true">Ναι</label>' in text
    assert '<label for="has_social_service-false">Όχι</label>' in text
    # Every input but the token has a label.
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', text)
    assert len(ids) == 1 + 4 + 5 + 2  # the select, the radio buttons, the text inputs
    assert_labelled(text, *ids)


def test_the_municipality_list_has_every_municipality_and_marks_the_small_ones(
    client: FlaskClient,
) -> None:
    text = page(client.get(URL))
    options = re.findall(r'<option value="(\d{4})"[^>]*>([^<]+)</option>', text)
    assert len(options) == 332
    assert len({code for code, _ in options}) == 332
    names = dict(options)
    assert names[TOO_SMALL] == "Δήμος Γαύδου (7403) — κάτω από 10.000 κατοίκους"
    assert names["1203"] == "Δήμος Βισαλτίας (1203)"
    assert sum("κάτω από 10.000 κατοίκους" in name for name in names.values()) == 99
    assert text.count("<optgroup") == 13
    assert '<optgroup label="Περιφέρεια Κρήτης">' in text


def test_invalid_fields_are_a_422_with_a_summary_every_value_kept_and_nothing_saved(
    client: FlaskClient, engine: Engine
) -> None:
    data = form(body_vat="123456789", contact_phone="12345", has_social_service="false")
    response = post(client, data)
    assert response.status_code == 422
    text = page(response)
    assert text.startswith("<!doctype html>")
    box = summary(text)
    assert '<a href="#body_vat">ΑΦΜ του φορέα: Ο ΑΦΜ δεν είναι έγκυρος.</a>' in box
    assert '<a href="#contact_phone">Τηλέφωνο: Ο αριθμός τηλεφώνου δεν είναι έγκυρος.</a>' in box
    assert box.count("<li>") == 2
    # Each message next to its field, which points to it and is marked invalid.
    assert 'id="body_vat-error"' in text
    assert 'id="contact_phone-error"' in text
    assert re.search(
        r'<input [^>]*id="body_vat"[^>]*aria-describedby="body_vat-hint body_vat-error"'
        r' aria-invalid="true">',
        text,
    )
    assert re.search(r'<input [^>]*id="contact_phone"[^>]*aria-invalid="true">', text)
    assert not re.search(r'<input [^>]*id="contact_name"[^>]*aria-invalid', text)
    # Every typed value is still there, the wrong ones included.
    for name in ("body_legal_name", "body_vat", "contact_name", "contact_email", "contact_phone"):
        assert f'value="{html.escape(data[name])}"' in text, name
    assert '<option value="1203" selected>' in text
    assert re.search(r'id="body_type-municipality"[^>]*checked', text)
    assert re.search(r'id="has_social_service-false"[^>]*checked', text)
    assert not re.search(r'id="has_social_service-true"[^>]*checked', text)
    assert text.count(" checked") == 2
    assert saved(engine, "1203") == 0


def test_empty_fields_are_required_in_greek(client: FlaskClient, engine: Engine) -> None:
    response = post(client, dict.fromkeys(FIELDS, "") | {"contact_name": "   "})
    assert response.status_code == 422
    box = summary(page(response))
    assert box.count("Το πεδίο είναι υποχρεωτικό.") == len(FIELDS)
    # Radio groups are reached through their first option.
    assert '<a href="#body_type-municipality">Φορέας υλοποίησης:' in box
    assert '<a href="#has_social_service-true">Κοινωνική Υπηρεσία:' in box
    assert saved(engine, "1203") == 0


def test_a_municipality_under_10000_residents_is_refused_with_the_reason(
    client: FlaskClient, engine: Engine
) -> None:
    response = post(client, form(municipality_code=TOO_SMALL, body_legal_name="Δήμος Γαύδου"))
    assert response.status_code == 422
    text = page(response)
    assert SMALL_MUNICIPALITY_TEXT in summary(text)
    assert "Κινητή Μονάδα γειτονικού Κέντρου" in text
    assert "Mobile Unit" not in text  # the page is Greek; the API adds the English
    assert f'<option value="{TOO_SMALL}" selected>' in text
    assert 'value="Δήμος Γαύδου"' in text
    assert saved(engine, TOO_SMALL) == 0


def test_a_valid_request_is_saved_and_confirmed_then_a_second_one_is_a_409(
    client: FlaskClient, engine: Engine
) -> None:
    data = form(body_type="npdd", body_vat="EL 090 000 045")
    response = post(client, data)
    assert response.status_code == 303
    assert response.headers["Location"] == SENT
    with engine.connect() as conn:
        request = conn.execute(
            select(OnboardingRequest).where(OnboardingRequest.municipality_code == "1203")
        ).one()
        events = conn.scalars(
            select(PlatformAuditEvent.action).where(PlatformAuditEvent.tenant_code == "1203")
        ).all()
    assert request.status == RequestStatus.SUBMITTED
    assert request.body_type == "npdd"
    assert request.body_vat == VALID_VAT
    assert request.contact_email == data["contact_email"]
    assert request.contact_phone == "+302324012345"
    assert request.has_social_service is True
    assert events == ["onboarding.submitted"]

    confirmation = client.get(SENT)
    assert confirmation.status_code == 200
    text = page(confirmation)
    assert_contains_all(
        text,
        '<html lang="el">',
        "<h1>Το αίτημα καταχωρίστηκε</h1>",
        "Υπουργείο ή ο διαχειριστής της πλατφόρμας",
        "πρόσκληση με e-mail",
    )

    again = post(client, form(body_legal_name="Κοινωφελής Επιχείρηση Δήμου Βισαλτίας"))
    assert again.status_code == 409
    text = page(again)
    assert "Υπάρχει ήδη αίτηση του Δήμου που περιμένει απόφαση." in summary(text)
    assert "Η αίτηση δεν καταχωρίστηκε." in summary(text)
    assert 'value="Κοινωφελής Επιχείρηση Δήμου Βισαλτίας"' in text
    assert saved(engine, "1203") == 1


def test_a_municipality_already_on_the_platform_is_a_409(
    client: FlaskClient, engine: Engine
) -> None:
    response = post(client, form(municipality_code="4501", body_legal_name="Δήμος Αθηναίων"))
    assert response.status_code == 409
    assert "Ο Δήμος είναι ήδη στην πλατφόρμα." in summary(page(response))
    assert saved(engine, "4501") == 0


def test_a_post_without_a_valid_csrf_token_is_a_400_and_saves_nothing(
    client: FlaskClient, engine: Engine
) -> None:
    data = form(municipality_code="1204", body_legal_name="Δήμος Εμμανουήλ Παππά")
    missing = client.post(URL, data=data)
    assert missing.status_code == 400
    text = page(missing)
    assert "Η φόρμα έληξε" in summary(text)
    assert 'value="Δήμος Εμμανουήλ Παππά"' in text  # nothing typed is lost
    csrf_token(client)  # a session with a token, and a forged one posted
    forged = client.post(URL, data={**data, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert saved(engine, "1204") == 0


def test_the_home_page_links_to_the_form(client: FlaskClient) -> None:
    assert '<a href="/onboarding">Αίτηση ένταξης Δήμου</a>' in page(client.get("/"))
