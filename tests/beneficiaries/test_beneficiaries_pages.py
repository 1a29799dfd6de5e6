"""The Beneficiaries Registry's pages: the registry with its search box, registering a person
through the form (every message at its field, everything typed kept, likely duplicates shown
with links), a person's page; only the people of the reader's units, 404 to everyone else
(the municipality and units: ``desk.py``)."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from tests.beneficiaries.desk import CODE, OTHER, PAGES, URL, Desk, amka_of
from tests.helpers import assert_contains_all, csrf_token_of

NEW = f"{PAGES}/new"


def text(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def form(desk: Desk, **overrides: str) -> dict[str, str]:
    values = {
        "unit_id": str(desk.units["annex"]),
        "given_name": "Γιώργος",
        "family_name": "Παπαδόπουλος",
        "born_on": "1985-03-15",
        "amka": amka_of("150385"),
        "phone": "6912345678",
    }
    values.update(overrides)
    return values


def post(desk: Desk, headers: dict[str, str], values: dict[str, str]) -> TestResponse:
    token = csrf_token_of(desk.client, NEW, headers)
    return desk.client.post(NEW, headers=headers, data={**values, "csrf_token": token})


def test_the_registry_lists_the_units_people_and_its_search_box_finds_them(desk: Desk) -> None:
    giorgos = desk.registered(desk.staff(), desk.person(given_name="Γιώργος"))
    desk.registered(desk.staff(), desk.person(given_name="Σοφία", amka=None))
    page = text(desk.client.get(PAGES, headers=desk.staff()))
    assert_contains_all(
        page,
        f'<a href="/municipalities/{CODE}/beneficiaries" aria-current="page">Ωφελούμενοι</a>',
        f'<a href="{PAGES}/{giorgos["id"]}">Γιώργος Παπαδόπουλος</a>',
        "Σοφία Παπαδόπουλος",
        f'<a href="{NEW}">Καταγραφή ωφελούμενου</a>',
        'role="search"',
    )
    assert amka_of("150385") not in page  # identifiers stay on the person's page
    found = text(desk.client.get(PAGES, headers=desk.staff(), query_string={"q": "Giwrgos"}))
    assert "Γιώργος Παπαδόπουλος" in found
    assert "Σοφία" not in found


def test_a_person_is_registered_through_the_form_and_shown(desk: Desk) -> None:
    response = post(desk, desk.staff(), form(desk))
    assert response.status_code == 303
    (person_id,) = re.findall(rf"{PAGES}/(\d+)$", response.headers["Location"])
    shown = desk.client.get(f"{PAGES}/{person_id}", headers=desk.staff())
    assert shown.status_code == 200
    assert_contains_all(
        text(shown),
        "<h1>Γιώργος Παπαδόπουλος</h1>",
        "Giorgos Papadopoulos",
        amka_of("150385"),
        "+306912345678",
        "Το πρόσωπο καταγράφηκε στο μητρώο.",
    )


def test_a_refused_form_names_each_field_and_keeps_what_was_typed(desk: Desk) -> None:
    response = post(desk, desk.staff(), form(desk, family_name="", amka="15038501234"))
    assert response.status_code == 422
    page = text(response)
    assert_contains_all(
        page,
        'class="error-summary"',
        'href="#family_name"',
        'href="#amka"',
        'value="15038501234"',
        'value="Γιώργος"',
    )
    assert desk.people() == 0


def test_a_likely_duplicate_is_shown_with_a_link_and_registered_with_a_reason(
    desk: Desk,
) -> None:
    first = desk.registered(desk.staff(), desk.person(given_name="Γιώργος", amka=None))
    values = form(desk, given_name="Giorgos", family_name="Papadopoulos", amka="")
    refused = post(desk, desk.staff(), values)
    assert refused.status_code == 409
    assert_contains_all(
        text(refused),
        "Πιθανώς ήδη καταγεγραμμένο πρόσωπο",
        f'<a href="{PAGES}/{first["id"]}">Γιώργος Παπαδόπουλος</a>',
        'id="duplicate_reason"',
    )
    reason = "Άλλος πατέρας, άλλη διεύθυνση."
    kept = post(desk, desk.staff(), {**values, "duplicate_reason": reason})
    assert kept.status_code == 303
    assert desk.people() == 2


@pytest.mark.parametrize("who", ["admin", "supervisor", "other unit", "other municipality"])
def test_no_one_else_opens_the_registry_or_a_person(desk: Desk, who: str) -> None:
    person = desk.registered(desk.staff(), desk.person())
    headers = {
        "admin": desk.tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE),
        "supervisor": desk.tokens.headers(Role.SUPERVISOR_OPERATIONAL, municipality=CODE),
        "other unit": desk.staff("kinhth-1"),
        "other municipality": desk.staff(code=OTHER),
    }[who]
    assert desk.client.get(f"{PAGES}/{person['id']}", headers=headers).status_code == 404
    if who != "other unit":  # the mobile unit's staff have a registry of their own
        assert desk.client.get(PAGES, headers=headers).status_code == 404
        assert desk.client.get(NEW, headers=headers).status_code == 404


def test_a_restricted_persons_page_says_so_and_the_registry_leaves_them_out(desk: Desk) -> None:
    person = desk.registered(desk.staff(), desk.person())
    reason = "Αμφισβητεί την ακρίβεια της διεύθυνσης."
    restricted = desk.client.put(
        f"{URL}/{person['id']}/restriction",
        headers={**desk.head(), "If-Match": '"1"'},
        json={"reason": reason},
    )
    assert restricted.status_code == 200
    page = text(desk.client.get(f"{PAGES}/{person['id']}", headers=desk.staff()))
    assert "ΓΚΠΔ, άρθρο 18" in page
    assert reason in page
    assert f'{PAGES}/{person["id"]}"' not in text(desk.client.get(PAGES, headers=desk.staff()))
