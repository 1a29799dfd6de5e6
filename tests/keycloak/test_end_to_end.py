"""Onboarding approval and staff invitation end to end, with Keycloak as the identity provider.

The app is configured as in production: ``KENTRA_OIDC_ISSUER`` is the running Keycloak (tokens
are validated against its JWKS over HTTP) and the identity adapter is ``KeycloakIdentityAdmin``
signed in as ``kentra-provisioning`` (``auth/adapters.identity_admin``). Everything is driven
through the app's API with Keycloak's own tokens (password grant of ``kentra-cli``) and read
back from Keycloak's admin API. An invited user's password is set through the admin API, and
the e-mail marked verified, which is what following Keycloak's invitation link does.

Municipalities are scratch codes 99xx (tests/keycloak/conftest.py), added to this test
database's reference data for the test and removed afterwards with their tenants; what
Keycloak holds of them goes with ``Scratch``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from keycloak import KeycloakAdmin
from sqlalchemy import Engine, delete, select

from kentra.auth.identity import UserSpec
from kentra.auth.keycloak_admin import KeycloakIdentityAdmin
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import TokenValidator
from kentra.platform.app.factory import create_app
from kentra.platform.compliance.models import CentreCompliance
from kentra.platform.core.config import Settings
from kentra.platform.core.models import local_today
from kentra.platform.onboarding.models import OnboardingRequest, RequestStatus
from kentra.platform.reference.models import Municipality
from kentra.tenants.codes import parse_municipality_code
from kentra.tenants.models import Tenant
from tests.conftest import TENANT_A, drop_tenant
from tests.keycloak.conftest import Mailbox, Scratch, TokenEndpoint
from tests.keycloak.test_admin import PASSWORD, account, organization

API = "/api/v1"
VALID_VAT = "090000045"
# The municipality's units, as its admin registers them.
CENTRE = {
    "name": "Κέντρο Κοινότητας Δοκιμής",
    "street_address": "Οδός Δοκιμής 1",
    "postal_code": "10431",
    "opening_date": "2024-03-01",
}
ANNEX = {
    "name": "Παράρτημα Ρομά Δοκιμής",
    "annex_reason": "roma",
    "street_address": "Οδός Δοκιμής 3",
    "postal_code": "10432",
}


@pytest.fixture(scope="module")
def keycloak_app(
    settings: Settings, engine: Engine, keycloak_issuer: str, provisioning_secret: str
) -> Flask:
    """The app with Keycloak as its issuer and identity provider (the production set-up)."""
    app: Flask = create_app(
        dataclasses.replace(
            settings,
            oidc_issuer=keycloak_issuer,
            keycloak_server_url=None,  # derived from the issuer, as in production
            keycloak_admin_client_secret=provisioning_secret,
        )
    )
    return app


@pytest.fixture
def client(keycloak_app: Flask) -> FlaskClient:
    return keycloak_app.test_client()


@pytest.fixture
def municipalities(engine: Engine, scratch: Scratch) -> Iterator[Callable[[], str]]:
    """Scratch municipalities in the reference data (a centre of their own allowed, in the
    regional unit of 4501), each with its Keycloak objects in ``scratch``; removed afterwards
    with everything the platform made of them."""
    made: list[str] = []
    with engine.connect() as conn:
        regional_unit = conn.scalar(
            select(Municipality.regional_unit_code).where(Municipality.code == TENANT_A.value)
        )

    def make() -> str:
        code = scratch.code()
        with engine.begin() as conn:
            conn.execute(delete(Municipality).where(Municipality.code == code))  # a crashed run's
            conn.execute(
                Municipality.__table__.insert().values(
                    code=code,
                    name_el=f"Δήμος Δοκιμής {code}",
                    name_latin=f"Dimos Dokimis {code}",
                    regional_unit_code=regional_unit,
                    population=50_000,
                    population_provisional=False,
                    population_source="test",
                    is_regional_unit_seat=False,
                    search_text=f"dimos dokimis {code}",
                )
            )
        made.append(code)
        return code

    yield make
    for code in made:
        drop_tenant(engine, parse_municipality_code(code))
        with engine.begin() as conn:
            conn.execute(
                delete(OnboardingRequest).where(OnboardingRequest.municipality_code == code)
            )
            conn.execute(delete(CentreCompliance).where(CentreCompliance.municipality_code == code))
            conn.execute(delete(Municipality).where(Municipality.code == code))


def bearer(token_endpoint: TokenEndpoint, username: str) -> dict[str, str]:
    """Keycloak's access token for ``username`` (password grant of kentra-cli)."""
    response = token_endpoint.password(username, PASSWORD)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def principal_of(
    token_endpoint: TokenEndpoint, validator: TokenValidator, username: str
) -> Principal:
    token = bearer(token_endpoint, username)["Authorization"].removeprefix("Bearer ")
    return Principal.from_claims(validator.validate(token))


