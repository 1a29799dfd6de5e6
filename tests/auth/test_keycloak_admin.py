"""KeycloakIdentityAdmin against the stand-in of Keycloak's admin REST API."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import Engine

from kentra.auth.claims import API_CLIENT, WEB_CLIENT
from kentra.auth.identity import ForeignAccount, IdentityAdmin, UserSpec
from kentra.auth.issuer.demo import DEMO_USERS, seed_demo_users
from kentra.auth.keycloak_admin import (
    ATTRIBUTE_DISPLAY_NAME,
    INVITATION_ACTIONS,
    KeycloakAdminError,
    KeycloakIdentityAdmin,
)
from kentra.auth.principal import UnitPath
from kentra.auth.roles import Profession, Role
from kentra.platform.core.config import ConfigError, Settings
from tests.identity import staff_spec
from tests.keycloak.dev_realm import DEV_REALM
from tests.keycloak_standin import (
    KeycloakStandIn,
    keycloak_standin_fixture,  # noqa: F401 - registers the keycloak_standin fixture
)

USER_ID = r"[0-9a-f-]{36}"


@pytest.fixture
def admin(keycloak_standin: KeycloakStandIn) -> KeycloakIdentityAdmin:
    return KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)


@pytest.fixture
def athens(admin: KeycloakIdentityAdmin) -> str:
    return admin.ensure_organization("4501", "Δήμος Αθηναίων")


def regional_spec(region: str) -> UserSpec:
    """A regional officer of ``region``, named after it."""
    name = f"regional.{region.lower()}"
    return UserSpec(
        username=name, email=f"{name}@example.gr", role=Role.REGIONAL_OFFICER, region=region
    )


def test_implements_the_identity_admin_protocol(admin: KeycloakIdentityAdmin) -> None:
    implementation: IdentityAdmin = admin
    assert implementation is admin


def test_authenticates_as_the_provisioning_service_account(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    admin.ensure_organization("4501", "Δήμος Αθηναίων")

    (token,) = keycloak_standin.calls("POST", "/realms/kentra/protocol/openid-connect/token")
    assert token.body["grant_type"] == "client_credentials"
    assert token.body["client_id"] == "kentra-provisioning"
    assert keycloak_standin.requests[0] is token  # the token first, then the admin calls
    admin_calls = [r for r in keycloak_standin.requests if r.path.startswith("/admin/")]
    assert admin_calls
    assert all(r.authorized for r in admin_calls)


def test_admin_calls_without_a_token_are_refused(keycloak_standin: KeycloakStandIn) -> None:
    response = requests.get(f"{keycloak_standin.url}/admin/realms/kentra/users", timeout=10)
    assert response.status_code == 401


def test_an_expired_token_is_renewed(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    admin.ensure_organization("4501", "Δήμος Αθηναίων")
    keycloak_standin.state.tokens.clear()  # Keycloak no longer accepts the token

    admin.ensure_organization("7101", "Δήμος Ηρακλείου")

    tokens = keycloak_standin.calls("POST", "/realms/kentra/protocol/openid-connect/token")
    assert len(tokens) == 2
    assert len(keycloak_standin.state.organizations) == 2


def test_organization_create_repeat_remove_remove_again(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    first = admin.ensure_organization("4501", "Δήμος Αθηναίων")
    again = admin.ensure_organization("4501", "Δήμος Αθηναίων")

    assert again == first
    (organization,) = keycloak_standin.state.organizations.values()
    assert organization["id"] == first
    assert organization["alias"] == "m-4501"
    assert organization["name"] == "Δήμος Αθηναίων (4501)"
    assert organization["domains"] == []
    assert len(keycloak_standin.calls("POST", "/admin/realms/kentra/organizations")) == 1

    admin.remove_organization("4501")
    assert keycloak_standin.state.organizations == {}
    admin.remove_organization("4501")  # absent: not an error
    assert len(keycloak_standin.calls("DELETE", "/admin/realms/kentra/organizations/.+")) == 1


def test_municipalities_sharing_a_name_get_distinct_organizations(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    heraklion_crete = admin.ensure_organization("7101", "Δήμος Ηρακλείου")
    heraklion_attica = admin.ensure_organization("4604", "Δήμος Ηρακλείου")

    assert heraklion_crete != heraklion_attica
    aliases = {o["alias"] for o in keycloak_standin.state.organizations.values()}
    assert aliases == {"m-7101", "m-4604"}


def test_organization_created_meanwhile_is_found_after_the_conflict(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    """A concurrent creator wins between the lookup and the POST: 409, then look up again."""
    other = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    original = admin._organization_id
    calls = 0

    def racing_lookup(alias: str) -> str | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            found = original(alias)
            other.ensure_organization("4501", "Δήμος Αθηναίων")
            return found
        return original(alias)

    admin._organization_id = racing_lookup  # type: ignore[method-assign]
    organization_id = admin.ensure_organization("4501", "Δήμος Αθηναίων")

    assert organization_id == next(iter(keycloak_standin.state.organizations))
    posts = keycloak_standin.calls("POST", "/admin/realms/kentra/organizations")
    assert len(posts) == 2  # the other's 201 and ours, answered 409


def test_organization_lookup_is_one_request_by_alias_among_many(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    """``q=alias:<alias>``: one request, whatever the number of organizations (tests/keycloak
    measures it on a real Keycloak with 332)."""
    for number in range(150):
        code = f"{1000 + number:04d}"
        keycloak_standin.state.organizations[code] = {
            "id": code,
            "name": f"Δήμος {code} ({code})",
            "alias": f"m-{code}",
            "enabled": True,
            "description": None,
            "attributes": {"alias": ["m-1149"]} if code == "1000" else {},  # an attribute, not it
            "domains": [],
        }

    assert admin.ensure_organization("1149", "Δήμος 1149") == "1149"
    assert keycloak_standin.calls("POST", "/admin/realms/kentra/organizations") == []
    (lookup,) = keycloak_standin.calls("GET", "/admin/realms/kentra/organizations")
    assert lookup.args["q"] == "alias:m-1149"


def test_password_refused_by_the_realm_policy_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    with pytest.raises(KeycloakAdminError, match="invalidPasswordMinLengthMessage"):
        admin.ensure_user(staff_spec(password="demo-staff"))  # 10 characters; the policy wants 12
    # The account is written before its password (as in Keycloak): a repeat with a valid one
    # completes it.
    admin.ensure_user(staff_spec(password="correct horse battery staple"))
    user = keycloak_standin.user_by_username("m.papadopoulou")
    assert user is not None
    assert keycloak_standin.state.passwords[user["id"]]["temporary"] is False


def test_organization_domain_for_keycloak_releases_that_require_one(
    keycloak_standin: KeycloakStandIn,
) -> None:
    admin = KeycloakIdentityAdmin(
        keycloak_standin.url,
        keycloak_standin.client_secret,
        organization_domain="{alias}.kentra.example.gr",
    )
    admin.ensure_organization("4501", "Δήμος Αθηναίων")

    (organization,) = keycloak_standin.state.organizations.values()
    assert organization["domains"] == [{"name": "m-4501.kentra.example.gr", "verified": False}]


def test_unit_groups_at_three_levels_and_repeat(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    annex = UnitPath("4501", "kk-athinon", "parartima-1")
    annex_id = admin.ensure_unit_group(annex, "Παράρτημα 1")
    centre_id = admin.ensure_unit_group(UnitPath("4501", "kk-athinon"), "ΚΚ Αθηνών")
    mobile_id = admin.ensure_unit_group(
        UnitPath("4501", "kk-athinon", "kinhth-monada"), "Κινητή μονάδα"
    )

    assert keycloak_standin.group_path(annex_id) == "/m-4501/kk-athinon/parartima-1"
    assert keycloak_standin.group_path(centre_id) == "/m-4501/kk-athinon"
    assert keycloak_standin.group_path(mobile_id) == "/m-4501/kk-athinon/kinhth-monada"
    groups = keycloak_standin.state.groups
    assert len(groups) == 4  # m-4501, the centre, the annex, the mobile unit
    assert groups[annex_id]["attributes"] == {ATTRIBUTE_DISPLAY_NAME: ["Παράρτημα 1"]}
    # The centre was created as the annex's parent, then named by its own call.
    assert groups[centre_id]["attributes"] == {ATTRIBUTE_DISPLAY_NAME: ["ΚΚ Αθηνών"]}

    posts = len(keycloak_standin.calls("POST", r"/admin/realms/kentra/groups(/.+/children)?"))
    assert admin.ensure_unit_group(annex, "Παράρτημα 1") == annex_id
    assert admin.ensure_unit_group(UnitPath("4501", "kk-athinon"), "ΚΚ Αθηνών") == centre_id
    assert len(groups) == 4
    after = len(keycloak_standin.calls("POST", r"/admin/realms/kentra/groups(/.+/children)?"))
    assert after == posts


def test_unit_group_created_meanwhile_is_found_after_the_conflict(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    other = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    original = admin._group_by_path
    unit = UnitPath("4501", "kk-athinon")

    def racing_lookup(path: str) -> dict[str, object] | None:
        found = original(path)
        if found is None and path == "m-4501/kk-athinon":
            other.ensure_unit_group(unit, "ΚΚ Αθηνών")
        return found

    admin._group_by_path = racing_lookup  # type: ignore[method-assign]
    group_id = admin.ensure_unit_group(unit, "ΚΚ Αθηνών")

    assert keycloak_standin.group_path(group_id) == "/m-4501/kk-athinon"
    assert len(keycloak_standin.state.groups) == 2
    conflicts = keycloak_standin.calls("POST", "/admin/realms/kentra/groups/.+/children")
    assert len(conflicts) == 2


def test_user_with_role_organization_unit_and_attributes(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())

    user = keycloak_standin.state.users[user_id]
    assert user["username"] == "m.papadopoulou"
    assert user["email"] == "m.papadopoulou@example.gr"
    assert (user["firstName"], user["lastName"]) == ("Μαρία", "Παπαδοπούλου")
    assert user["enabled"] is True
    assert user["attributes"] == {"profession": ["social_worker"]}
    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert keycloak_standin.organizations_of(user_id) == {"m-4501"}
    assert keycloak_standin.group_paths_of(user_id) == {"/m-4501/kk-athinon/parartima-1"}


def test_regional_officer_gets_the_region_attribute_and_no_organization(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    spec = regional_spec("EL30")
    user_id = admin.ensure_user(spec)

    assert keycloak_standin.state.users[user_id]["attributes"] == {"region": ["EL30"]}
    assert keycloak_standin.client_roles_of(user_id) == {"regional-officer"}
    assert keycloak_standin.organizations_of(user_id) == set()
    assert keycloak_standin.group_paths_of(user_id) == set()


def test_unit_implies_its_organization(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec(municipality_code=None))

    assert keycloak_standin.organizations_of(user_id) == {"m-4501"}


def test_unit_outside_the_municipality_is_refused(admin: KeycloakIdentityAdmin) -> None:
    with pytest.raises(ValueError, match="not in municipality 7101"):
        admin.ensure_user(staff_spec(municipality_code="7101"))


def test_user_of_a_missing_organization_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    with pytest.raises(KeycloakAdminError, match="organization m-4501 does not exist"):
        admin.ensure_user(staff_spec())
    assert keycloak_standin.state.users == {}


def test_user_repeat_is_no_duplicate_and_no_error(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    first = admin.ensure_user(staff_spec())
    again = admin.ensure_user(staff_spec())

    assert again == first
    assert len(keycloak_standin.state.users) == 1
    assert len(keycloak_standin.calls("POST", "/admin/realms/kentra/users")) == 1
    assert keycloak_standin.client_roles_of(first) == {"staff"}
    assert keycloak_standin.state.members[athens] == [first]  # the repeat's 409 tolerated
    assert keycloak_standin.group_paths_of(first) == {"/m-4501/kk-athinon/parartima-1"}


def test_user_repeat_brings_access_attributes_to_the_spec(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())
    admin.ensure_user(staff_spec(profession=Profession.PSYCHOLOGIST))

    user = keycloak_standin.state.users[user_id]
    assert user["attributes"] == {"profession": ["psychologist"]}
    assert (user["firstName"], user["email"]) == ("Μαρία", "m.papadopoulou@example.gr")


def test_invitation_email_when_no_password(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())

    (sent,) = keycloak_standin.state.emails
    assert sent["user_id"] == user_id
    assert sent["email"] == "m.papadopoulou@example.gr"
    assert sent["actions"] == list(INVITATION_ACTIONS) == ["UPDATE_PASSWORD", "VERIFY_EMAIL"]
    assert sent["client_id"] == WEB_CLIENT
    assert sent["lifespan"] == str(3 * 24 * 3600)
    (call,) = keycloak_standin.calls(
        "PUT", f"/admin/realms/kentra/users/{USER_ID}/execute-actions-email"
    )
    assert call.body == ["UPDATE_PASSWORD", "VERIFY_EMAIL"]
    assert keycloak_standin.state.users[user_id]["emailVerified"] is False
    assert user_id not in keycloak_standin.state.passwords
    # The invitation goes out after the role and memberships are in place.
    paths = [r.path for r in keycloak_standin.requests]
    email_at = paths.index(call.path)
    assert email_at > max(i for i, p in enumerate(paths) if "/role-mappings/" in p)
    assert email_at > max(i for i, p in enumerate(paths) if p.endswith("/members"))
    assert email_at > max(i for i, p in enumerate(paths) if "/groups/" in p and "/users/" in p)


def test_invitation_is_sent_again_until_a_password_is_set(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())
    admin.ensure_user(staff_spec())  # the first e-mail may have been lost: resend
    assert len(keycloak_standin.state.emails) == 2

    keycloak_standin.state.passwords[user_id] = {"id": "c1", "type": "password"}
    admin.ensure_user(staff_spec())  # the user has accepted: nothing more is sent
    assert len(keycloak_standin.state.emails) == 2


def test_password_set_when_given(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec(password="correct horse battery staple"))

    (call,) = keycloak_standin.calls("PUT", f"/admin/realms/kentra/users/{USER_ID}/reset-password")
    assert call.body == {
        "type": "password",
        "value": "correct horse battery staple",
        "temporary": False,
    }
    assert keycloak_standin.state.passwords[user_id]["temporary"] is False
    assert keycloak_standin.state.users[user_id]["requiredActions"] == []
    assert keycloak_standin.state.users[user_id]["emailVerified"] is True
    assert keycloak_standin.state.emails == []
    assert keycloak_standin.calls("PUT", ".*/execute-actions-email") == []


def test_platform_operator_has_no_organization(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    spec = UserSpec(username="operator", email="operator@example.gr", role=Role.PLATFORM_OPERATOR)
    user_id = admin.ensure_user(spec)

    assert keycloak_standin.client_roles_of(user_id) == {"platform-operator"}
    assert keycloak_standin.organizations_of(user_id) == set()
    assert keycloak_standin.calls("GET", "/admin/realms/kentra/organizations") == []


def test_email_taken_by_another_user_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    admin.ensure_user(staff_spec())

    # A municipality's user: refused before anything is written (no silent merge).
    with pytest.raises(ForeignAccount):
        admin.ensure_user(staff_spec(username="someone.else"))
    # A platform user (no municipality): Keycloak's own conflict, explained.
    with pytest.raises(KeycloakAdminError, match="already has the e-mail address"):
        admin.ensure_user(
            staff_spec(
                username="someone.else",
                role=Role.MINISTRY_OFFICER,
                municipality_code=None,
                unit=None,
            )
        )
    assert len(keycloak_standin.state.users) == 1


def test_disable_user_and_unknown_user(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())

    admin.disable_user("m.papadopoulou")

    user = keycloak_standin.state.users[user_id]
    assert user["enabled"] is False
    # Nothing else about the user is lost by the update.
    assert user["attributes"] == {"profession": ["social_worker"]}
    assert (user["firstName"], user["lastName"]) == ("Μαρία", "Παπαδοπούλου")
    admin.disable_user("m.papadopoulou")  # again: no error, no second update
    assert len(keycloak_standin.calls("PUT", f"/admin/realms/kentra/users/{USER_ID}")) == 1
    admin.disable_user("nobody")  # unknown: not an error


def test_disabled_user_is_not_enabled_again_by_a_repeat(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec(password="correct horse battery staple"))
    admin.disable_user("m.papadopoulou")
    admin.ensure_user(staff_spec(password="correct horse battery staple"))

    assert keycloak_standin.state.users[user_id]["enabled"] is False


def test_wrong_client_secret_fails_clearly(keycloak_standin: KeycloakStandIn) -> None:
    admin = KeycloakIdentityAdmin(keycloak_standin.url, "not-the-secret")

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_organization("4501", "Δήμος Αθηναίων")

    message = str(raised.value)
    assert "rejected the credentials of client 'kentra-provisioning'" in message
    assert "HTTP 401" in message
    assert "KENTRA_KEYCLOAK_ADMIN_SECRET" in message
    assert keycloak_standin.state.organizations == {}


def test_unreachable_server_fails_clearly() -> None:
    with KeycloakStandIn.running() as gone:
        url = gone.url
    admin = KeycloakIdentityAdmin(url, "secret")

    with pytest.raises(KeycloakAdminError, match="cannot reach Keycloak"):
        admin.disable_user("anyone")


def test_missing_api_client_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    keycloak_standin.state.clients = {
        uuid: client
        for uuid, client in keycloak_standin.state.clients.items()
        if client["clientId"] != API_CLIENT
    }
    spec = UserSpec(username="operator", email="operator@example.gr", role=Role.PLATFORM_OPERATOR)

    with pytest.raises(KeycloakAdminError, match=r"import infra/keycloak/realm-kentra\.json"):
        admin.ensure_user(spec)


def test_server_url_keeps_its_path() -> None:
    admin = KeycloakIdentityAdmin("https://id.example.gr/auth", "secret")
    assert admin.server_url == "https://id.example.gr/auth/"


def test_from_settings() -> None:
    settings = Settings.from_env(
        {
            "KENTRA_OIDC_ISSUER": "https://id.example.gr/realms/kentra",
            "KENTRA_KEYCLOAK_ADMIN_SECRET": "s3cret",
        }
    )
    admin = KeycloakIdentityAdmin.from_settings(settings)
    assert admin.server_url == "https://id.example.gr/"

    explicit = Settings.from_env(
        {
            "KENTRA_KEYCLOAK_URL": "https://kc.internal:8443",
            "KENTRA_KEYCLOAK_ADMIN_SECRET": "s3cret",
        }
    )
    assert KeycloakIdentityAdmin.from_settings(explicit).server_url == "https://kc.internal:8443/"

    with pytest.raises(ConfigError, match="KENTRA_KEYCLOAK_ADMIN_SECRET"):
        KeycloakIdentityAdmin.from_settings(
            Settings.from_env({"KENTRA_KEYCLOAK_URL": "https://kc.internal"})
        )
    with pytest.raises(ConfigError, match="KENTRA_KEYCLOAK_URL"):
        KeycloakIdentityAdmin.from_settings(
            Settings.from_env({"KENTRA_KEYCLOAK_ADMIN_SECRET": "s3cret"})
        )


def test_server_url_and_secret_are_required() -> None:
    with pytest.raises(ValueError, match="server URL is required"):
        KeycloakIdentityAdmin("", "secret")
    with pytest.raises(ValueError, match="kentra-provisioning client secret is required"):
        KeycloakIdentityAdmin("https://id.example.gr", "")


def test_organization_name_taken_under_another_alias_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    keycloak_standin.state.organizations["other"] = {
        "id": "other",
        "name": "Δήμος Αθηναίων (4501)",
        "alias": "athens",
        "enabled": True,
        "description": None,
        "attributes": {},
        "domains": [],
    }

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_organization("4501", "Δήμος Αθηναίων")

    message = str(raised.value)
    assert "conflict but has no organization with alias 'm-4501'" in message
    assert "already named 'Δήμος Αθηναίων (4501)'" in message
    assert list(keycloak_standin.state.organizations) == ["other"]


def test_organization_without_a_domain_refused_by_keycloak_before_26_4(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    keycloak_standin.state.organization_domain_required = True

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_organization("4501", "Δήμος Αθηναίων")

    message = str(raised.value)
    assert message.startswith("ensure organization m-4501: Keycloak answered 400")
    assert "You must provide at least one domain" in message
    assert keycloak_standin.state.organizations == {}


def test_service_account_without_manage_realm_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    keycloak_standin.state.realm_management_roles.discard("manage-realm")

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_organization("4501", "Δήμος Αθηναίων")

    message = str(raised.value)
    assert message.startswith("ensure organization m-4501: the kentra-provisioning service")
    assert "lacks an admin role (HTTP 403)" in message
    assert "infra/keycloak/realm-kentra.json" in message
    assert keycloak_standin.state.organizations == {}


def test_organization_removed_meanwhile_is_removed_all_the_same(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    other = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    original = admin._organization_id

    def racing_lookup(alias: str) -> str | None:
        found = original(alias)
        other.remove_organization("4501")  # wins between our lookup and our DELETE
        return found

    admin._organization_id = racing_lookup  # type: ignore[method-assign]
    admin.remove_organization("4501")  # our DELETE answered 404: done all the same

    assert keycloak_standin.state.organizations == {}
    deletes = keycloak_standin.calls("DELETE", f"/admin/realms/kentra/organizations/{athens}")
    assert len(deletes) == 2


def test_organization_removal_failing_in_keycloak_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    keycloak_standin.fail_next("DELETE", "/admin/realms/kentra/organizations/.+")

    with pytest.raises(KeycloakAdminError) as raised:
        admin.remove_organization("4501")

    assert str(raised.value).startswith("remove organization m-4501: Keycloak answered 500")
    assert "unknown_error" in str(raised.value)
    assert athens in keycloak_standin.state.organizations


@pytest.fixture
def other(keycloak_standin: KeycloakStandIn) -> KeycloakIdentityAdmin:
    """Someone else's admin client, racing ours."""
    return KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)


