"""Every operation of ``KeycloakIdentityAdmin`` against Keycloak's real admin API, each done twice
(idempotent): organizations created and removed, unit groups created, renamed and a user moved
between them, users invited with role, unit, profession and names, ``exclusive``, disabled; and
the account rule of docs/adr/0016 (``ForeignAccount``, nothing written)."""

from __future__ import annotations

from typing import Any

import pytest
from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakPostError

from kentra.auth.claims import API_CLIENT, REALM
from kentra.auth.identity import (
    PERSON_NAME_PROHIBITED,
    ForeignAccount,
    UserSpec,
    person_name_allowed,
    split_full_name,
)
from kentra.auth.keycloak_admin import (
    ATTRIBUTE_DISPLAY_NAME,
    KeycloakAdminError,
    KeycloakIdentityAdmin,
)
from kentra.auth.principal import Principal
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import TokenValidator
from tests.keycloak.conftest import Mailbox, Scratch, TokenEndpoint, _group_or_none, unit

PASSWORD = "kc-test-password-1"


def organization(kc: KeycloakAdmin, alias: str) -> list[dict[str, Any]]:
    """Organizations with this alias, found without the adapter (a full listing)."""
    return [o for o in kc.get_organizations() if o.get("alias") == alias]


@pytest.fixture
def code(scratch: Scratch, identity: KeycloakIdentityAdmin) -> str:
    """A scratch municipality, its organization made at Keycloak."""
    made = scratch.code()
    identity.ensure_organization(made, "Δήμος Δοκιμής")
    return made


def account(kc: KeycloakAdmin, username: str) -> dict[str, Any]:
    """Everything an account holds that the adapter writes or the account rule reads."""
    user_id = kc.get_user_id(username)
    assert user_id is not None, username
    user = kc.get_user(user_id)
    mappings = kc.get_all_roles_of_user(user_id)
    clients = mappings.get("clientMappings") or {}
    return {
        "enabled": user["enabled"],
        "email": user.get("email"),
        "attributes": dict(user.get("attributes") or {}),
        "roles": {r["name"] for r in (clients.get(API_CLIENT) or {}).get("mappings", [])},
        "other_client_roles": {
            client: {r["name"] for r in entry.get("mappings", [])}
            for client, entry in clients.items()
            if client != API_CLIENT
        },
        "realm_roles": {r["name"] for r in mappings.get("realmMappings") or []},
        "organizations": {
            o["alias"]
            for o in kc.connection.raw_get(
                f"admin/realms/{REALM}/organizations/members/{user_id}/organizations"
            ).json()
        },
        "groups": {g["path"] for g in kc.get_user_groups(user_id)},
        "credentials": {c["type"] for c in kc.get_credentials(user_id)},
    }


def test_organization_create_twice_remove_twice(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin
) -> None:
    code = scratch.code()
    first = identity.ensure_organization(code, "Δήμος Δοκιμής")
    again = identity.ensure_organization(code, "Δήμος Δοκιμής")
    assert again == first
    (found,) = organization(kc, f"m-{code}")
    assert found["id"] == first
    assert found["name"] == f"Δήμος Δοκιμής ({code})"
    assert found.get("domains", []) == []  # optional since 26.4

    identity.remove_organization(code)
    identity.remove_organization(code)  # absent: not an error
    assert organization(kc, f"m-{code}") == []


def test_municipalities_sharing_a_name_get_two_organizations(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin
) -> None:
    first, second = scratch.code(), scratch.code()
    assert identity.ensure_organization(first, "Δήμος Ηρακλείου") != identity.ensure_organization(
        second, "Δήμος Ηρακλείου"
    )
    assert len(organization(kc, f"m-{first}")) == len(organization(kc, f"m-{second}")) == 1


def test_unit_groups_create_twice_rename_twice(
    identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, code: str
) -> None:
    annex = unit(code, "kk-dokimis", "parartima-1")
    first = identity.ensure_unit_group(annex, "Παράρτημα 1")
    assert identity.ensure_unit_group(annex, "Παράρτημα 1") == first
    centre = identity.ensure_unit_group(unit(code), "Κέντρο Κοινότητας Δοκιμής")
    assert identity.ensure_unit_group(unit(code), "Κέντρο Κοινότητας Δοκιμής") == centre

    group = kc.get_group_by_path(str(annex))
    assert group["id"] == first
    assert group["path"] == f"/m-{code}/kk-dokimis/parartima-1"
    assert group["attributes"][ATTRIBUTE_DISPLAY_NAME] == ["Παράρτημα 1"]
    assert kc.get_group_by_path(f"/m-{code}/kk-dokimis")["id"] == centre

    for _ in range(2):
        assert identity.ensure_unit_group(annex, "Παράρτημα Ένα") == first
    group = kc.get_group_by_path(str(annex))
    assert group["attributes"][ATTRIBUTE_DISPLAY_NAME] == ["Παράρτημα Ένα"]
    children = kc.get_group_children(centre)
    assert [c["name"] for c in children] == ["parartima-1"]  # renamed, not duplicated


