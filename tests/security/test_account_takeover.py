"""Finding 1 of the outside probe: a municipality admin could take over any account.

Inviting a roster member called ``ensure_user(..., exclusive=True)`` with the member's e-mail as
the username; when that username already existed anywhere, the account lost its other roles,
organizations and unit groups and moved into the inviting municipality. Each test here is the
attacker's request (or the neighbouring honest one), and what must hold afterwards: a 409 that
names no other municipality, nothing changed at the identity provider or in the roster, and the
refusal on the platform audit.

Municipalities used here and nowhere else: 5102 (the inviting one, with a centre and an annex),
2102 (another municipality, whose accounts are the targets) and 1401 (an onboarding signup).
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select, update
from werkzeug.test import TestResponse

from kentra.auth.claims import organization_alias
from kentra.auth.identity import ForeignAccount, IdentityAdmin, UserSpec
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.issuer.models import (
    IdentityGroup,
    IdentityGroupMember,
    IdentityOrganization,
    IdentityUser,
)
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Role
from kentra.platform.audit.models import PlatformAuditEvent
from kentra.platform.core.config import Settings
from kentra.platform.core.models import local_today
from kentra.platform.onboarding.models import OnboardingRequest
from kentra.platform.staff import tasks as staff_tasks
from kentra.platform.staff.models import StaffMember
from kentra.platform.staff.operations import ACCOUNT_OF_ANOTHER_MEMBER, FOREIGN_ACCOUNT
from kentra.platform.units.models import UnitKind
from kentra.platform.units.operations import ensure_unit
from kentra.tenants.binding import tenant_session
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.provisioning import create_tenant
from tests.conftest import drop_tenant, registry_codes
from tests.helpers import csrf_token_of, identity_account
from tests.keycloak_standin import (
    KeycloakStandIn,
    keycloak_standin_fixture,  # noqa: F401 - registers the keycloak_standin fixture
)
from tests.tokens import TokenFactory

INVITING = "5102"  # Δήμος Κερατσινίου - Δραπετσώνας
OTHER = "2102"  # Δήμος Ζηρού
OTHER_NAMES = ("2102", "Ζηρού", "Zirou")
SIGNUP = "1401"  # Δήμος Κοζάνης
STAFF_URL = f"/api/v1/municipalities/{INVITING}/staff"
CENTRE = UnitPath(INVITING, "kk-keratsiniou")
ANNEX = UnitPath(INVITING, "kk-keratsiniou", "parartima-1")
OTHER_CENTRE = UnitPath(OTHER, "kk-zirou")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def municipalities(engine: Engine) -> Iterator[dict[str, int]]:
    """Both municipalities provisioned with their organizations; the inviting one's units."""
    identity = EmbeddedIdentityAdmin(engine)
    for code in (INVITING, OTHER):
        create_tenant(engine, code, actor="test", identity=identity)
    ids: dict[str, int] = {}
    with tenant_session(engine, parse_municipality_code(INVITING)) as session:
        for key, (unit, kind) in {
            "centre": (None, UnitKind.CENTRE),
            "annex": ("parartima-1", UnitKind.ANNEX),
        }.items():
            ids[key] = ensure_unit(session, centre=CENTRE.centre, unit=unit, kind=kind, name=key).id
    yield ids
    for code in (INVITING, OTHER):
        drop_tenant(engine, parse_municipality_code(code))
        identity.remove_organization(code)


@pytest.fixture
def usernames(engine: Engine) -> Iterator[list[str]]:
    """Accounts a test creates (removed afterwards with the roster and the refusals)."""
    made: list[str] = []
    yield made
    with tenant_session(engine, parse_municipality_code(INVITING)) as session:
        session.execute(delete(StaffMember))
    with engine.begin() as conn:
        conn.execute(delete(IdentityUser).where(IdentityUser.username.in_(made)))
        conn.execute(
            delete(PlatformAuditEvent).where(
                PlatformAuditEvent.tenant_code.in_([INVITING, OTHER, SIGNUP])
            )
        )