def test_group_whose_parent_is_removed_meanwhile_is_not_created(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, other: KeycloakIdentityAdmin
) -> None:
    """The centre's POST under a municipality group deleted meanwhile: 404, reported."""
    original = admin._group_by_path

    def racing_lookup(path: str) -> dict[str, object] | None:
        found = original(path)
        if path == "m-4501/kk-athinon":
            parent = original("m-4501")
            assert parent is not None
            other._admin.delete_group(parent["id"])
        return found

    admin._group_by_path = racing_lookup  # type: ignore[method-assign]
    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_unit_group(UnitPath("4501", "kk-athinon"), "ΚΚ Αθηνών")

    message = str(raised.value)
    assert message.startswith("ensure unit group /m-4501/kk-athinon: Keycloak answered 404")
    assert "Could not find group by id" in message
    assert keycloak_standin.state.groups == {}


def test_group_removed_right_after_the_conflict_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, other: KeycloakIdentityAdmin
) -> None:
    """Someone creates the group between our lookup and POST (409), someone removes it
    before we look it up again: there is nothing to return."""
    original = admin._group_by_path
    unit = UnitPath("4501", "kk-athinon")
    lookups = 0

    def racing_lookup(path: str) -> dict[str, object] | None:
        nonlocal lookups
        lookups += 1
        if lookups == 2:  # after our 409
            created = original(path)
            assert created is not None
            other._admin.delete_group(created["id"])
        found = original(path)
        if lookups == 1:
            other.ensure_unit_group(unit, "ΚΚ Αθηνών")
        return found

    admin._group_by_path = racing_lookup  # type: ignore[method-assign]
    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_unit_group(unit, "ΚΚ Αθηνών")

    assert str(raised.value) == "group /m-4501: created, yet Keycloak cannot find it"
    assert keycloak_standin.state.groups == {}
    conflicts = keycloak_standin.calls("POST", "/admin/realms/kentra/groups")
    assert len(conflicts) == 2  # the other's 201 and ours, answered 409


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/admin/realms/kentra/group-by-path/.+", id="lookup"),
        pytest.param("POST", "/admin/realms/kentra/groups", id="creation"),
    ],
)
def test_group_lookup_or_creation_failing_in_keycloak_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, method: str, path: str
) -> None:
    keycloak_standin.fail_next(method, path)

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_unit_group(UnitPath("4501", "kk-athinon"), "ΚΚ Αθηνών")

    message = str(raised.value)
    assert message.startswith("ensure unit group /m-4501/kk-athinon: Keycloak answered 500")
    assert keycloak_standin.state.groups == {}  # a failed lookup is not taken for "absent"


