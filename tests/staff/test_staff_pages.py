"""The staff roster's web pages: the roster, adding a member, the edit form with its version,
the invitation; Greek messages with every typed value kept, CSRF, permissions, other tenants.

Municipality used here and nowhere else: 3702 (Αιγιαλείας), a tenant of this module; 7101 (a
session tenant) is the other municipality. Every member, audit row and identity object a test
creates is removed after it.
"""

from __future__ import annotations

import functools
import html
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from werkzeug.test import TestResponse

from kentra.auth.claims import organization_alias
from kentra.auth.identity import UserSpec
from kentra.auth.issuer.models import IdentityOrganization, IdentityUser, IdentityUserRole
from kentra.auth.roles import Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.staff import views as staff_views
from kentra.platform.staff.models import StaffMember
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant
from tests.helpers import assert_contains_all, assert_labelled, csrf_token_of
from tests.tokens import TokenFactory

# Builds the new-member form's fields (``form`` with the test's units and e-mails).
Form = Callable[..., dict[str, str]]
CODE = "3702"
ROSTER = f"/municipalities/{CODE}/staff"
NEW = f"{ROSTER}/new"
OTHER = "7101"

pytestmark = pytest.mark.usefixtures("staff_cleaned")


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[MunicipalityCode]:
    code = parse_municipality_code(CODE)
    create_tenant(engine, CODE, actor="test")
    yield code
    drop_tenant(engine, code)
    with engine.begin() as conn:
        conn.execute(
            delete(IdentityOrganization).where(
                IdentityOrganization.alias == organization_alias(CODE)
            )
        )


@pytest.fixture(scope="module")
def units(engine: Engine, tenant: MunicipalityCode) -> dict[str, int]:
    with tenant_session(engine, tenant) as session:
        centre = ensure_unit(
            session, centre="kk-aigiou", unit=None, kind=UnitKind.CENTRE, name="ΚΚ Αιγίου"
        )
        annex = ensure_unit(
            session,
            centre="kk-aigiou",
            unit="parartima-1",
            kind=UnitKind.ANNEX,
            name="Παράρτημα Ρομά",
        )
        return {"centre": centre.id, "annex": annex.id}


@pytest.fixture
def admin(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)


@pytest.fixture
def staff_id(engine: Engine, units: dict[str, int], emails: list[str]) -> int:
    """A member of the roster (written directly), for the tests of its own page."""
    return add_member(engine, units, emails)


def page(response: TestResponse) -> str:
    return response.get_data(as_text=True)


def csrf_token(client: FlaskClient, headers: dict[str, str], url: str = NEW) -> str:
    return csrf_token_of(client, url, headers)


def form(units: dict[str, int], emails: list[str], **overrides: str) -> dict[str, str]:
    email = f"page-{uuid.uuid4().hex[:8]}@example.gr"
    emails.append(email)
    data = {
        "full_name": "Γιώργος Αντωνίου",
        "email": email,
        "unit_id": str(units["annex"]),
        "profile_code": "psychologist",
        "start_date": "2024-03-01",
        "end_date": "",
        "fte": "0,5",
    }
    data.update(overrides)
    return data


@pytest.fixture
def new_member(engine: Engine, units: dict[str, int], emails: list[str]) -> Callable[..., int]:
    """``add_member`` for this test's units, its e-mails kept for the clean-up."""
    return functools.partial(add_member, engine, units, emails)


@pytest.fixture
def new_form(units: dict[str, int], emails: list[str]) -> Form:
    """``form`` for this test's units, its e-mails kept for the clean-up."""
    return functools.partial(form, units, emails)


def post(
    client: FlaskClient,
    headers: dict[str, str],
    data: dict[str, str],
    url: str = NEW,
    *,
    form_at: str = NEW,
) -> TestResponse:
    """``data`` posted to ``url`` with the CSRF token of the form at ``form_at``."""
    token = csrf_token(client, headers, form_at)
    return client.post(url, headers=headers, data={**data, "csrf_token": token})