def test_invited_user_with_role_unit_and_profession_twice(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    mailbox: Mailbox,
    code: str,
) -> None:
    spec = scratch.spec(
        "invited",
        Role.STAFF,
        unit=unit(code, annex="parartima-1"),
        profession=Profession.PSYCHOLOGIST,
    )
    first = identity.ensure_user(spec)
    assert identity.ensure_user(spec) == first

    state = account(kc, spec.username)
    assert state["roles"] == {"staff"}
    assert state["organizations"] == {f"m-{code}"}
    assert state["groups"] == {f"/m-{code}/kk-dokimis/parartima-1"}
    assert state["attributes"]["profession"] == ["psychologist"]
    assert state["credentials"] == set()  # no password until the invitation is followed
    assert state["enabled"] is True
    # Each call (no password yet) sends the invitation: a lost e-mail is recovered by a repeat.
    mails = mailbox.to(spec.email)
    assert len(mails) == 2
    assert "action-token" in mails[0]["data"]


def test_invitation_without_a_mail_server_fails_clearly(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, code: str
) -> None:
    assert not kc.get_realm(REALM).get("smtpServer")  # the development realm has none
    spec = scratch.spec("no-smtp", Role.MUNICIPALITY_ADMIN, municipality_code=code)
    with pytest.raises(KeycloakAdminError, match="answered 500"):
        identity.ensure_user(spec)
    # Written before the e-mail (so that the link works when it arrives): a repeat completes it.
    state = account(kc, spec.username)
    assert state["roles"] == {"municipality-admin"}
    assert state["organizations"] == {f"m-{code}"}


def test_user_with_a_password_twice_signs_in(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    token_endpoint: TokenEndpoint,
    keycloak_validator: TokenValidator,
    code: str,
) -> None:
    spec = scratch.spec("head", Role.CENTRE_HEAD, unit=unit(code), password=PASSWORD)
    assert identity.ensure_user(spec) == identity.ensure_user(spec)
    assert account(kc, spec.username)["credentials"] == {"password"}

    response = token_endpoint.password(spec.username, PASSWORD)
    assert response.status_code == 200, response.text
    principal = Principal.from_claims(keycloak_validator.validate(response.json()["access_token"]))
    assert principal.roles == {Role.CENTRE_HEAD}
    assert principal.organization == code
    assert principal.units == (unit(code),)


def test_a_password_shorter_than_the_policy_is_refused(
    scratch: Scratch, identity: KeycloakIdentityAdmin, code: str
) -> None:
    spec = scratch.spec("short", Role.STAFF, unit=unit(code), password="too-short")
    with pytest.raises(KeycloakAdminError, match="invalidPasswordMinLengthMessage"):
        identity.ensure_user(spec)


def test_regional_officer_has_the_region_and_no_organization(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin
) -> None:
    spec = scratch.spec("regional", Role.REGIONAL_OFFICER, region="EL43", password=PASSWORD)
    identity.ensure_user(spec)
    identity.ensure_user(spec)
    state = account(kc, spec.username)
    assert state["attributes"]["region"] == ["EL43"]
    assert state["organizations"] == set()
    assert state["roles"] == {"regional-officer"}


def test_exclusive_twice_leaves_exactly_the_specs_role_and_unit(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, code: str
) -> None:
    head = scratch.spec("moved", Role.CENTRE_HEAD, unit=unit(code), password=PASSWORD)
    identity.ensure_user(head)
    staff = UserSpec(
        username=head.username,
        email=head.email,
        role=Role.STAFF,
        unit=unit(code, annex="kinito-1"),
        profession=Profession.SOCIAL_WORKER,
        password=PASSWORD,
    )
    identity.ensure_user(staff)  # additive: both roles, both groups
    both = account(kc, head.username)
    assert both["roles"] == {"centre-head", "staff"}
    assert both["groups"] == {f"/m-{code}/kk-dokimis", f"/m-{code}/kk-dokimis/kinito-1"}

    for _ in range(2):
        identity.ensure_user(staff, exclusive=True)
        state = account(kc, head.username)
        assert state["roles"] == {"staff"}
        assert state["groups"] == {f"/m-{code}/kk-dokimis/kinito-1"}
        assert state["organizations"] == {f"m-{code}"}
        assert state["attributes"]["profession"] == ["social_worker"]