def test_user_refused_by_the_user_profile_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    spec = regional_spec("XX30")  # not a Greek NUTS 2 code: the profile's pattern refuses it

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_user(spec)

    message = str(raised.value)
    assert message.startswith("ensure user regional.xx30: Keycloak answered 400")
    assert "A Greek NUTS 2 code, e.g. EL30" in message  # the profile's own error message
    assert keycloak_standin.state.users == {}


def test_user_created_meanwhile_is_found_after_the_conflict(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    """A concurrent creator wins between the lookup and the POST: 409, look up, sync."""
    other = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    original = admin._admin.get_user_id
    lookups = 0

    def racing_lookup(username: str) -> str | None:
        nonlocal lookups
        lookups += 1
        found = original(username)
        if lookups == 2:  # the first is the ownership check's
            other.ensure_user(staff_spec(profession=Profession.PSYCHOLOGIST))
        return found

    admin._admin.get_user_id = racing_lookup  # type: ignore[method-assign]
    user_id = admin.ensure_user(staff_spec())

    (user,) = keycloak_standin.state.users.values()
    assert user_id == user["id"]
    assert user["attributes"] == {"profession": ["social_worker"]}  # brought to our spec
    assert len(keycloak_standin.calls("POST", "/admin/realms/kentra/users")) == 2
    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert keycloak_standin.group_paths_of(user_id) == {"/m-4501/kk-athinon/parartima-1"}


def test_user_repeat_without_access_attributes_reads_no_user(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    spec = UserSpec(username="operator", email="operator@example.gr", role=Role.PLATFORM_OPERATOR)
    first = admin.ensure_user(spec)
    before = len(keycloak_standin.requests)

    assert admin.ensure_user(spec) == first

    repeat = keycloak_standin.requests[before:]
    user_path = f"/admin/realms/kentra/users/{first}"
    assert [r for r in repeat if r.path == user_path] == []  # no GET, no PUT of the user


def test_user_repeat_gives_missing_names_and_keeps_present_ones(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    """An account without names (invited before names were sent) gets the spec's; one with
    names keeps them (the user may have corrected them in the account console)."""
    user_id = admin.ensure_user(staff_spec(first_name="", last_name=""))
    user = keycloak_standin.state.users[user_id]
    assert (user["firstName"], user["lastName"]) == (None, None)

    admin.ensure_user(staff_spec())
    assert (user["firstName"], user["lastName"]) == ("Μαρία", "Παπαδοπούλου")
    before = len(keycloak_standin.requests)
    admin.ensure_user(staff_spec(first_name="Άννα", last_name="Άλλη"))
    assert (user["firstName"], user["lastName"]) == ("Μαρία", "Παπαδοπούλου")
    user_path = f"/admin/realms/kentra/users/{user_id}"
    assert "PUT" not in {
        r.method for r in keycloak_standin.requests[before:] if r.path == user_path
    }


def test_exclusive_takes_away_a_profession_the_spec_has_not(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())
    admin.ensure_user(staff_spec(profession=None))  # additive: kept
    user = keycloak_standin.state.users[user_id]
    assert user["attributes"] == {"profession": ["social_worker"]}
    admin.ensure_user(staff_spec(profession=None), exclusive=True)
    assert user["attributes"] == {}
    assert (user["firstName"], user["email"]) == ("Μαρία", "m.papadopoulou@example.gr")


def test_a_name_keycloak_refuses_fails_the_user(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    with pytest.raises(KeycloakAdminError, match="error-person-name-invalid-character"):
        admin.ensure_user(staff_spec(last_name="Παπαδοπούλου (Ψυχολόγος)"))
    assert keycloak_standin.state.users == {}


def test_missing_api_client_role_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    api = next(
        uuid
        for uuid, client in keycloak_standin.state.clients.items()
        if client["clientId"] == API_CLIENT
    )
    del keycloak_standin.state.client_roles[api]["platform-operator"]
    spec = UserSpec(username="operator", email="operator@example.gr", role=Role.PLATFORM_OPERATOR)

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_user(spec)

    message = str(raised.value)
    assert "client kentra-api has no role 'platform-operator'" in message
    assert "re-import infra/keycloak/realm-kentra.json" in message


def test_role_lookup_failing_in_keycloak_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin
) -> None:
    keycloak_standin.fail_next("GET", "/admin/realms/kentra/clients/.+/roles/.+")
    spec = UserSpec(username="operator", email="operator@example.gr", role=Role.PLATFORM_OPERATOR)

    with pytest.raises(KeycloakAdminError, match=r"^ensure user operator: Keycloak answered 500"):
        admin.ensure_user(spec)

    # Not remembered as missing: the repeat finds the role and assigns it.
    user_id = admin.ensure_user(spec)
    assert keycloak_standin.client_roles_of(user_id) == {"platform-operator"}


def test_organization_removed_before_the_membership_is_reported(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    other = KeycloakIdentityAdmin(keycloak_standin.url, keycloak_standin.client_secret)
    original = admin._assign_role

    def racing_assign(user_id: str, role_name: str) -> None:
        original(user_id, role_name)
        other.remove_organization("4501")  # between our lookup and our membership POST

    admin._assign_role = racing_assign  # type: ignore[method-assign]
    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_user(staff_spec())

    message = str(raised.value)
    assert message.startswith("ensure user m.papadopoulou: Keycloak answered 404")
    assert "Organization not found." in message
    assert keycloak_standin.state.emails == []  # stopped before the invitation


def test_invitation_without_smtp_fails_clearly(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    keycloak_standin.state.smtp_configured = False

    with pytest.raises(KeycloakAdminError) as raised:
        admin.ensure_user(staff_spec())

    message = str(raised.value)
    assert message.startswith("ensure user m.papadopoulou: Keycloak answered 500")
    assert "Failed to send execute actions email" in message
    assert keycloak_standin.state.emails == []

    keycloak_standin.state.smtp_configured = True  # mail fixed: the repeat invites
    user_id = admin.ensure_user(staff_spec())
    (sent,) = keycloak_standin.state.emails
    assert sent["user_id"] == user_id


# -- exclusive mode (a staff member moved to another unit or no longer a head) -------------------


def head_spec(**changes: object) -> UserSpec:
    """The same person as ``staff_spec``, invited earlier as head of Athens' centre."""
    return staff_spec(role=Role.CENTRE_HEAD, unit=UnitPath("4501", "kk-athinon"), **changes)


def test_additive_mode_keeps_the_previous_role_and_unit_group(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(head_spec())
    assert admin.ensure_user(staff_spec()) == user_id

    assert keycloak_standin.client_roles_of(user_id) == {"centre-head", "staff"}
    assert keycloak_standin.group_paths_of(user_id) == {
        "/m-4501/kk-athinon",
        "/m-4501/kk-athinon/parartima-1",
    }
    assert keycloak_standin.calls("DELETE", ".*") == []


def test_exclusive_mode_keeps_exactly_the_specs_role_organization_and_unit_group(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    """Within the municipality that manages the account (tests/security covers the accounts
    it may not touch)."""
    user_id = admin.ensure_user(head_spec())
    admin.ensure_user(
        staff_spec(role=Role.MUNICIPALITY_ADMIN, unit=None, profession=None)
    )  # additive: the head is the municipality's admin too
    assert keycloak_standin.client_roles_of(user_id) == {"centre-head", "municipality-admin"}

    assert admin.ensure_user(staff_spec(), exclusive=True) == user_id

    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert keycloak_standin.organizations_of(user_id) == {"m-4501"}
    assert keycloak_standin.group_paths_of(user_id) == {"/m-4501/kk-athinon/parartima-1"}
    (unmapped,) = keycloak_standin.calls(
        "DELETE", f"/admin/realms/kentra/users/{USER_ID}/role-mappings/clients/.+"
    )
    assert sorted(role["name"] for role in unmapped.body) == ["centre-head", "municipality-admin"]
    (left,) = keycloak_standin.calls("DELETE", f"/admin/realms/kentra/users/{USER_ID}/groups/.+")
    assert left.path.endswith("/groups/" + admin._group_by_path("m-4501/kk-athinon")["id"])  # type: ignore[index]
    assert keycloak_standin.calls("DELETE", "/admin/realms/kentra/organizations/.+") == []
    # What is not the spec's goes before the spec's is added.
    paths = [(r.method, r.path) for r in keycloak_standin.requests]
    assigned = max(i for i, call in enumerate(paths) if call == ("POST", unmapped.path))
    assert assigned > max(i for i, (method, _p) in enumerate(paths) if method == "DELETE")

    # Again: nothing more to remove, nothing removed.
    before = len(keycloak_standin.calls("DELETE", ".*"))
    assert admin.ensure_user(staff_spec(), exclusive=True) == user_id
    assert len(keycloak_standin.calls("DELETE", ".*")) == before
    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert keycloak_standin.group_paths_of(user_id) == {"/m-4501/kk-athinon/parartima-1"}


def test_exclusive_mode_for_a_new_user_is_an_ordinary_creation(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec(), exclusive=True)

    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert keycloak_standin.organizations_of(user_id) == {"m-4501"}
    assert keycloak_standin.group_paths_of(user_id) == {"/m-4501/kk-athinon/parartima-1"}
    assert keycloak_standin.calls("DELETE", ".*") == []
    assert len(keycloak_standin.state.emails) == 1


def test_exclusive_mode_without_a_municipality_leaves_the_organizations(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())
    officer = UserSpec(
        username="m.papadopoulou",
        email="m.papadopoulou@example.gr",
        role=Role.REGIONAL_OFFICER,
        region="EL30",
    )

    assert admin.ensure_user(officer, exclusive=True) == user_id

    assert keycloak_standin.client_roles_of(user_id) == {"regional-officer"}
    assert keycloak_standin.group_paths_of(user_id) == set()  # no unit: no unit group
    assert keycloak_standin.organizations_of(user_id) == {"m-4501"}  # none named: kept
    assert keycloak_standin.calls("GET", ".*/organizations/members/.+/organizations") == []


def test_the_standin_answers_unknown_role_and_membership_deletions_like_keycloak(
    keycloak_standin: KeycloakStandIn, admin: KeycloakIdentityAdmin, athens: str
) -> None:
    user_id = admin.ensure_user(staff_spec())
    api = next(
        uuid
        for uuid, client in keycloak_standin.state.clients.items()
        if client["clientId"] == API_CLIENT
    )
    base = f"{keycloak_standin.url}/admin/realms/kentra"
    token = admin._admin.connection.token["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    mappings = f"{base}/users/{user_id}/role-mappings/clients/{api}"
    wrong_id = [{"id": "not-the-id", "name": "staff"}]
    assert requests.delete(mappings, json=wrong_id, headers=headers, timeout=10).status_code == 404
    not_held = [keycloak_standin.state.client_roles[api]["centre-head"]]
    assert requests.delete(mappings, json=not_held, headers=headers, timeout=10).status_code == 204
    assert keycloak_standin.client_roles_of(user_id) == {"staff"}
    assert requests.delete(mappings, headers=headers, timeout=10).status_code == 204  # all
    assert keycloak_standin.client_roles_of(user_id) == set()
    unknown = "00000000-0000-0000-0000-000000000000"
    assert (
        requests.delete(
            f"{base}/users/{user_id}/groups/{unknown}", headers=headers, timeout=10
        ).status_code
        == 404
    )
    assert (
        requests.delete(
            f"{base}/organizations/{athens}/members/{unknown}", headers=headers, timeout=10
        ).status_code
        == 404
    )


def test_demo_users_are_seeded_through_the_adapter(
    keycloak_standin: KeycloakStandIn,
    admin: KeycloakIdentityAdmin,
    engine: Engine,
    settings: Settings,
) -> None:
    """``KENTRA_IDP=keycloak make run``: the embedded issuer's demo users, in Keycloak."""
    # The demo passwords are shorter than the export's policy: the development realm's applies.
    keycloak_standin.state.password_policy = DEV_REALM.DEV_PASSWORD_POLICY
    logins = seed_demo_users(engine, settings, admin)
    assert seed_demo_users(engine, settings, admin) == logins  # idempotent

    assert [login.username for login in logins] == [spec.username for spec, _ in DEMO_USERS]
    for spec, login in DEMO_USERS:
        user = keycloak_standin.user_by_username(spec.username)
        assert user is not None
        assert keycloak_standin.client_roles_of(user["id"]) == {login.role.value}
        assert user["firstName"]  # Keycloak's user profile requires both names
        assert user["lastName"]
        assert keycloak_standin.state.passwords[user["id"]]["temporary"] is False
    staff = keycloak_standin.user_by_username("staff-7101")
    assert staff is not None
    assert keycloak_standin.organizations_of(staff["id"]) == {"m-7101"}
    assert keycloak_standin.group_paths_of(staff["id"]) == {"/m-7101/kk-irakleiou"}
    assert {o["name"] for o in keycloak_standin.state.organizations.values()} == {
        "Δήμος Αθηναίων (4501)",
        "Δήμος Ηρακλείου (7101)",
    }
