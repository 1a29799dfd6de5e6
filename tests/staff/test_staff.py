"""The staff roster API: validation (nothing half-saved), one head per centre, ETag / If-Match,
ending a contract, filters, invitations into the embedded issuer, permissions, other tenants,
and audit rows without personal data.

Municipality used here and nowhere else: 3701 (Πατρέων), a tenant of this module; 7101 (a
session tenant) is the other municipality, and a row put into it is removed again. Every
member, audit row and identity object a test creates is removed after it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.test import TestResponse

from kentra.auth.identity import UserSpec
from kentra.auth.issuer.models import (
    IdentityUser,
)
from kentra.auth.roles import Profession, Role
from kentra.platform.audit.models import AuditEvent
from kentra.platform.core.errors import DomainError
from kentra.platform.core.models import local_today
from kentra.platform.staff import blueprint as staff_blueprint
from kentra.platform.staff import operations as staff_operations
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import (
    END_BEFORE_START,
    HEAD_OF_CENTRE_ONLY,
    SECOND_HEAD,
    UNKNOWN_PROFILE,
    UNKNOWN_UNIT,
    create_staff_member,
)
from kentra.platform.units.models import Unit, UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import MunicipalityCode, parse_municipality_code
from tests.factories import StaffMemberFactory
from tests.helpers import centre_with_units, identity_account, module_tenant
from tests.tokens import TokenFactory

CODE = "3701"
URL = f"/api/v1/municipalities/{CODE}/staff"
OTHER = "7101"
FTE_MESSAGE = (
    "Το ποσοστό απασχόλησης (FTE) είναι αριθμός μεγαλύτερος του 0 και έως 1, "
    "με έως δύο δεκαδικά, π.χ. 0,5."
)

pytestmark = pytest.mark.usefixtures("staff_cleaned")


# --- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant(engine: Engine) -> Iterator[MunicipalityCode]:
    with module_tenant(engine, CODE) as code:
        yield code


@pytest.fixture(scope="module")
def units(engine: Engine, tenant: MunicipalityCode) -> dict[str, int]:
    """A centre with an annex, a mobile unit and a closed annex; a second centre."""
    return centre_with_units(engine, tenant, "kk-patras", "kk-riou")


def admin(tokens: TokenFactory, code: str = CODE, **kwargs: Any) -> dict[str, str]:
    return tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=code, **kwargs)


def centre_head(tokens: TokenFactory) -> dict[str, str]:
    return tokens.headers(Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/kk-patras"])


@dataclass
class Roster:
    """The module tenant's roster as its admin reaches it over the API, with the e-mails a test
    uses (removed afterwards): one fixture rather than the same five threaded through each test
    and helper."""

    client: FlaskClient
    engine: Engine
    tokens: TokenFactory
    units: dict[str, int]
    emails: list[str]

    def admin(self, code: str = CODE, **kwargs: Any) -> dict[str, str]:
        return admin(self.tokens, code, **kwargs)

    def payload(self, **overrides: Any) -> dict[str, Any]:
        """A valid member of the annex with a new e-mail; ``overrides`` replace fields."""
        email = f"staff-{uuid.uuid4().hex[:8]}@example.gr"
        self.emails.append(email)
        body: dict[str, Any] = {
            "full_name": "Μαρία Κωνσταντίνου",
            "email": email,
            "unit_id": self.units["annex"],
            "profile_code": "psychologist",
            "start_date": "2024-02-01",
            "fte": "0.5",
        }
        body.update(overrides)
        return body

    def create(self, **overrides: Any) -> TestResponse:
        return self.client.post(URL, headers=self.admin(), json=self.payload(**overrides))

    def created(self, **overrides: Any) -> dict[str, Any]:
        response = self.create(**overrides)
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body

    def patch(self, url: str, etag: str, change: dict[str, Any]) -> TestResponse:
        """The admin's ``change`` to the member at ``url``, sent with ``If-Match: etag``."""
        return self.client.patch(url, headers={**self.admin(), "If-Match": etag}, json=change)

    def saved(self) -> int:
        return saved(self.engine)

    def events(self) -> list[tuple[str, str | None, dict[str, Any]]]:
        return events(self.engine)


@pytest.fixture
def roster(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    units: dict[str, int],
    emails: list[str],
) -> Roster:
    return Roster(client, engine, tokens, units, emails)


@pytest.fixture
def member(roster: Roster) -> dict[str, Any]:
    """A member as the default payload makes it, created through the API."""
    return roster.created()


def saved(engine: Engine) -> int:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        return session.scalar(select(func.count()).select_from(StaffMember)) or 0