def address(usernames: list[str], label: str) -> str:
    email = f"{label}-{uuid.uuid4().hex[:8]}@example.gr"
    usernames.append(email)
    return email


@dataclass
class Roster:
    """The inviting municipality's roster as its admin reaches it over the API, and the
    accounts at the embedded issuer: what every attack here goes through (one fixture rather
    than the same five threaded through each test and helper)."""

    client: FlaskClient
    engine: Engine
    tokens: TokenFactory
    units: dict[str, int]
    usernames: list[str]

    def address(self, label: str) -> str:
        """A new address (and username), removed after the test."""
        return address(self.usernames, label)

    def account(self, label: str, role: Role, **scope: Any) -> tuple[str, dict[str, Any]]:
        """An existing account of the platform (made as the platform makes them); its address
        and what it holds."""
        email = self.address(label)
        EmbeddedIdentityAdmin(self.engine).ensure_user(
            UserSpec(username=email, email=email, role=role, **scope)
        )
        return email, self.held(email)

    def held(self, username: str) -> dict[str, Any]:
        """Everything an account holds at the embedded issuer (it must exist)."""
        account = identity_account(self.engine, username)
        assert account is not None, username
        return account

    def admin(self) -> dict[str, str]:
        return self.tokens.headers(Role.MUNICIPALITY_ADMIN, municipality=INVITING)

    def add(self, email: str, **overrides: Any) -> dict[str, Any]:
        """A new member of the annex (``overrides`` replace fields), as the API answers it."""
        body = {
            "full_name": "Νίκος Αλεξίου",
            "email": email,
            "unit_id": self.units["annex"],
            "profile_code": "psychologist",
            "start_date": "2024-02-01",
            "fte": "1",
            **overrides,
        }
        response = self.client.post(STAFF_URL, headers=self.admin(), json=body)
        assert response.status_code == 201, response.get_json()
        member: dict[str, Any] = response.get_json()
        return member

    def invite(self, member: dict[str, Any]) -> TestResponse:
        return self.client.post(f"{STAFF_URL}/{member['id']}/invite", headers=self.admin())

    def change(self, member_id: int, **changes: Any) -> TestResponse:
        current = self.client.get(f"{STAFF_URL}/{member_id}", headers=self.admin())
        return self.client.patch(
            f"{STAFF_URL}/{member_id}",
            headers={**self.admin(), "If-Match": current.headers["ETag"]},
            json=changes,
        )

    def row(self, member_id: int) -> dict[str, Any]:
        url = f"{STAFF_URL}/{member_id}"
        row: dict[str, Any] = self.client.get(url, headers=self.admin()).get_json()
        return row

    def refusals(self, code: str = INVITING) -> list[tuple[str, dict[str, Any]]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(PlatformAuditEvent.action, PlatformAuditEvent.details)
                .where(
                    PlatformAuditEvent.tenant_code == code,
                    PlatformAuditEvent.action.like("%refused"),
                )
                .order_by(PlatformAuditEvent.id)
            )
            return [(r.action, r.details) for r in rows]


@pytest.fixture
def roster(
    client: FlaskClient,
    engine: Engine,
    tokens: TokenFactory,
    municipalities: dict[str, int],
    usernames: list[str],
) -> Roster:
    return Roster(client, engine, tokens, municipalities, usernames)


def assert_refused_without_naming_anyone(response: TestResponse) -> None:
    assert response.status_code == 409, response.get_json()
    assert response.mimetype == "application/problem+json"
    detail = response.get_json()["detail"]
    assert detail == FOREIGN_ACCOUNT
    assert not any(name in detail for name in OTHER_NAMES)


# --- the reported attack and its relatives -------------------------------------------------------