def members(engine: Engine) -> list[StaffMember]:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        found = list(session.scalars(select(StaffMember).order_by(StaffMember.id)))
        session.expunge_all()
        return found


def add_member(engine: Engine, units: dict[str, int], emails: list[str], **overrides: Any) -> int:
    email = f"page-{uuid.uuid4().hex[:8]}@example.gr"
    emails.append(email)
    values: dict[str, Any] = {
        "unit_id": units["annex"],
        "full_name": "Ελένη Δημητρίου",
        "email": email,
        "profile_code": "social_scientist",
        "start_date": date(2024, 1, 15),
        "fte": Decimal("0.75"),
    }
    values.update(overrides)
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        member = StaffMember(**values)
        session.add(member)
        session.flush()
        return member.id


def summary(text: str) -> str:
    found = re.search(r'<div class="error-summary" role="alert".*?</div>', text, re.S)
    assert found is not None, "no error summary"
    return found.group(0)


# --- the roster -------------------------------------------------------------------------------


def test_the_roster_shows_units_profiles_dates_fte_head_and_invitations(
    client: FlaskClient,
    engine: Engine,
    admin: dict[str, str],
    units: dict[str, int],
    new_member: Callable[..., int],
) -> None:
    new_member()
    new_member(
        unit_id=units["centre"],
        full_name="Σοφία Νικολάου",
        profile_code="social_worker",
        is_head=True,
        fte=Decimal(1),
        start_date=date(2023, 1, 1),
        end_date=date(2023, 12, 31),
    )
    response = client.get(ROSTER, headers=admin)
    assert response.status_code == 200
    text = page(response)
    assert '<html lang="el">' in text
    assert text.count("<h1>") == 1
    assert_contains_all(
        text,
        '<a href="/municipalities/3702/staff" aria-current="page">Προσωπικό</a>',
        f'<a href="{NEW}">Προσθήκη μέλους προσωπικού</a>',
        "<caption>Μέλη του προσωπικού (2)</caption>",
    )
    assert text.count('<th scope="col">') == 8
    assert_contains_all(
        text,
        "Παράρτημα Ρομά (Παράρτημα)",
        "ΚΚ Αιγίου (Κέντρο)",
        "Πτυχιούχος Κοινωνικών Επιστημών",
        "Κοινωνικός Λειτουργός",
        "15/01/2024",
        "31/12/2023",
    )
    assert "<td>75 %</td>" in text  # the share of a full-time post, as people say it
    assert "<td>100 %</td>" in text
    assert "(η σύμβαση έληξε)" in text
    assert text.count("Δεν έχει σταλεί") == 2
    # The policy's head, as a hint; and no e-mail address on the page.
    assert "ο/η Υπεύθυνος/η κάθε Κέντρου είναι Κοινωνικός Λειτουργός" in text
    assert "@example.gr" not in text
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        read = session.scalars(select(AuditEvent.details).where(AuditEvent.action == "staff.read"))
        assert [d["count"] for d in read] == [2]
    # In English, the policy's English names of the profiles.
    client.get("/language/en")
    try:
        english = page(client.get(ROSTER, headers=admin))
    finally:
        client.get("/language/el")
    assert "Social sciences graduate" in english
    assert "Κοινωνικών Επιστημών" not in english