def events(engine: Engine) -> list[tuple[str, str | None, dict[str, Any]]]:
    with tenant_session(engine, parse_municipality_code(CODE)) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.details)
            .where(AuditEvent.action.startswith("staff."))
            .order_by(AuditEvent.id)
        )
        return [(r.action, r.object_id, r.details) for r in rows]


def field_errors(response: TestResponse) -> dict[str, list[str]]:
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    errors: dict[str, list[str]] = response.get_json()["errors"]["json"]
    return errors


# --- creating ---------------------------------------------------------------------------------


def test_a_valid_member_is_saved_normalised_and_audited_without_personal_data(
    roster: Roster,
) -> None:
    response = roster.create(full_name="  Μαρία Κωνσταντίνου ", fte=0.75)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["ETag"] == '"1"'
    assert body["full_name"] == "Μαρία Κωνσταντίνου"
    assert body["unit_id"] == roster.units["annex"]
    assert body["profile_code"] == "psychologist"
    assert body["start_date"] == "2024-02-01"
    assert body["end_date"] is None
    assert body["fte"] == 0.75  # a number, as sent
    assert body["is_head"] is False
    assert body["current"] is True
    assert body["identity_user_id"] is None
    assert body["invited_at"] is None
    assert body["version"] == 1
    assert roster.saved() == 1
    assert roster.events() == [
        (
            "staff.created",
            str(body["id"]),
            {"unit_id": roster.units["annex"], "is_head": False},
        )
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("full_name", " Μ ", "Το κείμενο πρέπει να έχει από 2 έως 200 χαρακτήρες."),
        ("full_name", 42, "Το πεδίο πρέπει να είναι κείμενο."),
        ("email", "not-an-address", "Η διεύθυνση ηλεκτρονικού ταχυδρομείου δεν είναι έγκυρη."),
        ("unit_id", "annex", "Επιλέξτε μία από τις μονάδες του Δήμου."),
        ("start_date", "2024-13-01", "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ)."),
        ("start_date", None, "Το πεδίο δεν μπορεί να είναι κενό."),
        ("end_date", "31/12/2024", "Η ημερομηνία δεν είναι έγκυρη (ΕΕΕΕ-ΜΜ-ΗΗ)."),
        (
            "end_date",
            "2024-01-31",
            "Η ημερομηνία λήξης δεν μπορεί να είναι πριν από την ημερομηνία έναρξης.",
        ),
        ("fte", 0, FTE_MESSAGE),
        ("fte", "0", FTE_MESSAGE),
        ("fte", 1.5, FTE_MESSAGE),
        ("fte", "1.01", FTE_MESSAGE),
        ("fte", -0.5, FTE_MESSAGE),
        ("fte", "0.333", FTE_MESSAGE),
        ("fte", "μισό", FTE_MESSAGE),
        ("fte", True, FTE_MESSAGE),
        ("fte", "NaN", FTE_MESSAGE),
        ("is_head", "ίσως", "Η τιμή πρέπει να είναι true ή false."),
    ],
)
def test_field_validation(roster: Roster, field: str, value: Any, message: str) -> None:
    response = roster.create(**{field: value})
    assert field_errors(response) == {field: [message]}
    assert roster.saved() == 0
    assert roster.events() == []


@pytest.mark.parametrize(("fte", "kept"), [(1, 1.0), ("1", 1.0), (0.01, 0.01), ("0.10", 0.1)])
def test_fte_bounds_that_are_accepted(roster: Roster, fte: Any, kept: float) -> None:
    answered = roster.created(fte=fte)["fte"]
    assert isinstance(answered, float)
    assert answered == kept


def test_missing_and_unknown_fields_are_reported_together(
    client: FlaskClient, roster: Roster
) -> None:
    body = roster.payload(nickname="x", fte="2")
    del body["full_name"], body["start_date"]
    errors = field_errors(client.post(URL, headers=roster.admin(), json=body))
    assert errors["full_name"] == ["Το πεδίο είναι υποχρεωτικό."]
    assert errors["start_date"] == ["Το πεδίο είναι υποχρεωτικό."]
    assert errors["fte"] == [FTE_MESSAGE]
    assert "nickname" in errors
    assert roster.saved() == 0


def test_a_profile_outside_the_policy_and_a_closed_unit_are_422_together(roster: Roster) -> None:
    response = roster.create(profile_code="astronaut", unit_id=roster.units["closed"])
    assert field_errors(response) == {
        "profile_code": [UNKNOWN_PROFILE],
        "unit_id": [UNKNOWN_UNIT],
    }
    assert response.get_json()["detail"].startswith("Η μονάδα δεν είναι ανοιχτή μονάδα")
    assert roster.saved() == 0
    assert roster.events() == []