TARGETS: dict[str, tuple[Role, dict[str, Any]]] = {
    "another municipality's first admin": (Role.MUNICIPALITY_ADMIN, {"municipality_code": OTHER}),
    "another municipality's supervisor": (
        Role.SUPERVISOR_OPERATIONAL,
        {"municipality_code": OTHER},
    ),
    "another municipality's centre head": (Role.CENTRE_HEAD, {"unit": OTHER_CENTRE}),
    "another municipality's staff": (Role.STAFF, {"unit": OTHER_CENTRE}),
    "a ministry officer": (Role.MINISTRY_OFFICER, {}),
    "a regional officer": (Role.REGIONAL_OFFICER, {"region": "EL30"}),
    "the platform's operator": (Role.PLATFORM_OPERATOR, {}),
}


@pytest.mark.parametrize("typed_as", [str, str.upper], ids=["as stored", "in capitals"])
@pytest.mark.parametrize("target", TARGETS, ids=list(TARGETS))
def test_inviting_someone_elses_account_is_refused_and_changes_nothing(
    roster: Roster,
    caplog: pytest.LogCaptureFixture,
    target: str,
    typed_as: Callable[[str], str],
) -> None:
    role, scope = TARGETS[target]
    email, before = roster.account("target", role, **scope)
    member = roster.add(typed_as(email))
    caplog.set_level("INFO")

    assert_refused_without_naming_anyone(roster.invite(member))

    assert roster.held(email) == before
    row = roster.row(member["id"])
    assert (row["identity_user_id"], row["invited_at"]) == (None, None)
    assert roster.refusals() == [
        ("staff.account_refused", {"staff_id": member["id"], "reason": "foreign_account"})
    ]
    assert "identity.user_access_removed" not in caplog.text
    assert email not in caplog.text.lower()


def test_the_invitation_button_refuses_the_same_way(roster: Roster) -> None:
    email, before = roster.account("target", Role.MUNICIPALITY_ADMIN, municipality_code=OTHER)
    member = roster.add(email)
    url = f"/municipalities/{INVITING}/staff/{member['id']}"
    token = csrf_token_of(roster.client, url, roster.admin())

    response = roster.client.post(
        f"{url}/invite", headers=roster.admin(), data={"csrf_token": token}
    )

    assert response.status_code == 409
    text = html.unescape(response.get_data(as_text=True))
    assert str(FOREIGN_ACCOUNT) in text
    assert not any(name in text for name in OTHER_NAMES)
    assert roster.held(email) == before
    assert roster.row(member["id"])["identity_user_id"] is None


def test_an_account_in_a_group_outside_the_platforms_units_is_not_the_municipalitys(
    roster: Roster,
) -> None:
    """An account of this very municipality that someone also put in a group of their own
    (groups carry roles at Keycloak) is not the roster's to re-scope."""
    email, _ = roster.account("grouped", Role.STAFF, unit=ANNEX)
    with roster.engine.begin() as conn:
        organization = conn.scalar(
            select(IdentityOrganization.id).where(
                IdentityOrganization.alias == organization_alias(INVITING)
            )
        )
        group = uuid.uuid4()
        conn.execute(
            IdentityGroup.__table__.insert().values(
                id=group,
                path=f"/auditors-{group.hex[:6]}",
                name="auditors",
                organization_id=organization,
            )
        )
        conn.execute(
            IdentityGroupMember.__table__.insert().values(
                group_id=group, user_id=uuid.UUID(roster.held(email)["id"])
            )
        )
    before = roster.held(email)
    member = roster.add(email, unit_id=roster.units["centre"])
    try:
        assert_refused_without_naming_anyone(roster.invite(member))
        assert roster.held(email) == before
    finally:
        with roster.engine.begin() as conn:
            conn.execute(delete(IdentityGroup).where(IdentityGroup.id == group))