def test_a_centre_head_reads_the_roster_without_the_add_link(
    client: FlaskClient, tokens: TokenFactory, staff_id: int
) -> None:
    head = tokens.headers(Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/kk-aigiou"])
    text = page(client.get(ROSTER, headers=head))
    assert "Ελένη Δημητρίου" in text
    assert NEW not in text
    # The member's page: the details, no form and no invitation button.
    response = client.get(f"{ROSTER}/{staff_id}", headers=head)
    assert response.status_code == 200
    text = page(response)
    assert "<dl>" in text
    assert '<form method="post" action="/municipalities/3702/staff/' not in text
    assert "Αποστολή πρόσκλησης" not in text
    assert client.get(NEW, headers=head).status_code == 403


def every_page(staff_id: int) -> list[tuple[str, str]]:
    """Each (method, URL) of the roster's pages, a member's included."""
    member = f"{ROSTER}/{staff_id}"
    return [
        ("GET", ROSTER),
        ("GET", NEW),
        ("POST", NEW),
        ("GET", member),
        ("POST", member),
        ("POST", f"{member}/invite"),
    ]


@pytest.mark.parametrize(
    "role", [Role.STAFF, Role.SUPERVISOR_OPERATIONAL, Role.MINISTRY_OFFICER, Role.PLATFORM_OPERATOR]
)
def test_roles_without_the_staff_permissions_are_refused(
    client: FlaskClient, tokens: TokenFactory, role: Role, staff_id: int
) -> None:
    headers = tokens.headers(role, municipality=CODE, groups=[f"/m-{CODE}/kk-aigiou/parartima-1"])
    for method, url in every_page(staff_id):
        assert client.open(url, method=method, headers=headers).status_code == 403, (method, url)


def test_another_municipality_is_a_404_on_every_page(
    client: FlaskClient, tokens: TokenFactory, staff_id: int
) -> None:
    other_admin = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=OTHER)
    for method, url in every_page(staff_id):
        assert client.open(url, method=method, headers=other_admin).status_code == 404, (
            method,
            url,
        )
    # A member id that does not exist here is a 404 too.
    admin = tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=CODE)
    assert client.get(f"{ROSTER}/999999999", headers=admin).status_code == 404


# --- adding -----------------------------------------------------------------------------------


def test_the_form_labels_every_field_and_hints_the_social_worker_head(
    client: FlaskClient, admin: dict[str, str], units: dict[str, int]
) -> None:
    response = client.get(NEW, headers=admin)
    assert response.status_code == 200
    text = page(response)
    assert "<h1>Νέο μέλος προσωπικού</h1>" in text
    assert 'role="alert"' not in text
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', text)
    assert ids == [
        "full_name",
        "email",
        "unit_id",
        "profile_code",
        "start_date",
        "end_date",
        "fte",
        "is_head",
    ]
    assert_labelled(text, *ids)
    assert_contains_all(
        text,
        'type="email" id="email"',
        'type="date" id="start_date"',
        'inputmode="decimal"',
        f'<option value="{units["annex"]}">Παράρτημα Ρομά (Παράρτημα)</option>',
        '<option value="social_worker">Κοινωνικός Λειτουργός</option>',
        "Η πολιτική στελέχωσης ορίζει ότι ο/η Υπεύθυνος/η είναι Κοινωνικός Λειτουργός.",
        'aria-describedby="is_head-hint"',
    )


def test_a_valid_member_is_added_and_the_page_says_so(
    client: FlaskClient, engine: Engine, admin: dict[str, str], new_form: Form
) -> None:
    response = post(client, admin, new_form())
    assert response.status_code == 303
    [member] = members(engine)
    assert response.headers["Location"] == f"{ROSTER}/{member.id}"
    assert member.fte == Decimal("0.50")  # the decimal comma is read
    assert member.end_date is None
    assert member.is_head is False
    shown = page(client.get(response.headers["Location"], headers=admin))
    assert_contains_all(
        shown,
        "Το μέλος προστέθηκε στο προσωπικό.",
        "<h1>Γιώργος Αντωνίου</h1>",
        f'name="version" value="{member.version}"',
        "Αποστολή πρόσκλησης",
    )