def test_a_unit_that_does_not_exist_is_a_422(roster: Roster) -> None:
    response = roster.create(unit_id=999_999_999)
    assert field_errors(response) == {"unit_id": [UNKNOWN_UNIT]}
    assert roster.saved() == 0


@pytest.mark.parametrize("unit", ["annex", "mobile"])
def test_the_head_of_an_annex_or_mobile_unit_is_a_422(roster: Roster, unit: str) -> None:
    response = roster.create(
        unit_id=roster.units[unit],
        is_head=True,
        profile_code="social_worker",
    )
    assert field_errors(response) == {"is_head": [HEAD_OF_CENTRE_ONLY]}
    assert roster.saved() == 0


def test_a_second_head_of_a_centre_is_a_409_and_periods_decide(roster: Roster) -> None:
    head = {"unit_id": roster.units["centre"], "is_head": True, "profile_code": "social_worker"}
    first = roster.created(**head, start_date="2023-01-01")
    second = roster.create(**head, start_date="2024-05-01")
    assert second.status_code == 409
    assert second.mimetype == "application/problem+json"
    assert second.get_json()["detail"] == SECOND_HEAD
    assert roster.saved() == 1
    # Another centre has its own head; a member of the same centre who is not head is fine.
    roster.created(**{**head, "unit_id": roster.units["centre 2"]})
    roster.created(unit_id=roster.units["centre"], profile_code="economist")
    # Once the first head's contract ends, a successor may start after it (not before).
    ended = roster.patch(f"{URL}/{first['id']}", '"1"', {"end_date": "2024-06-30"})
    assert ended.status_code == 200, ended.get_json()
    overlapping = roster.create(**head, start_date="2024-06-30")
    assert overlapping.status_code == 409
    successor = roster.create(**head, start_date="2024-07-01")
    assert successor.status_code == 201, successor.get_json()
    # A former head with a closed period may not be made head again over the successor's.
    reopened = roster.patch(f"{URL}/{first['id']}", '"2"', {"end_date": None})
    assert reopened.status_code == 409
    assert roster.saved() == 4