def test_moving_a_user_between_unit_groups_twice_each_way(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    token_endpoint: TokenEndpoint,
    keycloak_validator: TokenValidator,
    code: str,
) -> None:
    """The group move of a staff member changing unit: ``exclusive`` leaves the old group for
    the new one, and the next token names only the new unit."""
    first, second = unit(code, annex="parartima-1"), unit(code, annex="kinito-1")
    spec = scratch.spec(
        "mover", Role.STAFF, unit=first, profession=Profession.MEDIATOR, password=PASSWORD
    )
    user_id = identity.ensure_user(spec, exclusive=True)
    for target in (second, first, second):
        moved = UserSpec(**{**spec.__dict__, "unit": target})
        for _ in range(2):
            assert identity.ensure_user(moved, exclusive=True) == user_id
            state = account(kc, spec.username)
            assert state["groups"] == {str(target)}
            assert state["roles"] == {"staff"}
            assert state["organizations"] == {f"m-{code}"}
        token = token_endpoint.password(spec.username, PASSWORD).json()["access_token"]
        assert Principal.from_claims(keycloak_validator.validate(token)).units == (target,)
    # Both groups stay (other members may be in them); only the membership moved.
    assert _group_or_none(kc, str(first)) is not None


def test_names_given_where_missing_kept_where_present(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, code: str
) -> None:
    """What the stand-in and the embedded issuer do, checked on Keycloak: a user created
    without names (blank ones are none) gets the spec's on a repeat; names it has are kept;
    ``exclusive`` removes a profession the spec has not, additive keeps it."""
    named = scratch.spec("names", Role.STAFF, unit=unit(code), profession=Profession.MEDIATOR)
    bare = UserSpec(**{**named.__dict__, "first_name": "", "last_name": " ", "password": PASSWORD})
    user_id = identity.ensure_user(bare)
    user = kc.get_user(user_id)
    assert (user.get("firstName"), user.get("lastName")) == (None, None)

    for _ in range(2):
        identity.ensure_user(UserSpec(**{**named.__dict__, "password": PASSWORD}))
        user = kc.get_user(user_id)
        assert (user["firstName"], user["lastName"]) == ("Δοκιμή", "Keycloak")
    identity.ensure_user(UserSpec(**{**named.__dict__, "first_name": "Άλλο", "last_name": "Όνομα"}))
    assert kc.get_user(user_id)["firstName"] == "Δοκιμή"

    no_profession = UserSpec(**{**named.__dict__, "profession": None})
    identity.ensure_user(no_profession)
    assert account(kc, named.username)["attributes"] == {"profession": ["mediator"]}
    for _ in range(2):
        identity.ensure_user(no_profession, exclusive=True)
        assert account(kc, named.username)["attributes"] == {}
    assert kc.get_user(user_id)["lastName"] == "Keycloak"  # nothing else lost


def test_keycloak_refuses_exactly_the_names_the_platform_refuses(
    scratch: Scratch, kc: KeycloakAdmin
) -> None:
    """``kentra.auth.identity.PERSON_NAME_PROHIBITED`` is Keycloak's list: each character
    fails a user, and what ``split_full_name`` makes of them all is accepted."""
    for character in sorted(PERSON_NAME_PROHIBITED):
        username = scratch.username(f"name-{ord(character)}")
        with pytest.raises(KeycloakPostError) as raised:
            kc.create_user({"username": username, "firstName": "Α", "lastName": f"Β{character}Γ"})
        assert raised.value.response_code == 400, repr(character)
        assert b"error-person-name-invalid-character" in raised.value.response_body
    allowed = "Ά'Β-Γ.Δ,Ε Ζ@Η:Θ+Ι_Κ`Λ"
    assert person_name_allowed(allowed)
    first, last = split_full_name("Μαρία " + "".join(sorted(PERSON_NAME_PROHIBITED)) + allowed)
    username = scratch.username("name-split")
    user_id = kc.create_user({"username": username, "firstName": first, "lastName": last})
    assert (kc.get_user(user_id)["firstName"], kc.get_user(user_id)["lastName"]) == (first, last)


def test_disable_twice_and_no_token_after(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    token_endpoint: TokenEndpoint,
    code: str,
) -> None:
    spec = scratch.spec(
        "leaver", Role.STAFF, unit=unit(code), profession=Profession.MEDIATOR, password=PASSWORD
    )
    identity.ensure_user(spec)
    identity.disable_user(spec.username, municipality_code=code)
    identity.disable_user(spec.username, municipality_code=code)
    identity.disable_user("kc-test-nobody-at-all")  # unknown: not an error
    state = account(kc, spec.username)
    assert state["enabled"] is False
    assert state["attributes"]["profession"] == ["mediator"]  # nothing else lost
    response = token_endpoint.password(spec.username, PASSWORD)
    assert response.status_code in {400, 401}
    assert response.json()["error"] == "invalid_grant"
    identity.ensure_user(spec)  # a repeat does not enable the user again
    assert account(kc, spec.username)["enabled"] is False