def test_invalid_fields_are_a_422_with_a_summary_every_value_kept_and_nothing_saved(
    client: FlaskClient,
    engine: Engine,
    admin: dict[str, str],
    units: dict[str, int],
    new_form: Form,
) -> None:
    data = new_form(
        email="not-an-address",
        fte="1,5",
        start_date="2024-03-01",
        end_date="2024-02-01",
        is_head="true",
    )
    response = post(client, admin, data)
    assert response.status_code == 422
    text = page(response)
    assert "<title>Σφάλμα:" in text
    box = summary(text)
    assert (
        '<a href="#email">Διεύθυνση e-mail: Η διεύθυνση ηλεκτρονικού ταχυδρομείου δεν είναι '
        "έγκυρη.</a>"
    ) in box
    assert '<a href="#fte">Ποσοστό απασχόλησης (FTE): Το ποσοστό' in box
    assert (
        '<a href="#end_date">Ημερομηνία λήξης: Η ημερομηνία λήξης δεν μπορεί να είναι πριν από '
        "την ημερομηνία έναρξης.</a>"
    ) in box
    assert box.count("<li>") == 3
    assert re.search(r'<input [^>]*id="fte"[^>]*aria-invalid="true">', text)
    for name in ("full_name", "email", "start_date", "end_date", "fte"):
        assert f'value="{html.escape(data[name])}"' in text, name
    assert f'<option value="{units["annex"]}" selected>' in text
    assert '<option value="psychologist" selected>' in text
    assert re.search(r'id="is_head" name="is_head" value="true" checked', text)
    assert members(engine) == []


def test_empty_fields_are_required(
    client: FlaskClient, engine: Engine, admin: dict[str, str]
) -> None:
    response = post(client, admin, {"full_name": "  ", "fte": ""})
    assert response.status_code == 422
    box = summary(page(response))
    assert box.count("Το πεδίο είναι υποχρεωτικό.") == 6
    assert members(engine) == []


def test_the_head_of_an_annex_is_refused_in_greek_only(
    client: FlaskClient, engine: Engine, admin: dict[str, str], new_form: Form
) -> None:
    response = post(client, admin, new_form(is_head="true"))
    assert response.status_code == 422
    box = summary(page(response))
    assert "Υπεύθυνος/η του Κέντρου: Υπεύθυνος μπορεί να είναι μόνο μέλος" in box
    assert "Only a member" not in page(response)
    assert members(engine) == []


def test_a_second_head_is_a_409_with_a_notice_and_the_values_kept(
    client: FlaskClient,
    engine: Engine,
    admin: dict[str, str],
    units: dict[str, int],
    new_form: Form,
    new_member: Callable[..., int],
) -> None:
    new_member(unit_id=units["centre"], is_head=True)
    data = new_form(unit_id=str(units["centre"]), is_head="true", profile_code="social_worker")
    response = post(client, admin, data)
    assert response.status_code == 409
    text = page(response)
    assert "Το Κέντρο έχει ήδη Υπεύθυνο για αυτό το διάστημα" in summary(text)
    assert "already" not in text
    assert f'value="{data["email"]}"' in text
    assert len(members(engine)) == 1


def test_a_missing_csrf_token_is_a_400_and_saves_nothing(
    client: FlaskClient, engine: Engine, admin: dict[str, str], new_form: Form
) -> None:
    data = new_form()
    response = client.post(NEW, headers=admin, data=data)
    assert response.status_code == 400
    text = page(response)
    assert "Η φόρμα έληξε" in text
    assert f'value="{data["email"]}"' in text
    assert members(engine) == []


# --- editing ----------------------------------------------------------------------------------


def test_an_edit_is_saved_on_its_version_and_a_stale_one_is_a_409_keeping_the_values(
    client: FlaskClient, engine: Engine, admin: dict[str, str], staff_id: int, new_form: Form
) -> None:
    url = f"{ROSTER}/{staff_id}"
    data = new_form(end_date="2024-12-31", fte="1", version="1")
    data["email"] = members(engine)[0].email
    response = post(client, admin, data, url, form_at=url)
    assert response.status_code == 303, page(response)
    assert response.headers["Location"] == url
    [member] = members(engine)
    assert (member.end_date, member.fte, member.version) == (date(2024, 12, 31), Decimal(1), 2)
    assert "Οι αλλαγές αποθηκεύτηκαν." in page(client.get(url, headers=admin))
    # The same form again, made on version 1: refused, the typed values shown, nothing changed.
    stale = {**data, "full_name": "Άλλο Όνομα", "fte": "0,25"}
    response = post(client, admin, stale, url, form_at=url)
    assert response.status_code == 409
    text = page(response)
    assert "Κάποιος άλλος άλλαξε τα στοιχεία του μέλους" in summary(text)
    assert 'value="Άλλο Όνομα"' in text
    assert 'value="0,25"' in text
    assert 'name="version" value="2"' in text  # the next save is made on what is shown
    [member] = members(engine)
    assert (member.full_name, member.fte, member.version) == ("Γιώργος Αντωνίου", Decimal(1), 2)