def test_the_partial_unique_index_settles_a_race_with_the_same_409(
    engine: Engine,
    tenant: MunicipalityCode,
    units: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def member(name: str) -> StaffMember:
        return StaffMember(
            unit_id=units["centre"],
            full_name=name,
            email=f"{name}@example.gr",
            profile_code="social_worker",
            start_date=date(2024, 1, 1),
            fte=Decimal(1),
            is_head=True,
        )

    with (
        pytest.raises(IntegrityError, match="uq_staff_members_one_current_head"),
        tenant_session(engine, tenant) as session,
    ):
        session.add_all([member("a"), member("b")])
    # The operation's own check did not see the other head (written since it looked).
    monkeypatch.setattr(staff_operations, "_another_head", lambda *_a: False)
    data = {
        "unit_id": units["centre"],
        "full_name": "b",
        "email": "b@example.gr",
        "profile_code": "social_worker",
        "start_date": date(2024, 1, 1),
        "fte": Decimal(1),
        "is_head": True,
    }
    with pytest.raises(DomainError) as refused, tenant_session(engine, tenant) as session:
        session.add(member("a"))
        session.flush()
        create_staff_member(session, data, actor="test")
    assert (refused.value.code, refused.value.status) == ("staff.second_head", 409)
    assert refused.value.message == SECOND_HEAD
    assert saved(engine) == 0


# --- reading, ETag and If-Match, ending -------------------------------------------------------


def test_a_member_is_read_with_its_etag_and_the_read_is_audited(
    client: FlaskClient, roster: Roster, member: dict[str, Any]
) -> None:
    subject = f"reader-{uuid.uuid4().hex[:8]}"
    response = client.get(f"{URL}/{member['id']}", headers=centre_head_as(roster.tokens, subject))
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.get_json() == member
    assert client.get(f"{URL}/999999999", headers=roster.admin()).status_code == 404
    read = [e for e in roster.events() if e[0] == "staff.read"]
    assert read == [("staff.read", str(member["id"]), {"staff_ids": [member["id"]], "count": 1})]


def centre_head_as(tokens: TokenFactory, subject: str) -> dict[str, str]:
    return tokens.headers(
        Role.CENTRE_HEAD, municipality=CODE, groups=[f"/m-{CODE}/kk-patras"], sub=subject
    )


def test_a_change_needs_the_etag_in_if_match(
    client: FlaskClient, roster: Roster, member: dict[str, Any]
) -> None:
    url = f"{URL}/{member['id']}"
    change = {"fte": "1", "profile_code": "social_scientist"}
    missing = client.patch(url, headers=roster.admin(), json=change)
    assert missing.status_code == 428
    assert missing.mimetype == "application/problem+json"
    stale = roster.patch(url, '"7"', change)
    assert stale.status_code == 412
    assert client.get(url, headers=roster.admin()).get_json()["fte"] == 0.5
    done = roster.patch(url, '"1"', change)
    assert done.status_code == 200, done.get_json()
    assert done.headers["ETag"] == '"2"'
    assert done.get_json()["fte"] == 1.0
    assert done.get_json()["profile_code"] == "social_scientist"
    # The ETag read before the change is stale now.
    again = roster.patch(url, '"1"', {"fte": "0.2"})
    assert again.status_code == 412
    updates = [e for e in roster.events() if e[0] == "staff.updated"]
    assert updates == [
        (
            "staff.updated",
            str(member["id"]),
            {"fields": ["fte", "profile_code"], "unit_id": roster.units["annex"]},
        )
    ]


def test_bad_changes_are_422_and_change_nothing(client: FlaskClient, roster: Roster) -> None:
    member = roster.created(unit_id=roster.units["centre"])
    url = f"{URL}/{member['id']}"
    headers = {**roster.admin(), "If-Match": '"1"'}
    # The end date alone, before the stored start date: the operation sees the whole member.
    errors = field_errors(client.patch(url, headers=headers, json={"end_date": "2024-01-01"}))
    assert errors == {"end_date": [END_BEFORE_START]}
    # Head of the centre, then moved to an annex in the same change.
    errors = field_errors(
        client.patch(url, headers=headers, json={"is_head": True, "unit_id": roster.units["annex"]})
    )
    assert errors == {"is_head": [HEAD_OF_CENTRE_ONLY]}
    assert field_errors(client.patch(url, headers=headers, json={"fte": 0})) == {
        "fte": [FTE_MESSAGE]
    }
    assert field_errors(client.patch(url, headers=headers, json={"full_name": None})) == {
        "full_name": ["Το πεδίο δεν μπορεί να είναι κενό."]
    }
    assert field_errors(client.patch(url, headers=headers, json={})) == {
        "_schema": ["Δεν δόθηκε καμία αλλαγή."]
    }
    assert field_errors(client.patch(url, headers=headers, json={"profile_code": "pilot"})) == {
        "profile_code": [UNKNOWN_PROFILE]
    }
    unchanged = client.get(url, headers=roster.admin())
    assert unchanged.headers["ETag"] == '"1"'
    assert unchanged.get_json() == member
    assert [e[0] for e in roster.events() if e[0] != "staff.read"] == ["staff.created"]


def test_ending_a_contract_keeps_the_row_and_the_filters_follow(
    client: FlaskClient, roster: Roster
) -> None:
    leaving = roster.created(start_date="2022-01-01")
    staying = roster.created(unit_id=roster.units["centre"])
    future_start = (local_today() + timedelta(days=30)).isoformat()
    starting = roster.created(start_date=future_start)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    ended = roster.patch(f"{URL}/{leaving['id']}", '"1"', {"end_date": yesterday})
    assert ended.status_code == 200
    assert ended.get_json()["current"] is False
    assert ("staff.ended", str(leaving["id"])) in [(e[0], e[1]) for e in roster.events()]

    def ids(**query: str) -> list[int]:
        response = client.get(URL, headers=roster.admin(), query_string=query)
        assert response.status_code == 200, response.get_json()
        return [m["id"] for m in response.get_json()]

    assert sorted(ids()) == sorted([leaving["id"], staying["id"], starting["id"]])
    assert ids(current="true") == [staying["id"]]
    assert sorted(ids(current="false")) == sorted([leaving["id"], starting["id"]])
    assert sorted(ids(unit_id=str(roster.units["annex"]))) == sorted(
        [leaving["id"], starting["id"]]
    )
    assert ids(unit_id=str(roster.units["annex"]), current="true") == []
    assert ids(unit_id=str(roster.units["centre 2"])) == []
    assert (
        client.get(URL, headers=roster.admin(), query_string={"current": "ίσως"}).status_code == 422
    )
    assert client.get(URL, headers=roster.admin(), query_string={"state": "x"}).status_code == 422
    assert roster.saved() == 3


def test_every_read_of_the_roster_is_audited_by_ids_and_count(
    client: FlaskClient, roster: Roster
) -> None:
    first = roster.created()
    second = roster.created(unit_id=roster.units["centre"])
    subject = f"reader-{uuid.uuid4().hex[:8]}"
    assert client.get(URL, headers=roster.admin(sub=subject)).status_code == 200
    with tenant_session(roster.engine, parse_municipality_code(CODE)) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.details).where(AuditEvent.actor == subject)
        ).all()
    assert len(rows) == 1
    assert rows[0].action == "staff.read"
    assert sorted(rows[0].details["staff_ids"]) == sorted([first["id"], second["id"]])
    assert rows[0].details["count"] == 2


