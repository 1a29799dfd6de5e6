"""The Beneficiaries Registry API: registering a person (validation that keeps nothing half
saved, the ΑΜΚΑ against the date of birth, identifiers registered once, likely duplicates),
reading, searching and correcting only inside the caller's units, 404 to everyone else, and
every access audited (the municipality and units: ``desk.py``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import TestResponse

from kentra.auth.roles import Role
from kentra.platform.core.models import local_today
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from tests.beneficiaries.desk import CODE, OTHER, URL, Desk, amka_of
from tests.factories import VALID_VAT, BeneficiaryFactory

# --- registering ------------------------------------------------------------------------------


def test_a_person_is_registered_with_the_latin_names_proposed_and_audited_by_id(desk: Desk) -> None:
    headers = desk.staff()
    body = desk.registered(headers, desk.person(given_name="  Ευάγγελος "))
    assert body["given_name"] == "Ευάγγελος"
    assert (body["given_name_latin"], body["family_name_latin"]) == ("Evangelos", "Papadopoulos")
    assert (body["born_on"], body["birth_year"]) == ("1985-03-15", 1985)
    assert body["phone"] == "+306912345678"
    assert body["registered_on"] == local_today().isoformat()
    assert body["unit_id"] == desk.units["annex"]
    # The likely-duplicate check read no one; the registration is audited by id.
    (match, register) = [(a, actor, o, d) for a, actor, o, d in desk.audit()]
    assert match[0::2] == ("beneficiaries.match", None)
    assert (match[3]["count"], match[3]["beneficiary_ids"]) == (0, [])
    action, actor, object_id, details = register
    assert (action, object_id, details) == (
        "beneficiaries.register",
        str(body["id"]),
        {"unit_id": desk.units["annex"]},
    )
    assert actor  # the token's subject: who registered, never whom (ids only above)


def test_latin_names_typed_as_a_passport_writes_them_are_kept(desk: Desk) -> None:
    body = desk.registered(
        desk.staff(),
        desk.person(given_name_latin="Vangelis", family_name_latin="Papadopoulos-Smith"),
    )
    assert (body["given_name_latin"], body["family_name_latin"]) == (
        "Vangelis",
        "Papadopoulos-Smith",
    )


def test_every_invalid_field_is_named_at_once_and_nothing_is_saved(desk: Desk) -> None:
    response = desk.register(
        desk.staff(),
        desk.person(
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
    assert desk.people() == 0


def test_names_and_the_unit_are_required(desk: Desk) -> None:
    response = desk.register(desk.staff(), {"given_name": "  ", "family_name": "1234"})
    errors = response.get_json()["errors"]["json"]
    assert response.status_code == 422
    assert set(errors) == {"unit_id", "given_name", "family_name"}


def test_a_document_number_needs_its_type(desk: Desk) -> None:
    response = desk.register(desk.staff(), desk.person(document_number="ab123456"))
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
    desk: Desk,
    overrides: dict[str, Any],
    code: str,
    field: str | None,
) -> None:
    response = desk.register(desk.staff(), desk.person(**overrides))
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["code"] == code
    if field is not None:
        assert field in problem["errors"]["json"]
    assert desk.people() == 0


def test_the_century_of_the_amka_is_the_date_of_births(desk: Desk) -> None:
    # python-stdnum would read 150305 as 1905: a child born in 2005 is registered.
    body = desk.registered(desk.staff(), desk.person(born_on="2005-03-15", amka=amka_of("150305")))
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
    desk: Desk,
    first: dict[str, Any],
    second: dict[str, Any],
    field: str,
) -> None:
    desk.registered(desk.staff(), desk.person(**first))
    # Even from a unit that cannot see the first person: an identifier is the municipality's.
    response = desk.register(
        desk.staff("kinhth-1"), desk.person(**{**second, "unit_id": desk.units["mobile"]})
    )
    assert response.status_code == 409, response.get_json()
    problem = response.get_json()
    assert problem["code"] == "beneficiaries.already_registered"
    assert field in problem["errors"]["json"]
    assert desk.people() == 1


def test_the_same_number_on_another_kind_of_document_is_another_document(desk: Desk) -> None:
    for name, kind in (("Άννα", "passport"), ("Σοφία", "residence_permit")):
        desk.registered(
            desk.staff(),
            desk.person(given_name=name, amka=None, document_type=kind, document_number="X1234567"),
        )


@pytest.mark.parametrize("unit", ["centre", "mobile", "closed", "centre 2"])
def test_staff_register_only_in_their_own_open_unit(desk: Desk, unit: str) -> None:
    response = desk.register(desk.staff(), desk.person(unit_id=desk.units[unit]))
    assert response.status_code == 422
    assert response.get_json()["code"] == "beneficiaries.not_your_unit"
    assert desk.people() == 0


def test_a_centre_head_registers_in_the_centres_annexes_and_mobile_units(desk: Desk) -> None:
    for unit, name, serial in (
        ("centre", "Άννα", "0001"),
        ("annex", "Σοφία", "0002"),
        ("mobile", "Ελένη", "0003"),
    ):
        body = desk.person(
            unit_id=desk.units[unit], given_name=name, amka=amka_of("150385", serial)
        )
        assert desk.registered(desk.head(), body)["unit_id"] == desk.units[unit]


# --- reading and searching -------------------------------------------------------------------


@pytest.fixture
def registry(
    desk: Desk,
) -> dict[str, int]:
    """Four people: two of the annex, one of the mobile unit, one of the second centre."""
    made = {
        "annex 1": (desk.head(), desk.person()),
        "annex 2": (
            desk.head(),
            desk.person(
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
            desk.head(),
            desk.person(unit_id=desk.units["mobile"], given_name="Ελένη", amka=None, phone=None),
        ),
        "centre 2": (
            desk.head("kk-messinis"),
            desk.person(unit_id=desk.units["centre 2"], given_name="Μαρία", amka=None, phone=None),
        ),
    }
    return {key: desk.registered(headers, body)["id"] for key, (headers, body) in made.items()}


def test_each_reads_the_people_of_their_units_only_newest_first(
    desk: Desk, registry: dict[str, int]
) -> None:
    assert desk.found(desk.staff()) == [registry["annex 2"], registry["annex 1"]]
    assert desk.found(desk.staff("kinhth-1")) == [registry["mobile"]]
    assert desk.found(desk.head()) == [
        registry["mobile"],
        registry["annex 2"],
        registry["annex 1"],
    ]
    assert desk.found(desk.head("kk-messinis")) == [registry["centre 2"]]


def test_one_person_is_read_by_their_units_only(desk: Desk, registry: dict[str, int]) -> None:
    url = f"{URL}/{registry['annex 1']}"
    assert desk.client.get(url, headers=desk.staff()).status_code == 200
    assert desk.client.get(url, headers=desk.head()).status_code == 200
    assert desk.client.get(url, headers=desk.staff("kinhth-1")).status_code == 404
    assert desk.client.get(url, headers=desk.head("kk-messinis")).status_code == 404
    assert desk.client.get(f"{URL}/999999999", headers=desk.staff()).status_code == 404


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
    desk: Desk,
    registry: dict[str, int],
    q: str,
    who: list[str],
) -> None:
    assert desk.found(desk.staff(), q) == [registry[key] for key in who]


def test_reads_and_searches_are_audited_with_their_terms_and_counts(
    desk: Desk, registry: dict[str, int]
) -> None:
    before = len(desk.audit())
    desk.found(desk.staff(), "Παπαδόπουλος")
    desk.found(desk.staff())
    desk.client.get(f"{URL}/{registry['annex 1']}", headers=desk.staff())
    desk.client.get(f"{URL}/{registry['mobile']}", headers=desk.staff())  # 404: not a read
    entries = [(action, object_id, details) for action, _, object_id, details in desk.audit()]
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


def test_the_list_pages_by_keyset_with_links(desk: Desk, registry: dict[str, int]) -> None:
    first = desk.client.get(URL, headers=desk.head(), query_string={"per_page": 2})
    assert [p["id"] for p in first.get_json()] == [registry["mobile"], registry["annex 2"]]
    assert 'rel="next"' in first.headers["Link"]
    cursor = first.headers["Link"].split("cursor=")[1].split("&")[0].split(">")[0]
    second = desk.client.get(
        URL, headers=desk.head(), query_string={"per_page": 2, "cursor": cursor}
    )
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
    desk: Desk,
    registry: dict[str, int],
    role: Role,
) -> None:
    headers = desk.tokens.headers(role, municipality=CODE, region="EL65")
    before = desk.audit()
    assert desk.client.get(URL, headers=headers).status_code == 404
    assert desk.client.get(f"{URL}/{registry['annex 1']}", headers=headers).status_code == 404
    assert desk.register(headers, desk.person(amka=None)).status_code == 404
    assert desk.audit() == before


def test_another_municipalitys_staff_find_nothing_here(
    desk: Desk, registry: dict[str, int]
) -> None:
    other = desk.staff(code=OTHER)
    assert desk.client.get(URL, headers=other).status_code == 404
    assert desk.client.get(f"{URL}/{registry['annex 1']}", headers=other).status_code == 404
    assert desk.register(other, desk.person(amka=None)).status_code == 404
    # In their own municipality, this one's person id is nobody.
    own = f"/api/v1/municipalities/{OTHER}/beneficiaries/{registry['annex 1']}"
    assert desk.client.get(own, headers=other).status_code == 404
    assert desk.people() == 4


def test_without_a_token_nothing_is_said(desk: Desk) -> None:
    assert desk.client.get(URL).status_code == 401
    assert desk.client.post(URL, json={}).status_code == 401


# --- likely the same person -------------------------------------------------------------------


def likely(desk: Desk, headers: dict[str, str], **person: Any) -> list[tuple[int, int]]:
    response = desk.client.get(f"{URL}/matches", headers=headers, query_string=person)
    assert response.status_code == 200, response.get_json()
    return [(match["person"]["id"], match["similarity"]) for match in response.get_json()]


def test_a_likely_same_person_is_refused_until_the_registrar_says_why_not(desk: Desk) -> None:
    first = desk.registered(desk.staff(), desk.person(given_name="Γιώργος", amka=None))
    # Another spelling, another day of the same year, no identifier to tell them apart.
    second = desk.person(
        given_name="Giorgos", family_name="Papadopoulos", born_on="1985-07-01", amka=None
    )
    refused = desk.register(desk.staff(), second)
    assert refused.status_code == 409, refused.get_json()
    problem = refused.get_json()
    assert problem["code"] == "beneficiaries.likely_duplicate"
    assert "duplicate_reason" in problem["errors"]["json"]
    assert "1 πιθανώς ίδια" in problem["detail"]
    assert desk.people() == 1

    reason = "Άλλος πατέρας και άλλη διεύθυνση: δεν είναι το ίδιο πρόσωπο."
    kept = desk.registered(desk.staff(), {**second, "duplicate_reason": reason})
    (*_, (action, _, object_id, details)) = desk.audit()
    assert (action, object_id) == ("beneficiaries.register", str(kept["id"]))
    assert details["likely_duplicates"] == [first["id"]]
    assert details["duplicate_reason"] == reason


def test_only_the_registrars_own_people_make_a_registration_a_likely_duplicate(
    desk: Desk,
) -> None:
    desk.registered(desk.staff(), desk.person(amka=None))
    # The mobile unit's staff do not see the annex's person: the head's review finds such pairs.
    desk.registered(desk.staff("kinhth-1"), desk.person(unit_id=desk.units["mobile"], amka=None))


def test_likely_matches_are_the_callers_people_born_that_year_with_names_alike(
    desk: Desk,
) -> None:
    cousin = "Ξάδερφος του Γεωργίου, άλλος πατέρας."
    georgios = desk.registered(desk.head(), desk.person(given_name="Γεώργιος", amka=None))
    giorgos = desk.person(given_name="Γιώργος", amka=None, duplicate_reason=cousin)
    giorgos_id = desk.registered(desk.head(), giorgos)["id"]
    desk.registered(desk.head(), desk.person(given_name="Νικόλαος", amka=None))  # his brother
    desk.registered(desk.head(), desk.person(given_name="Γιώργος", born_on="1986-03-15", amka=None))

    found = likely(
        desk, desk.head(), given_name="Giwrgos", family_name="Papadopoulos", birth_year=1985
    )
    assert [person_id for person_id, _ in found] == [giorgos_id, georgios["id"]]
    assert found[0][1] == 100  # the same spelling once folded
    assert 85 <= found[1][1] < 100
    (search,) = [
        details
        for action, _, _, details in desk.audit()
        if action == "beneficiaries.match" and details["terms"] == "Giwrgos Papadopoulos 1985"
    ]
    assert (search["count"], search["beneficiary_ids"]) == (2, [giorgos_id, georgios["id"]])
    # Another unit's staff see none of them; without a year there is nothing to match.
    other_unit = desk.staff("kinhth-1")
    assert (
        likely(desk, other_unit, given_name="Γιώργος", family_name="Παπαδόπουλος", birth_year=1985)
        == []
    )
    assert likely(desk, desk.head(), given_name="Γιώργος", family_name="Παπαδόπουλος") == []


# --- correcting a record ----------------------------------------------------------------------


def correct(
    desk: Desk, url: str, etag: str | None, change: dict[str, Any], **kw: Any
) -> TestResponse:
    headers = {**kw.get("headers", desk.staff()), **({"If-Match": etag} if etag else {})}
    return desk.client.patch(url, headers=headers, json=change)


def test_a_record_is_corrected_with_its_etag_and_audited_by_field_names(desk: Desk) -> None:
    created = desk.client.post(URL, headers=desk.staff(), json=desk.person())
    assert created.headers["ETag"] == '"1"'
    url = f"{URL}/{created.get_json()['id']}"
    assert desk.client.get(url, headers=desk.staff()).headers["ETag"] == '"1"'

    response = correct(desk, url, '"1"', {"family_name": "Παππάς", "phone": None, "sex": "male"})
    assert response.status_code == 200, response.get_json()
    assert response.headers["ETag"] == '"2"'
    body = response.get_json()
    # The Latin name follows the Greek one it was proposed from; the cleared phone is gone.
    assert (body["family_name"], body["family_name_latin"], body["phone"]) == (
        "Παππάς",
        "Pappas",
        None,
    )
    assert desk.found(desk.staff(), "Pappas") == [body["id"]]
    ((object_id, details),) = [(o, d) for a, _, o, d in desk.audit() if a == "beneficiaries.update"]
    assert object_id == str(body["id"])
    assert details == {
        "fields": ["family_name", "family_name_latin", "phone"],
        "unit_id": desk.units["annex"],
    }


def test_a_correction_needs_the_current_etag(desk: Desk) -> None:
    url = f"{URL}/{desk.registered(desk.staff(), desk.person())['id']}"
    assert correct(desk, url, None, {"sex": "female"}).status_code == 428
    assert correct(desk, url, '"7"', {"sex": "female"}).status_code == 412
    assert correct(desk, url, '"1"', {}).status_code == 422  # nothing to change


def test_a_corrected_date_of_birth_brings_its_year_and_is_checked_against_the_amka(
    desk: Desk,
) -> None:
    url = f"{URL}/{desk.registered(desk.staff(), desk.person())['id']}"
    refused = correct(desk, url, '"1"', {"born_on": "1986-03-15"})
    assert refused.get_json()["code"] == "beneficiaries.amka_not_birth_date"
    moved = correct(desk, url, '"1"', {"born_on": "1986-03-15", "amka": amka_of("150386")})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["birth_year"] == 1986


def test_an_identifier_another_person_holds_is_not_taken_by_a_correction(desk: Desk) -> None:
    desk.registered(desk.staff(), desk.person(given_name="Άννα", vat=VALID_VAT))
    other = desk.registered(desk.staff(), desk.person(given_name="Σοφία", amka=None))
    response = correct(desk, f"{URL}/{other['id']}", '"1"', {"vat": VALID_VAT})
    assert response.status_code == 409
    assert response.get_json()["code"] == "beneficiaries.already_registered"
    # A number without its type's kind is refused by name, as at registration.
    typeless = correct(desk, f"{URL}/{other['id']}", '"1"', {"document_number": "ZZ123"})
    assert typeless.status_code == 422
    assert "document_type" in typeless.get_json()["errors"]["json"]


def test_a_person_of_a_closed_unit_can_still_be_corrected_but_not_moved_there(
    desk: Desk,
) -> None:
    with tenant_session(desk.engine, parse_municipality_code(CODE)) as session:
        closed_unit_person = BeneficiaryFactory(session=session, unit_id=desk.units["closed"]).id
    url = f"{URL}/{closed_unit_person}"
    assert correct(desk, url, '"1"', {"sex": "female"}, headers=desk.head()).status_code == 200
    annex_person = desk.registered(desk.staff(), desk.person())["id"]
    moved = correct(
        desk, f"{URL}/{annex_person}", '"1"', {"unit_id": desk.units["closed"]}, headers=desk.head()
    )
    assert moved.get_json()["code"] == "beneficiaries.not_your_unit"


def test_no_one_outside_the_persons_units_corrects_them(desk: Desk) -> None:
    url = f"{URL}/{desk.registered(desk.staff(), desk.person())['id']}"
    for headers in (
        desk.staff("kinhth-1"),
        desk.head("kk-messinis"),
        desk.tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE),
        desk.staff(code=OTHER),
    ):
        assert correct(desk, url, '"1"', {"sex": "female"}, headers=headers).status_code == 404


# --- the right of access (GDPR Art. 15) -------------------------------------------------------


def test_the_access_report_holds_the_record_and_every_access_to_it(desk: Desk) -> None:
    person = desk.registered(desk.staff(), desk.person())
    other = desk.registered(desk.staff(), desk.person(given_name="Σοφία", amka=None))
    url = f"{URL}/{person['id']}"
    desk.client.get(url, headers=desk.staff())  # a read of this person
    desk.found(desk.staff(), "Παπαδόπουλος")  # a search that showed both
    desk.found(desk.staff(), "Σοφία")  # a search that showed only the other
    desk.client.get(f"{URL}/{other['id']}", headers=desk.staff())

    response = desk.client.get(f"{url}/access-report", headers=desk.head())
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["person"]["amka"] == person["amka"]
    actions = [access["action"] for access in report["accesses"]]
    # Not the registration's check for likely duplicates (it showed no one), nor the other
    # person's search and read.
    assert actions == ["beneficiaries.register", "beneficiaries.read", "beneficiaries.search"]
    assert all(access["actor"] and access["at"] for access in report["accesses"])
    assert "terms" not in str(report)  # a search's terms may name other people
    # Producing it is an access too: the next report shows it.
    again = desk.client.get(f"{url}/access-report", headers=desk.head()).get_json()
    assert again["accesses"][-1]["action"] == "beneficiaries.access_report"


@pytest.mark.parametrize("who", ["staff", "other centre's head", "admin", "other municipality"])
def test_only_the_centre_head_produces_the_access_report(desk: Desk, who: str) -> None:
    person = desk.registered(desk.staff(), desk.person())
    headers = {
        "staff": desk.staff(),
        "other centre's head": desk.head("kk-messinis"),
        "admin": desk.tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE),
        "other municipality": desk.staff(code=OTHER),
    }[who]
    url = f"{URL}/{person['id']}/access-report"
    assert desk.client.get(url, headers=headers).status_code == 404


# --- restriction of processing (GDPR Art. 18) --------------------------------------------------


def test_a_restricted_person_is_kept_read_by_id_only_and_not_changed_until_lifted(
    desk: Desk,
) -> None:
    person = desk.registered(desk.staff(), desk.person())
    url = f"{URL}/{person['id']}"
    restriction = f"{url}/restriction"
    reason = "Αμφισβητεί την ακρίβεια της διεύθυνσης· ελέγχεται."
    restricted = desk.client.put(
        restriction, headers={**desk.head(), "If-Match": '"1"'}, json={"reason": reason}
    )
    assert restricted.status_code == 200, restricted.get_json()
    assert restricted.get_json()["restriction_reason"] == reason
    etag = restricted.headers["ETag"]
    # Not listed, searched or matched; read by id; not changed.
    assert desk.found(desk.head()) == []
    assert desk.found(desk.head(), "Παπαδόπουλος") == []
    read = desk.client.get(url, headers=desk.staff())
    assert read.status_code == 200
    assert read.get_json()["restricted_at"] is not None
    refused = correct(desk, url, etag, {"sex": "female"})
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "beneficiaries.restricted"
    again = desk.client.put(
        restriction, headers={**desk.head(), "If-Match": etag}, json={"reason": reason}
    )
    assert again.get_json()["code"] == "beneficiaries.already_restricted"

    lifted = desk.client.delete(restriction, headers={**desk.head(), "If-Match": etag})
    assert lifted.status_code == 200, lifted.get_json()
    assert lifted.get_json()["restricted_at"] is None
    assert desk.found(desk.head()) == [person["id"]]
    actions = [a for a, _, o, _ in desk.audit() if o == str(person["id"]) and "restrict" in a]
    assert actions == ["beneficiaries.restrict", "beneficiaries.lift_restriction"]
    assert reason not in str(desk.audit())  # the reason stays with the record


def test_only_the_centre_head_restricts(desk: Desk) -> None:
    person = desk.registered(desk.staff(), desk.person())
    restriction = f"{URL}/{person['id']}/restriction"
    for headers in (desk.staff(), desk.head("kk-messinis")):
        response = desk.client.put(
            restriction, headers={**headers, "If-Match": '"1"'}, json={"reason": "Έλεγχος."}
        )
        assert response.status_code == 404