def accept_invitation(kc: KeycloakAdmin, username: str) -> None:
    """What following Keycloak's invitation link does: a password, a verified address."""
    user_id = kc.get_user_id(username)
    assert user_id is not None, username
    kc.set_user_password(user_id, PASSWORD, temporary=False)
    kc.update_user(user_id, {"emailVerified": True})


def existing_account(
    identity: KeycloakIdentityAdmin, scratch: Scratch, stem: str, role: Role, **scope: Any
) -> UserSpec:
    """An account made by the platform's own callers, named as invitations name users (the
    e-mail is the username) when ``scope`` names a municipality."""
    spec = scratch.spec(stem, role, password=PASSWORD, **scope)
    if spec.managing_municipality is not None:
        spec = dataclasses.replace(spec, username=spec.email)
        scratch.usernames.append(spec.email)
    identity.ensure_user(spec)
    return spec


def submit_and_approve(
    client: FlaskClient,
    code: str,
    contact_email: str,
    reviewer: dict[str, str],
    contact_name: str = "Ελένη Μαρία Παππά",
) -> tuple[dict[str, Any], Any]:
    """A representative's request, then the reviewer's approval: (the request, the answer)."""
    submitted = client.post(
        f"{API}/onboarding/requests",
        json={
            "municipality_code": code,
            "body_type": "municipality",
            "body_legal_name": f"Δήμος Δοκιμής {code}",
            "body_vat": VALID_VAT,
            "contact_name": contact_name,
            "contact_email": contact_email,
            "contact_phone": "2101234567",
            "has_social_service": True,
        },
    )
    assert submitted.status_code == 201, submitted.get_json()
    request = submitted.get_json()
    answer = client.post(
        f"{API}/onboarding/requests/{request['id']}/approve", headers=reviewer, json={}
    )
    return request, answer


@pytest.fixture
def reviewer(
    identity: KeycloakIdentityAdmin, scratch: Scratch, token_endpoint: TokenEndpoint
) -> tuple[UserSpec, dict[str, str]]:
    """A ministry officer (a role holding platform:onboarding:manage) and their token."""
    spec = existing_account(identity, scratch, "ministry", Role.MINISTRY_OFFICER)
    return spec, bearer(token_endpoint, spec.username)


@pytest.fixture
def onboarded(
    client: FlaskClient,
    kc: KeycloakAdmin,
    scratch: Scratch,
    municipalities: Callable[[], str],
    mailbox: Mailbox,
    reviewer: tuple[UserSpec, dict[str, str]],
    token_endpoint: TokenEndpoint,
) -> tuple[str, str, dict[str, str]]:
    """A municipality onboarded through the app, its first admin signed in: (code, the admin's
    username, the admin's headers)."""
    code = municipalities()
    email = f"kc-test-admin-{scratch.suffix}@example.invalid"
    scratch.usernames.append(email)
    _request, approved = submit_and_approve(client, code, email, reviewer[1])
    assert approved.status_code == 200, approved.get_json()
    assert approved.get_json()["status"] == "approved"
    accept_invitation(kc, email)
    return code, email, bearer(token_endpoint, email)