# --- invitations ------------------------------------------------------------------------------


def users_named(engine: Engine, username: str) -> int:
    with engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(IdentityUser)
                .where(IdentityUser.username == username)
            )
            or 0
        )


def test_inviting_creates_the_user_with_role_unit_and_profession_once(
    client: FlaskClient, roster: Roster, member: dict[str, Any]
) -> None:
    url = f"{URL}/{member['id']}/invite"
    response = client.post(url, headers=roster.admin())
    assert response.status_code == 200, response.get_json()
    invited = response.get_json()
    assert invited["invited_at"] is not None
    assert response.headers["ETag"] == f'"{invited["version"]}"'
    user = identity_account(roster.engine, member["email"])
    assert user is not None
    assert invited["identity_user_id"] == user["id"]
    assert user["email"] == member["email"]
    assert user["roles"] == {Role.STAFF}
    assert user["organizations"] == {f"m-{CODE}"}
    assert user["groups"] == {f"/m-{CODE}/kk-patras/parartima-1"}
    assert user["profession"] == Profession.PSYCHOLOGIST
    # Split from the roster's full name.
    assert (user["first_name"], user["last_name"]) == ("Μαρία", "Κωνσταντίνου")
    # Again: the same user, nothing duplicated; the invitation is recorded again.
    again = client.post(url, headers=roster.admin())
    assert again.status_code == 200
    assert again.get_json()["identity_user_id"] == user["id"]
    assert users_named(roster.engine, member["email"]) == 1
    assert identity_account(roster.engine, member["email"]) == user
    invitations = [e for e in roster.events() if e[0] == "staff.invited"]
    assert invitations == [
        (
            "staff.invited",
            str(member["id"]),
            {"identity_user_id": user["id"], "role": "staff", "again": again_flag},
        )
        for again_flag in (False, True)
    ]


def test_a_head_is_invited_as_centre_head_of_the_centre(
    client: FlaskClient, roster: Roster
) -> None:
    member = roster.created(
        unit_id=roster.units["centre"],
        is_head=True,
        profile_code="social_worker",
    )
    assert client.post(f"{URL}/{member['id']}/invite", headers=roster.admin()).status_code == 200
    user = identity_account(roster.engine, member["email"])
    assert user is not None
    assert user["roles"] == {Role.CENTRE_HEAD}
    assert user["groups"] == {f"/m-{CODE}/kk-patras"}
    assert user["profession"] == Profession.SOCIAL_WORKER


def test_a_member_whose_contract_ended_cannot_be_invited(
    client: FlaskClient, roster: Roster
) -> None:
    member = roster.created(start_date="2020-01-01", end_date="2020-12-31")
    response = client.post(f"{URL}/{member['id']}/invite", headers=roster.admin())
    assert response.status_code == 409
    assert response.get_json()["detail"].startswith("Η σύμβαση του μέλους έχει λήξει")
    assert users_named(roster.engine, member["email"]) == 0
    assert client.get(f"{URL}/{member['id']}", headers=roster.admin()).get_json() == member


class FailingIdentity:
    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        raise RuntimeError(f"Keycloak answered 500 for {user.username}")

    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        raise RuntimeError(f"Keycloak answered 500 for {username}")