def test_onboarding_approval_with_an_existing_accounts_address_provisions_nothing(
    roster: Roster,
) -> None:
    """The signup names a ministry officer's address as the representative's: approving it
    would have added a municipality admin's role to the officer's account."""
    email, before = roster.account("officer", Role.MINISTRY_OFFICER)
    signup = {
        "municipality_code": SIGNUP,
        "body_type": "municipality",
        "body_legal_name": "Δήμος Κοζάνης",
        "body_vat": "090000045",
        "contact_name": "Ελένη Παππά",
        "contact_email": email,
        "contact_phone": "2461 0 12345",
        "has_social_service": True,
    }
    submitted = roster.client.post("/api/v1/onboarding/requests", json=signup)
    assert submitted.status_code == 201, submitted.get_json()
    request_id = submitted.get_json()["id"]
    reviewer = roster.tokens.headers(Role.MINISTRY_OFFICER)
    try:
        approved = roster.client.post(
            f"/api/v1/onboarding/requests/{request_id}/approve", headers=reviewer, json={}
        )
        assert approved.status_code == 409, approved.get_json()
        assert "ανήκει ήδη σε λογαριασμό της πλατφόρμας" in approved.get_json()["detail"]
        assert roster.held(email) == before
        assert SIGNUP not in registry_codes(roster.engine)
        with roster.engine.connect() as conn:
            assert (
                conn.scalar(
                    select(IdentityOrganization.id).where(
                        IdentityOrganization.alias == organization_alias(SIGNUP)
                    )
                )
                is None
            )
        opened = roster.client.get(f"/api/v1/onboarding/requests/{request_id}", headers=reviewer)
        assert opened.get_json()["status"] == "submitted"
        assert roster.refusals(SIGNUP) == [
            (
                "onboarding.admin_account_refused",
                {"request_id": request_id, "reason": "foreign_account"},
            )
        ]
    finally:
        with roster.engine.begin() as conn:
            conn.execute(delete(OnboardingRequest).where(OnboardingRequest.id == request_id))


# --- paths that touch an account after the invitation --------------------------------------------


def invited_then_promoted(roster: Roster) -> tuple[dict[str, Any], str]:
    """A member invited honestly, whose account the platform later gives a ministry role (the
    person moved to the ministry): from then on it is not the municipality's to manage."""
    email = roster.address("promoted")
    member = roster.add(email)
    assert roster.invite(member).status_code == 200
    EmbeddedIdentityAdmin(roster.engine).ensure_user(
        UserSpec(username=email, email=email, role=Role.MINISTRY_OFFICER)
    )
    return roster.row(member["id"]), email


def test_re_scoping_an_account_that_is_no_longer_the_municipalitys_is_refused(
    roster: Roster,
) -> None:
    member, email = invited_then_promoted(roster)
    before = roster.held(email)

    moved = roster.change(member["id"], unit_id=roster.units["centre"], is_head=True)

    assert_refused_without_naming_anyone(moved)
    assert roster.held(email) == before
    assert roster.row(member["id"]) == member  # nothing saved


def test_ending_the_contract_leaves_an_account_that_is_no_longer_the_municipalitys(
    roster: Roster,
) -> None:
    member, email = invited_then_promoted(roster)
    before = roster.held(email)

    ended = roster.change(member["id"], end_date=local_today().isoformat())

    assert ended.status_code == 200, ended.get_json()
    assert roster.held(email) == before  # still enabled: the ministry's account now
    assert ended.get_json()["identity_user_id"] is None  # no longer linked to the roster
    assert roster.refusals() == [
        (
            "staff.account_refused",
            {"staff_id": member["id"], "reason": "foreign_account_not_disabled"},
        )
    ]