def test_an_approved_municipality_and_its_first_admin(
    client: FlaskClient,
    engine: Engine,
    kc: KeycloakAdmin,
    mailbox: Mailbox,
    keycloak_validator: TokenValidator,
    token_endpoint: TokenEndpoint,
    onboarded: tuple[str, str, dict[str, str]],
) -> None:
    code, email, admin = onboarded
    # The tenant and its organization.
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.status).where(Tenant.code == code)) == "active"
    (found,) = organization(kc, f"m-{code}")
    assert found["name"] == f"Δήμος Δοκιμής {code} ({code})"
    # The first admin: invited by e-mail with role, organization and names.
    state = account(kc, email)
    assert state["roles"] == {"municipality-admin"}
    assert state["organizations"] == {f"m-{code}"}
    assert state["groups"] == set()
    user_id = kc.get_user_id(email)
    assert user_id is not None
    user = kc.get_user(user_id)
    assert (user["firstName"], user["lastName"]) == ("Ελένη", "Μαρία Παππά")
    assert len(mailbox.to(email)) == 1
    assert "action-token" in mailbox.to(email)[0]["data"]

    # Their own token reaches the new tenant, and no other.
    principal = principal_of(token_endpoint, keycloak_validator, email)
    assert principal.roles == {Role.MUNICIPALITY_ADMIN}
    assert principal.organization == code
    profile = client.get(f"{API}/municipalities/{code}", headers=admin)
    assert profile.status_code == 200, profile.get_json()
    assert profile.get_json()["code"] == code
    assert client.get(f"{API}/municipalities/{code}/staff", headers=admin).status_code == 200
    for other in (f"{API}/municipalities/{TENANT_A.value}", f"{API}/municipalities/4501/staff"):
        assert client.get(other, headers=admin).status_code == 404