def test_an_invalid_edit_is_a_422_and_changes_nothing(
    client: FlaskClient, engine: Engine, admin: dict[str, str], staff_id: int, new_form: Form
) -> None:
    url = f"{ROSTER}/{staff_id}"
    data = new_form(profile_code="astronaut", fte="0", version="1")
    response = post(client, admin, data, url, form_at=url)
    assert response.status_code == 422
    assert 'value="astronaut"' not in page(response)  # not an option; the field says why
    [member] = members(engine)
    assert member.version == 1
    assert member.fte == Decimal("0.75")


# --- inviting ---------------------------------------------------------------------------------


def test_inviting_from_the_page_creates_the_user_and_says_so(
    client: FlaskClient, engine: Engine, admin: dict[str, str], staff_id: int
) -> None:
    url = f"{ROSTER}/{staff_id}"
    token = csrf_token(client, admin, url)
    response = client.post(f"{url}/invite", headers=admin, data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == url
    text = page(client.get(url, headers=admin))
    assert "Η πρόσκληση στάλθηκε στη διεύθυνση e-mail του μέλους." in text
    assert "Η πρόσκληση στάλθηκε στις" in text
    [member] = members(engine)
    assert member.identity_user_id is not None
    with engine.connect() as conn:
        roles = set(
            conn.scalars(
                select(IdentityUserRole.role).where(
                    IdentityUserRole.user_id == uuid.UUID(member.identity_user_id)
                )
            )
        )
    assert roles == {Role.STAFF}
    # Again: the same user.
    again = client.post(f"{url}/invite", headers=admin, data={"csrf_token": token})
    assert again.status_code == 303
    with engine.connect() as conn:
        count = conn.scalar(
            select(func.count())
            .select_from(IdentityUser)
            .where(IdentityUser.username == member.email)
        )
    assert count == 1


def test_an_ended_member_has_no_invitation_button_and_is_refused(
    client: FlaskClient, engine: Engine, admin: dict[str, str], new_member: Callable[..., int]
) -> None:
    staff_id = new_member(start_date=date(2020, 1, 1), end_date=date(2020, 6, 30))
    url = f"{ROSTER}/{staff_id}"
    text = page(client.get(url, headers=admin))
    assert "Αποστολή πρόσκλησης" not in text
    assert "Η σύμβαση του μέλους έχει λήξει· δεν μπορεί να προσκληθεί." in text
    response = post(client, admin, {}, f"{url}/invite", form_at=url)
    assert response.status_code == 409
    assert members(engine)[0].invited_at is None


class FailingIdentity:
    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        raise OSError("connection refused")


def test_a_failure_of_the_identity_provider_is_shown_and_records_nothing(
    client: FlaskClient,
    engine: Engine,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    staff_id: int,
) -> None:
    url = f"{ROSTER}/{staff_id}"
    monkeypatch.setattr(staff_views, "identity_admin", lambda *_a: FailingIdentity())
    response = post(client, admin, {}, f"{url}/invite", form_at=url)
    assert response.status_code == 502
    assert "Η υπηρεσία ταυτοποίησης δεν απάντησε" in page(response)
    [member] = members(engine)
    assert (member.identity_user_id, member.invited_at, member.version) == (None, None, 1)
    # A missing CSRF token is refused before the provider is asked.
    assert client.post(f"{url}/invite", headers=admin).status_code == 400