def test_the_daily_offboarding_leaves_an_account_that_is_no_longer_the_municipalitys(
    settings: Settings, roster: Roster
) -> None:
    member, email = invited_then_promoted(roster)
    before = roster.held(email)
    # The contract ended yesterday.
    with tenant_session(roster.engine, parse_municipality_code(INVITING)) as session:
        session.execute(
            update(StaffMember)
            .where(StaffMember.id == member["id"])
            .values(end_date=local_today() - timedelta(days=1))
        )

    staff_tasks.offboard_all(roster.engine, settings)

    assert roster.held(email) == before
    assert roster.row(member["id"])["identity_user_id"] is None
    assert [reason for _a, reason in roster.refusals()] == [
        {"staff_id": member["id"], "reason": "foreign_account_not_disabled"}
    ]


# --- neighbouring cases ----------------------------------------------------------------------------


def test_an_address_already_linked_to_another_current_member_is_refused(roster: Roster) -> None:
    """Same municipality: inviting would hand the first member's account to the second."""
    email = roster.address("shared")
    first = roster.add(email)
    assert roster.invite(first).status_code == 200
    before = roster.held(email)
    second = roster.add(email, unit_id=roster.units["centre"])

    refused = roster.invite(second)

    assert refused.status_code == 409
    assert refused.get_json()["detail"] == ACCOUNT_OF_ANOTHER_MEMBER
    assert roster.held(email) == before
    assert roster.row(second["id"])["identity_user_id"] is None
    assert [reason for _a, reason in roster.refusals()] == [
        {"staff_id": second["id"], "reason": "account_of_another_member"}
    ]
    # Once the first contract has ended (a renewal, say), the second member may have it.
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    assert roster.change(first["id"], end_date=yesterday).status_code == 200
    assert roster.invite(second).status_code == 200
    assert roster.held(email)["groups"] == {str(CENTRE)}


def test_a_changed_address_that_matches_another_account_cannot_be_invited(roster: Roster) -> None:
    target, before = roster.account("target", Role.MUNICIPALITY_ADMIN, municipality_code=OTHER)
    own = roster.address("own")
    member = roster.add(own)
    assert roster.invite(member).status_code == 200

    changed = roster.change(member["id"], email=target)
    assert changed.status_code == 200, changed.get_json()
    assert roster.held(own)["enabled"] is False  # the old address's account, as before

    assert_refused_without_naming_anyone(roster.invite(member))
    assert roster.held(target) == before


def test_a_person_working_for_two_municipalities_has_an_account_in_each(roster: Roster) -> None:
    """docs/adr/0016: no silent merge. The second municipality is refused under the address the
    first one uses, and invites the person under another (their address there)."""
    shared, before = roster.account("two-jobs", Role.STAFF, unit=OTHER_CENTRE)
    member = roster.add(shared)
    assert_refused_without_naming_anyone(roster.invite(member))

    second = roster.address("two-jobs-keratsini")
    assert roster.change(member["id"], email=second).status_code == 200
    assert roster.invite(member).status_code == 200

    assert roster.held(shared) == before
    here = roster.held(second)
    assert (here["roles"], here["organizations"], here["groups"]) == (
        {Role.STAFF},
        {organization_alias(INVITING)},
        {str(ANNEX)},
    )
    assert here["id"] != before["id"]


# --- the same rule in every adapter ------------------------------------------------------------------


@pytest.fixture(params=["embedded", "keycloak"])
def adapter(
    request: pytest.FixtureRequest, engine: Engine, municipalities: dict[str, int]
) -> Iterator[IdentityAdmin]:
    if request.param == "embedded":
        yield EmbeddedIdentityAdmin(engine)
        return
    standin: KeycloakStandIn = request.getfixturevalue("keycloak_standin")
    keycloak = KeycloakIdentityAdmin(standin.url, standin.client_secret)
    for code in (INVITING, OTHER):
        keycloak.ensure_organization(code, code)
    yield keycloak


def own_spec(username: str, **changes: Any) -> UserSpec:
    """A staff member of the inviting municipality's annex, named and reached by ``username``
    (an address); ``changes`` replace fields."""
    fields: dict[str, Any] = {"email": username, "role": Role.STAFF, "unit": ANNEX, **changes}
    return UserSpec(username=username, **fields)