def register_units(
    client: FlaskClient, kc: KeycloakAdmin, code: str, admin: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The municipality's centre and an annex, registered by its admin: each gets its group."""
    units = f"{API}/municipalities/{code}/units"

    def added(url: str, body: dict[str, str]) -> dict[str, Any]:
        response = client.post(url, headers=admin, json=body)
        assert response.status_code == 201, response.get_json()
        unit: dict[str, Any] = response.get_json()
        return unit

    centre = added(f"{units}/centre", CENTRE)
    annex = added(f"{units}/{centre['id']}/annexes", ANNEX)
    for unit in (centre, annex):
        group = kc.get_group_by_path(unit["path"])
        assert group["attributes"]["kentra_name"] == [unit["name"]]
    return centre, annex


def test_staff_invited_moved_and_ended_in_keycloak(
    client: FlaskClient,
    kc: KeycloakAdmin,
    scratch: Scratch,
    mailbox: Mailbox,
    keycloak_validator: TokenValidator,
    token_endpoint: TokenEndpoint,
    onboarded: tuple[str, str, dict[str, str]],
) -> None:
    code, _email, admin = onboarded
    centre, annex = register_units(client, kc, code, admin)
    roster = f"{API}/municipalities/{code}/staff"
    email = f"kc-test-staff-{scratch.suffix}@example.invalid"
    scratch.usernames.append(email)
    created = client.post(
        roster,
        headers=admin,
        json={
            "full_name": "Άννα Ιωάννου-Παππά",
            "email": email,
            "unit_id": centre["id"],
            "profile_code": "psychologist",
            "start_date": "2024-02-01",
            "fte": "1.0",
        },
    )
    assert created.status_code == 201, created.get_json()
    member = created.get_json()

    for _ in range(2):  # inviting twice is harmless
        invited = client.post(f"{roster}/{member['id']}/invite", headers=admin)
        assert invited.status_code == 200, invited.get_json()
    user_id = kc.get_user_id(email)
    assert user_id is not None
    assert invited.get_json()["identity_user_id"] == user_id
    state = account(kc, email)
    assert state["roles"] == {"staff"}
    assert state["organizations"] == {f"m-{code}"}
    assert state["groups"] == {centre["path"]}
    assert state["attributes"] == {"profession": ["psychologist"]}
    assert state["enabled"] is True
    assert (kc.get_user(user_id)["firstName"], kc.get_user(user_id)["lastName"]) == (
        "Άννα",
        "Ιωάννου-Παππά",
    )
    assert len(mailbox.to(email)) == 2  # each invitation sent (no password yet)

    # Their token gives the Principal the roster says, and the app lets them in accordingly.
    accept_invitation(kc, email)
    principal = principal_of(token_endpoint, keycloak_validator, email)
    centre_path = UnitPath(code, centre["path"].split("/")[2])
    assert (principal.roles, principal.organization, principal.units, principal.profession) == (
        {Role.STAFF},
        code,
        (centre_path,),
        Profession.PSYCHOLOGIST,
    )
    staff = bearer(token_endpoint, email)
    units = f"{API}/municipalities/{code}/units"
    assert client.get(f"{units}/{centre['id']}/workspace", headers=staff).status_code == 200
    assert client.get(roster, headers=staff).status_code == 403  # staff read no roster

    # A new unit moves the group membership; the next token names only the annex.
    current = client.get(f"{roster}/{member['id']}", headers=admin)
    moved = client.patch(
        f"{roster}/{member['id']}",
        headers={**admin, "If-Match": current.headers["ETag"]},
        json={"unit_id": annex["id"]},
    )
    assert moved.status_code == 200, moved.get_json()
    assert account(kc, email)["groups"] == {annex["path"]}
    assert account(kc, email)["roles"] == {"staff"}
    principal = principal_of(token_endpoint, keycloak_validator, email)
    assert principal.units == (UnitPath(code, *annex["path"].split("/")[2:]),)
    staff = bearer(token_endpoint, email)
    assert client.get(f"{units}/{annex['id']}/workspace", headers=staff).status_code == 200
    assert client.get(f"{units}/{centre['id']}/workspace", headers=staff).status_code == 404

    # The contract ends today: the account is disabled, no new token.
    ended = client.patch(
        f"{roster}/{member['id']}",
        headers={**admin, "If-Match": moved.headers["ETag"]},
        json={"end_date": local_today().isoformat()},
    )
    assert ended.status_code == 200, ended.get_json()
    state = account(kc, email)
    assert state["enabled"] is False
    assert state["groups"] == {annex["path"]}  # nothing else changed
    refused = token_endpoint.password(email, PASSWORD)
    assert refused.status_code in {400, 401}
    assert refused.json()["error"] == "invalid_grant"


def test_accounts_the_municipality_does_not_manage_are_refused_and_untouched(
    client: FlaskClient,
    engine: Engine,
    kc: KeycloakAdmin,
    identity: KeycloakIdentityAdmin,
    scratch: Scratch,
    municipalities: Callable[[], str],
    reviewer: tuple[UserSpec, dict[str, str]],
    onboarded: tuple[str, str, dict[str, str]],
) -> None:
    """docs/adr/0016 through the app: an invitation under the address (and so the username)
    of another municipality's account, or of a ministry, regional or platform account, is a
    409 and Keycloak is left as it was; so is an approval whose contact has such an account."""
    code, _email, admin = onboarded
    centre, _annex = register_units(client, kc, code, admin)
    theirs = municipalities()
    identity.ensure_organization(theirs, f"Δήμος Δοκιμής {theirs}")
    others = [
        existing_account(
            identity, scratch, "theirs", Role.STAFF, unit=UnitPath(theirs, "kk-allou")
        ),
        existing_account(
            identity, scratch, "their-admin", Role.MUNICIPALITY_ADMIN, municipality_code=theirs
        ),
        reviewer[0],  # ministry officer
        existing_account(identity, scratch, "regional", Role.REGIONAL_OFFICER, region="EL30"),
        existing_account(identity, scratch, "operator", Role.PLATFORM_OPERATOR),
    ]
    roster = f"{API}/municipalities/{code}/staff"
    for other in others:
        before = account(kc, other.username)
        created = client.post(
            roster,
            headers=admin,
            json={
                "full_name": "Κάποιος Άλλος",
                "email": other.email,
                "unit_id": centre["id"],
                "profile_code": "social_worker",
                "start_date": "2024-02-01",
                "fte": "0.5",
            },
        )
        assert created.status_code == 201, created.get_json()
        refused = client.post(f"{roster}/{created.get_json()['id']}/invite", headers=admin)
        assert refused.status_code == 409, (other.role, refused.get_json())
        assert refused.get_json()["detail"].startswith("Η διεύθυνση e-mail ανήκει ήδη")
        assert account(kc, other.username) == before, other.role
        if other.username != other.email:
            assert kc.get_user_id(other.email) is None  # no second account either
        member = client.get(f"{roster}/{created.get_json()['id']}", headers=admin).get_json()
        assert member["identity_user_id"] is None

    # Onboarding: the representative's address is the platform operator's.
    operator = others[-1]
    before = account(kc, operator.username)
    another = municipalities()
    request, refused = submit_and_approve(client, another, operator.email, reviewer[1])
    assert refused.status_code == 409, refused.get_json()
    assert account(kc, operator.username) == before
    assert organization(kc, f"m-{another}") == []
    with engine.connect() as conn:
        assert conn.scalar(select(Tenant.code).where(Tenant.code == another)) is None
        status = conn.scalar(
            select(OnboardingRequest.status).where(OnboardingRequest.id == request["id"])
        )
    assert status == RequestStatus.SUBMITTED