# -- the account rule (docs/adr/0016) -------------------------------------------------------


@pytest.fixture
def two_municipalities(scratch: Scratch, identity: KeycloakIdentityAdmin) -> tuple[str, str]:
    ours, theirs = scratch.code(), scratch.code()
    identity.ensure_organization(ours, "Δήμος Δοκιμής")
    identity.ensure_organization(theirs, "Δήμος Άλλος")
    return ours, theirs


@pytest.fixture
def ours(two_municipalities: tuple[str, str]) -> str:
    """The municipality whose admin acts, of the two."""
    return two_municipalities[0]


def refused_and_untouched(
    identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, existing: str, spec: UserSpec
) -> None:
    before = account(kc, existing)
    with pytest.raises(ForeignAccount):
        identity.check_user(spec)
    for exclusive in (False, True):
        with pytest.raises(ForeignAccount):
            identity.ensure_user(spec, exclusive=exclusive)
    if spec.managing_municipality:
        with pytest.raises(ForeignAccount):
            identity.disable_user(existing, municipality_code=spec.managing_municipality)
    assert account(kc, existing) == before


def test_an_account_of_another_municipality_is_refused(
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    two_municipalities: tuple[str, str],
) -> None:
    ours, theirs = two_municipalities
    theirs_spec = scratch.spec("theirs", Role.STAFF, unit=unit(theirs), password=PASSWORD)
    identity.ensure_user(theirs_spec)
    takeover = UserSpec(
        username=theirs_spec.username,
        email=theirs_spec.email,
        role=Role.MUNICIPALITY_ADMIN,
        municipality_code=ours,
    )
    refused_and_untouched(identity, kc, theirs_spec.username, takeover)


@pytest.mark.parametrize(
    ("role", "fields"),
    [
        (Role.MINISTRY_OFFICER, {}),
        (Role.PLATFORM_OPERATOR, {}),
        (Role.REGIONAL_OFFICER, {"region": "EL30"}),
    ],
)
def test_an_account_of_a_national_or_regional_role_is_refused(
    role: Role,
    fields: dict[str, Any],
    scratch: Scratch,
    identity: KeycloakIdentityAdmin,
    kc: KeycloakAdmin,
    ours: str,
) -> None:
    existing = scratch.spec("national", role, password=PASSWORD, **fields)
    identity.ensure_user(existing)
    takeover = UserSpec(
        username=existing.username, email=existing.email, role=Role.STAFF, unit=unit(ours)
    )
    refused_and_untouched(identity, kc, existing.username, takeover)


def test_an_account_with_a_realm_management_role_is_refused(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, ours: str
) -> None:
    existing = scratch.spec("realm-admin", Role.STAFF, unit=unit(ours), password=PASSWORD)
    user_id = identity.ensure_user(existing)
    realm_management = kc.get_client_id("realm-management")
    assert realm_management is not None
    role = kc.get_client_role(realm_management, "view-users")
    kc.assign_client_role(user_id, realm_management, [{"id": role["id"], "name": role["name"]}])
    refused_and_untouched(identity, kc, existing.username, existing)


def test_an_email_of_another_account_is_refused(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, ours: str
) -> None:
    existing = scratch.spec("owner", Role.STAFF, unit=unit(ours), password=PASSWORD)
    identity.ensure_user(existing)
    other = scratch.spec("same-mail", Role.STAFF, unit=unit(ours))
    other = UserSpec(
        username=other.username, email=existing.email.upper(), role=Role.STAFF, unit=unit(ours)
    )
    before = account(kc, existing.username)
    with pytest.raises(ForeignAccount):
        identity.ensure_user(other)
    assert kc.get_user_id(other.username) is None
    assert account(kc, existing.username) == before


def test_an_account_the_municipality_manages_is_changed(
    scratch: Scratch, identity: KeycloakIdentityAdmin, kc: KeycloakAdmin, ours: str
) -> None:
    existing = scratch.spec("ours", Role.STAFF, unit=unit(ours), password=PASSWORD)
    identity.ensure_user(existing)
    promoted = UserSpec(
        username=existing.username.upper(),  # Keycloak keeps usernames in lower case
        email=existing.email,
        role=Role.CENTRE_HEAD,
        unit=unit(ours),
    )
    identity.check_user(promoted)
    identity.ensure_user(promoted, exclusive=True)
    assert account(kc, existing.username)["roles"] == {"centre-head"}
    assert _group_or_none(kc, f"/m-{ours}/kk-dokimis") is not None