@contextmanager
def the_provider_failing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every call to the identity provider inside the block fails (Keycloak answering 500)."""
    with monkeypatch.context() as patched:
        patched.setattr(staff_blueprint, "identity_admin", lambda *_a: FailingIdentity())
        yield


def enabled(engine: Engine, username: str) -> bool | None:
    with engine.connect() as conn:
        return conn.scalar(select(IdentityUser.enabled).where(IdentityUser.username == username))


def test_ending_the_contract_of_an_invited_member_disables_their_user(
    client: FlaskClient, roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = roster.created(start_date="2022-01-01")
    invited = client.post(f"{URL}/{member['id']}/invite", headers=roster.admin())
    assert invited.status_code == 200
    assert enabled(roster.engine, member["email"]) is True
    version = invited.headers["ETag"]
    # A future end date leaves the account as it is.
    later = (local_today() + timedelta(days=10)).isoformat()
    response = roster.patch(f"{URL}/{member['id']}", version, {"end_date": later})
    assert response.status_code == 200
    assert enabled(roster.engine, member["email"]) is True
    # The provider failing: the end is not saved, so the account cannot outlive the contract.
    today = local_today().isoformat()
    with the_provider_failing(monkeypatch):
        refused = roster.patch(
            f"{URL}/{member['id']}", response.headers["ETag"], {"end_date": today}
        )
    assert refused.status_code == 502
    assert "η λήξη της σύμβασης δεν αποθηκεύτηκε" in refused.get_json()["detail"]
    assert (
        client.get(f"{URL}/{member['id']}", headers=roster.admin()).get_json()["end_date"] == later
    )
    ended = roster.patch(f"{URL}/{member['id']}", response.headers["ETag"], {"end_date": today})
    assert ended.status_code == 200
    assert enabled(roster.engine, member["email"]) is False
    ends = [e[2] for e in roster.events() if e[0] == "staff.ended" and e[1] == str(member["id"])]
    assert [e["account_disabled"] for e in ends] == [False, True]


def test_a_failure_of_the_identity_provider_is_a_502_and_records_nothing(
    client: FlaskClient,
    roster: Roster,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    member = roster.created()  # in the test: its logs are checked too
    monkeypatch.setattr(staff_blueprint, "identity_admin", lambda *_a: FailingIdentity())
    response = client.post(f"{URL}/{member['id']}/invite", headers=roster.admin())
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    assert "η πρόσκληση δεν στάλθηκε" in response.get_json()["detail"]
    after = client.get(f"{URL}/{member['id']}", headers=roster.admin()).get_json()
    assert after == member
    assert "staff.invited" not in [e[0] for e in roster.events()]
    assert users_named(roster.engine, member["email"]) == 0
    # The log names the member by id; the e-mail in the provider's message stays out of it.
    assert member["email"] not in caplog.text


def test_moving_an_invited_head_to_an_annex_removes_centre_head_and_the_old_group(
    client: FlaskClient, roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    member = roster.created(
        unit_id=roster.units["centre"],
        is_head=True,
        profile_code="social_worker",
    )
    url = f"{URL}/{member['id']}"
    invited = client.post(f"{url}/invite", headers=roster.admin())
    assert invited.status_code == 200
    head = identity_account(roster.engine, member["email"])
    assert head is not None
    assert (head["roles"], head["groups"]) == ({Role.CENTRE_HEAD}, {f"/m-{CODE}/kk-patras"})
    move = {"unit_id": roster.units["annex"], "is_head": False}
    # The provider failing: the move is not saved, the head keeps being the head.
    with the_provider_failing(monkeypatch):
        refused = roster.patch(url, invited.headers["ETag"], move)
    assert refused.status_code == 502
    assert "η αλλαγή δεν αποθηκεύτηκε" in refused.get_json()["detail"]
    assert client.get(url, headers=roster.admin()).get_json() == invited.get_json()
    assert identity_account(roster.engine, member["email"]) == head

    moved = roster.patch(url, invited.headers["ETag"], move)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["identity_user_id"] == head["id"]
    user = identity_account(roster.engine, member["email"])
    assert user is not None
    assert user["id"] == head["id"]
    assert user["roles"] == {Role.STAFF}
    assert user["organizations"] == {f"m-{CODE}"}
    assert user["groups"] == {f"/m-{CODE}/kk-patras/parartima-1"}
    updates = [e[2] for e in roster.events() if e[0] == "staff.updated"]
    assert updates == [
        {
            "fields": ["is_head", "unit_id"],
            "unit_id": roster.units["annex"],
            "account_role": "staff",
        }
    ]

    # Head of the second centre: the centre head's role again, there and only there.
    promoted = roster.patch(
        url, moved.headers["ETag"], {"unit_id": roster.units["centre 2"], "is_head": True}
    )
    assert promoted.status_code == 200, promoted.get_json()
    user = identity_account(roster.engine, member["email"])
    assert user is not None
    assert (user["roles"], user["groups"]) == ({Role.CENTRE_HEAD}, {f"/m-{CODE}/kk-riou"})


def test_other_changes_and_members_not_invited_leave_the_identity_provider_alone(
    client: FlaskClient, roster: Roster, monkeypatch: pytest.MonkeyPatch
) -> None:
    invited = roster.created()
    url = f"{URL}/{invited['id']}"
    done = client.post(f"{url}/invite", headers=roster.admin())
    assert done.status_code == 200
    member = roster.created(unit_id=roster.units["centre"])
    monkeypatch.setattr(staff_blueprint, "identity_admin", lambda *_a: FailingIdentity())
    # An invited member: neither unit, nor head flag, nor profile, nor e-mail changes.
    changed = roster.patch(url, done.headers["ETag"], {"fte": "1", "full_name": "Άννα Μαρκοπούλου"})
    assert changed.status_code == 200, changed.get_json()
    # A member not invited: no user to keep in step.
    moved = roster.patch(
        f"{URL}/{member['id']}",
        '"1"',
        {"unit_id": roster.units["annex"], "email": "not-invited@example.gr"},
    )
    assert moved.status_code == 200, moved.get_json()
    roster.emails.append("not-invited@example.gr")
    assert users_named(roster.engine, "not-invited@example.gr") == 0


def test_a_profile_change_brings_the_users_profession_along(
    client: FlaskClient, roster: Roster
) -> None:
    member = roster.created()  # a psychologist
    url = f"{URL}/{member['id']}"
    done = client.post(f"{url}/invite", headers=roster.admin())
    assert done.status_code == 200

    def profession() -> str | None:
        with roster.engine.connect() as conn:
            return conn.scalar(
                select(IdentityUser.profession).where(IdentityUser.username == member["email"])
            )

    assert profession() == "psychologist"
    changed = roster.patch(url, done.headers["ETag"], {"profile_code": "social_worker"})
    assert changed.status_code == 200, changed.get_json()
    assert profession() == "social_worker"


def test_changing_the_e_mail_of_an_invited_member_disables_the_old_user(
    client: FlaskClient, roster: Roster, monkeypatch: pytest.MonkeyPatch, member: dict[str, Any]
) -> None:
    url = f"{URL}/{member['id']}"
    invited = client.post(f"{url}/invite", headers=roster.admin())
    assert invited.status_code == 200
    old = identity_account(roster.engine, member["email"])
    assert old is not None
    new_email = f"renamed-{uuid.uuid4().hex[:8]}@example.gr"
    roster.emails.append(new_email)
    change = {"email": new_email}
    # The provider failing: the new address is not saved, the old user stays as it is.
    with the_provider_failing(monkeypatch):
        refused = roster.patch(url, invited.headers["ETag"], change)
    assert refused.status_code == 502
    assert "η αλλαγή δεν αποθηκεύτηκε" in refused.get_json()["detail"]
    assert client.get(url, headers=roster.admin()).get_json() == invited.get_json()
    assert enabled(roster.engine, member["email"]) is True

    changed = roster.patch(url, invited.headers["ETag"], change)
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["email"], body["identity_user_id"], body["invited_at"]) == (new_email, None, None)
    assert enabled(roster.engine, member["email"]) is False  # no new login under the old address
    assert users_named(roster.engine, new_email) == 0  # a new invitation is needed
    updates = [e[2] for e in roster.events() if e[0] == "staff.updated"]
    assert updates == [
        {
            "fields": ["email"],
            "unit_id": roster.units["annex"],
            "previous_identity_user_id": old["id"],
            "invitation_needed": True,
        }
    ]
    again = client.post(f"{url}/invite", headers=roster.admin())
    assert again.status_code == 200
    user = identity_account(roster.engine, new_email)
    assert user is not None
    assert again.get_json()["identity_user_id"] == user["id"] != old["id"]
    assert enabled(roster.engine, new_email) is True
    assert enabled(roster.engine, member["email"]) is False


# --- who may -----------------------------------------------------------------------------------


def calls(staff_id: int) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    """(method, url, body, is a write) of every endpoint."""
    return [
        ("GET", URL, None, False),
        ("POST", URL, {"full_name": "Χ"}, True),
        ("GET", f"{URL}/{staff_id}", None, False),
        ("PATCH", f"{URL}/{staff_id}", {"fte": "0.2"}, True),
        ("POST", f"{URL}/{staff_id}/invite", None, True),
    ]


def answers(
    client: FlaskClient, headers: dict[str, str], staff_id: int, *, member_only: bool = False
) -> Iterator[tuple[TestResponse, str, str, bool]]:
    """Every endpoint (``member_only``: those of the member ``staff_id``) called with
    ``headers`` and an ``If-Match``: the answer, the method, the URL and whether it writes."""
    endpoints = calls(staff_id)[2:] if member_only else calls(staff_id)
    for method, url, body, write in endpoints:
        headed = {**headers, "If-Match": '"1"'}
        yield client.open(url, method=method, headers=headed, json=body), method, url, write


@pytest.mark.parametrize(
    "role",
    [
        Role.STAFF,
        Role.SUPERVISOR_OPERATIONAL,
        Role.SUPERVISOR_ADMINISTRATIVE,
        Role.MINISTRY_OFFICER,
        Role.PLATFORM_OPERATOR,
    ],
)
def test_roles_without_the_staff_permissions_are_refused(
    client: FlaskClient, roster: Roster, role: Role, member: dict[str, Any]
) -> None:
    headers = roster.tokens.headers(
        role, municipality=CODE, groups=[f"/m-{CODE}/kk-patras/parartima-1"]
    )
    for response, method, url, _write in answers(client, headers, member["id"]):
        assert response.status_code == 403, (role, method, url)
        assert response.mimetype == "application/problem+json"
    assert roster.saved() == 1
    assert users_named(roster.engine, member["email"]) == 0


def test_a_centre_head_reads_the_roster_but_does_not_change_it(
    client: FlaskClient, roster: Roster, member: dict[str, Any]
) -> None:
    for response, method, url, write in answers(client, centre_head(roster.tokens), member["id"]):
        assert response.status_code == (403 if write else 200), (method, url)
    assert users_named(roster.engine, member["email"]) == 0


def test_a_centre_head_reads_only_their_own_centres_members(
    client: FlaskClient, roster: Roster
) -> None:
    ours = roster.created(unit_id=roster.units["mobile"])
    theirs = roster.created(unit_id=roster.units["centre 2"])
    listed = client.get(URL, headers=centre_head(roster.tokens))
    assert listed.status_code == 200
    ids = [m["id"] for m in listed.get_json()]
    assert ours["id"] in ids
    assert theirs["id"] not in ids
    # Another centre's member is as absent as one that does not exist.
    assert (
        client.get(f"{URL}/{theirs['id']}", headers=centre_head(roster.tokens)).status_code == 404
    )
    assert client.get(f"{URL}/{ours['id']}", headers=centre_head(roster.tokens)).status_code == 200
    # The municipality admin, who keeps the roster, reads all of it.
    everyone = [m["id"] for m in client.get(URL, headers=roster.admin()).get_json()]
    assert {ours["id"], theirs["id"]} <= set(everyone)


def test_another_municipality_is_a_404_for_every_endpoint(
    client: FlaskClient, roster: Roster, member: dict[str, Any]
) -> None:
    # The other municipality's admin, on this municipality's URLs.
    for response, method, url, _write in answers(client, roster.admin(OTHER), member["id"]):
        assert response.status_code == 404, (method, url)
        assert (
            response.get_json()["detail"]
            == "There is no municipality with this code on the platform."
        )
    assert roster.saved() == 1
    assert users_named(roster.engine, member["email"]) == 0


def test_a_member_of_another_municipality_is_not_found_here(
    client: FlaskClient, roster: Roster, tenant_b: MunicipalityCode
) -> None:
    """The same id in another tenant's roster is a 404 here (the tenant's schema decides)."""
    with tenant_session(roster.engine, tenant_b) as session:
        centre = ensure_unit(
            session, centre="kk-staff-test", unit=None, kind=UnitKind.CENTRE, name="staff test"
        )
        other = StaffMemberFactory(
            session=session,
            unit_id=centre.id,
            full_name="Άλλος Δήμος",
            email="other-municipality@example.gr",
            start_date=date(2024, 1, 1),
        )
        other_id = other.id
    try:
        for response, method, url, write in answers(
            client, roster.admin(), other_id, member_only=True
        ):
            assert response.status_code == 404, (method, url, write)
    finally:
        with tenant_session(roster.engine, tenant_b) as session:
            session.execute(delete(StaffMember).where(StaffMember.id == other_id))
            session.execute(delete(Unit).where(Unit.centre == "kk-staff-test"))


def test_audit_rows_hold_no_names_or_e_mails(client: FlaskClient, roster: Roster) -> None:
    member = roster.created(full_name="Ιωάννα Οικονόμου")
    url = f"{URL}/{member['id']}"
    client.get(URL, headers=roster.admin())
    client.get(url, headers=roster.admin())
    roster.patch(url, '"1"', {"full_name": "Ιωάννα Παπαδοπούλου", "email": "ioanna.p@example.gr"})
    roster.emails.append("ioanna.p@example.gr")
    assert client.post(f"{url}/invite", headers=roster.admin()).status_code == 200
    with tenant_session(roster.engine, parse_municipality_code(CODE)) as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.details).where(
                AuditEvent.action.startswith("staff.")
            )
        ).all()
    assert {r.action for r in rows} == {
        "staff.created",
        "staff.read",
        "staff.updated",
        "staff.invited",
    }
    text = json.dumps([list(r) for r in rows], ensure_ascii=False)
    for secret in ("Ιωάννα", "Οικονόμου", "Παπαδοπούλου", "example.gr", member["email"]):
        assert secret not in text