def test_every_adapter_refuses_another_municipalitys_account(
    adapter: IdentityAdmin, usernames: list[str]
) -> None:
    email = address(usernames, "adapter")
    adapter.ensure_user(
        UserSpec(username=email, email=email, role=Role.MUNICIPALITY_ADMIN, municipality_code=OTHER)
    )
    with pytest.raises(ForeignAccount):
        adapter.check_user(own_spec(email))
    with pytest.raises(ForeignAccount):
        adapter.ensure_user(own_spec(email), exclusive=True)
    with pytest.raises(ForeignAccount):
        adapter.disable_user(email, municipality_code=INVITING)
    # The other municipality manages it: its own calls go through.
    adapter.check_user(UserSpec(username=email, email=email, role=Role.STAFF, unit=OTHER_CENTRE))
    adapter.disable_user(email, municipality_code=OTHER)


def test_every_adapter_refuses_an_address_of_another_username(
    adapter: IdentityAdmin, usernames: list[str]
) -> None:
    email = address(usernames, "adapter")
    username = address(usernames, "login")
    adapter.ensure_user(UserSpec(username=username, email=email, role=Role.MINISTRY_OFFICER))
    with pytest.raises(ForeignAccount):
        adapter.ensure_user(own_spec(email))


def test_every_adapter_lets_the_municipality_manage_its_own_account(
    adapter: IdentityAdmin, usernames: list[str]
) -> None:
    email = address(usernames, "adapter")
    first = adapter.ensure_user(own_spec(email, role=Role.CENTRE_HEAD, unit=CENTRE))
    adapter.check_user(own_spec(email))
    assert adapter.ensure_user(own_spec(email), exclusive=True) == first
    adapter.disable_user(email, municipality_code=INVITING)
    adapter.disable_user(f"nobody-{uuid.uuid4().hex}", municipality_code=INVITING)  # no one
    # A spec without an address (a development user, with a password) is checked by its
    # username alone.
    without_address = address(usernames, "no-address")
    adapter.ensure_user(own_spec(without_address, email="", password="demo-password"))
    adapter.check_user(own_spec(without_address, email=""))


@pytest.mark.parametrize(
    "privilege", ["realm role", "realm-management role", "service account", "own group"]
)
def test_keycloak_accounts_with_privileges_beyond_the_platforms_roles_are_refused(
    keycloak_standin: KeycloakStandIn, usernames: list[str], privilege: str
) -> None:
    keycloak = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    keycloak.ensure_organization(INVITING, INVITING)
    email = address(usernames, "privileged")
    user_id = keycloak.ensure_user(own_spec(email))
    state = keycloak_standin.state
    if privilege == "realm role":
        state.user_realm_roles[user_id].add("admin")
    elif privilege == "realm-management role":
        management = next(
            uuid for uuid, c in state.clients.items() if c["clientId"] == "realm-management"
        )
        state.client_roles[management].setdefault(
            "manage-users", {"id": "manage-users-id", "name": "manage-users"}
        )
        state.user_client_roles[user_id][management] = {"manage-users"}
    elif privilege == "service account":
        state.users[user_id]["serviceAccountClientId"] = "kentra-provisioning"
    else:
        keycloak._admin.group_user_add(user_id, keycloak._admin.create_group({"name": "ops"}))
    writes_before = [r for r in keycloak_standin.requests if r.method != "GET"]

    with pytest.raises(ForeignAccount):
        keycloak.ensure_user(own_spec(email, role=Role.CENTRE_HEAD, unit=CENTRE), exclusive=True)
    with pytest.raises(ForeignAccount):
        keycloak.disable_user(email, municipality_code=INVITING)

    assert [r for r in keycloak_standin.requests if r.method != "GET"] == writes_before
