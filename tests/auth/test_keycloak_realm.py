"""The Keycloak realm export agrees with the code: clients, roles, claims, user profile."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kentra.auth import keycloak_realm
from kentra.auth.claims import (
    API_CLIENT,
    AUTHORIZED_PARTIES,
    CLAIM_GROUPS,
    CLAIM_ORGANIZATION,
    CLAIM_PROFESSION,
    CLAIM_REGION,
    CLAIM_ROLES,
    CLAIM_USERNAME,
    CLI_CLIENT,
    PROVISIONING_CLIENT,
    REALM,
    WEB_CLIENT,
)
from kentra.auth.keycloak_admin import ATTRIBUTE_PROFESSION, ATTRIBUTE_REGION
from kentra.auth.roles import Profession, Role
from tests.keycloak.dev_realm import DEV_REALM

ROOT = Path(__file__).resolve().parents[2]
KENTRA_CLAIMS = {CLAIM_ROLES, CLAIM_ORGANIZATION, CLAIM_GROUPS, CLAIM_REGION, CLAIM_PROFESSION}


@pytest.fixture(scope="module")
def realm() -> dict[str, object]:
    return keycloak_realm.load_realm()


def mappers_by_type(scope: str) -> dict[str, dict[str, str]]:
    found = keycloak_realm.client_scope(scope)["protocolMappers"]
    return {m["protocolMapper"]: m["config"] for m in found}


def test_the_file_is_the_repository_export_and_parses() -> None:
    assert keycloak_realm.realm_file() == ROOT / "infra" / "keycloak" / "realm-kentra.json"
    data = json.loads(keycloak_realm.realm_file().read_text(encoding="utf-8"))
    assert data["realm"] == REALM


def test_the_file_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "realm.json"
    other.write_text(json.dumps({"realm": "x", "clients": [{"clientId": "only"}]}))
    monkeypatch.setenv(keycloak_realm.REALM_FILE_ENV, str(other))

    assert keycloak_realm.client_ids() == {"only"}


def test_realm_settings(realm: dict[str, object]) -> None:
    assert realm["enabled"] is True
    assert realm["organizationsEnabled"] is True
    assert realm["sslRequired"] == "external"
    assert realm["accessTokenLifespan"] == 300
    assert realm["bruteForceProtected"] is True
    assert realm["registrationAllowed"] is False
    assert realm["duplicateEmailsAllowed"] is False


def test_client_ids_are_those_of_the_claims_module() -> None:
    assert keycloak_realm.client_ids() == {API_CLIENT, WEB_CLIENT, CLI_CLIENT, PROVISIONING_CLIENT}
    assert keycloak_realm.client_ids() - {API_CLIENT} == AUTHORIZED_PARTIES


def test_client_roles_are_the_role_enum() -> None:
    assert keycloak_realm.client_role_names() == {role.value for role in Role}
    roles = keycloak_realm.load_realm()["roles"]
    assert set(roles["client"]) == {API_CLIENT}  # kentra-api owns every role
    for role in roles["client"][API_CLIENT]:
        assert role["description"].strip(), role["name"]
        assert role["clientRole"] is True
        assert role["composite"] is False


def test_access_tokens_carry_the_claims_of_the_claims_module() -> None:
    assert keycloak_realm.access_token_claims() == KENTRA_CLAIMS | {"aud"}
    for client_id in AUTHORIZED_PARTIES:
        claims = keycloak_realm.access_token_claims(client_id)
        assert claims >= KENTRA_CLAIMS | {"aud", "sub", CLAIM_USERNAME}, client_id


def test_kentra_scope_mappers_produce_the_layout() -> None:
    mappers = mappers_by_type(keycloak_realm.KENTRA_SCOPE)
    assert mappers["oidc-audience-mapper"]["included.client.audience"] == API_CLIENT
    roles = mappers["oidc-usermodel-client-role-mapper"]
    assert roles["usermodel.clientRoleMapping.clientId"] == API_CLIENT
    assert roles["claim.name"] == "resource_access.${client_id}.roles"
    assert roles["multivalued"] == "true"
    groups = mappers["oidc-group-membership-mapper"]
    assert (groups["claim.name"], groups["full.path"]) == (CLAIM_GROUPS, "true")
    organization = mappers["oidc-organization-membership-mapper"]
    # String + multivalued: a list of aliases, not an object keyed by alias.
    assert organization["claim.name"] == CLAIM_ORGANIZATION
    assert (organization["jsonType.label"], organization["multivalued"]) == ("String", "true")
    assert organization["addOrganizationId"] == organization["addOrganizationAttributes"]
    assert organization["addOrganizationId"] == "false"
    attributes = [
        m
        for m in keycloak_realm.client_scope(keycloak_realm.KENTRA_SCOPE)["protocolMappers"]
        if m["protocolMapper"] == "oidc-usermodel-attribute-mapper"
    ]
    assert {m["config"]["user.attribute"]: m["config"]["claim.name"] for m in attributes} == {
        ATTRIBUTE_REGION: CLAIM_REGION,
        ATTRIBUTE_PROFESSION: CLAIM_PROFESSION,
    }
    for config in mappers.values():
        assert config["access.token.claim"] == "true"


def test_clients_use_the_kentra_scope_and_scopes_exist() -> None:
    scopes = keycloak_realm.scope_names()
    # A realm file that declares client scopes gets none of Keycloak's built-in ones, so
    # "basic" (sub) and "profile" (preferred_username) must be declared here.
    assert {"basic", "profile", keycloak_realm.KENTRA_SCOPE} <= scopes
    assert mappers_by_type("basic")["oidc-sub-mapper"]["access.token.claim"] == "true"
    for client_id in AUTHORIZED_PARTIES:
        client = keycloak_realm.client(client_id)
        assert keycloak_realm.KENTRA_SCOPE in client["defaultClientScopes"], client_id
        assert "basic" in client["defaultClientScopes"], client_id
        assert set(client["defaultClientScopes"]) | set(client["optionalClientScopes"]) <= scopes


# Each client's switches, in this order: public, code flow, password grant, implicit flow,
# service account.
SWITCHES = (
    "publicClient",
    "standardFlowEnabled",
    "directAccessGrantsEnabled",
    "implicitFlowEnabled",
    "serviceAccountsEnabled",
)


@pytest.mark.parametrize(
    ("client_id", "expected"),
    [
        pytest.param(WEB_CLIENT, (False, True, False, False, False), id="web-confidential-code"),
        pytest.param(CLI_CLIENT, (True, False, True, False, False), id="cli-public-password"),
        pytest.param(PROVISIONING_CLIENT, (False, False, False, False, True), id="provisioning"),
        pytest.param(API_CLIENT, (False, False, False, False, False), id="api-runs-no-flow"),
    ],
)
def test_each_client_runs_only_its_flows(client_id: str, expected: tuple[bool, ...]) -> None:
    client = keycloak_realm.client(client_id)
    for switch, value in zip(SWITCHES, expected, strict=True):
        assert client[switch] is value, switch  # the very boolean, not merely equal


def test_web_client_uses_pkce_s256_and_fixed_redirects() -> None:
    web = keycloak_realm.client(WEB_CLIENT)
    assert web["attributes"]["pkce.code.challenge.method"] == "S256"
    assert "http://127.0.0.1:5000/auth/callback" in web["redirectUris"]
    assert all("*" not in uri for uri in web["redirectUris"])
    assert web["attributes"]["post.logout.redirect.uris"]
    assert web["webOrigins"]


def test_only_the_development_copy_takes_the_web_login_tests_url(realm: dict[str, object]) -> None:
    exported = keycloak_realm.client(WEB_CLIENT, realm)
    dev = keycloak_realm.client(WEB_CLIENT, DEV_REALM.dev_realm(realm, {}))
    test_url = DEV_REALM.WEB_TEST_URL
    assert dev["redirectUris"] == [*exported["redirectUris"], test_url + "/auth/callback"]
    logout_uris = "post.logout.redirect.uris"
    assert dev["attributes"][logout_uris].split("##") == [
        *exported["attributes"][logout_uris].split("##"),
        test_url + "/",
    ]
    # The production export never names it.
    assert test_url not in json.dumps(realm)
    assert {k: v for k, v in dev.items() if k not in ("redirectUris", "attributes")} == {
        k: v for k, v in exported.items() if k not in ("redirectUris", "attributes")
    }


def test_cli_client_says_it_is_not_for_production() -> None:
    cli = keycloak_realm.client(CLI_CLIENT)
    assert "production" in cli["description"]


def test_provisioning_service_account_has_admin_roles() -> None:
    roles = keycloak_realm.service_account_roles(PROVISIONING_CLIENT)
    assert roles[API_CLIENT] == {Role.PLATFORM_OPERATOR.value}
    # Organizations need manage-realm; users and groups manage-users; the client lookup for
    # role mappings view-clients.
    assert {"manage-realm", "manage-users", "view-users", "query-groups", "view-clients"} <= roles[
        "realm-management"
    ]


def test_no_person_is_in_the_export(realm: dict[str, object]) -> None:
    users = realm.get("users", [])
    assert isinstance(users, list)
    assert all(user.get("serviceAccountClientId") for user in users)


def test_user_profile_declares_region_and_profession_for_admins_only() -> None:
    attributes = keycloak_realm.user_profile_attributes()
    assert {"username", "email", "firstName", "lastName"} <= set(attributes)
    for name in (ATTRIBUTE_REGION, ATTRIBUTE_PROFESSION):
        # They decide what a user may reach: users must not edit their own.
        assert attributes[name]["permissions"]["edit"] == ["admin"], name
    options = attributes[ATTRIBUTE_PROFESSION]["validations"]["options"]["options"]
    assert set(options) == {p.value for p in Profession}
    pattern = attributes[ATTRIBUTE_REGION]["validations"]["pattern"]["pattern"]
    assert re.search(pattern, "EL30")
    assert not re.search(pattern, "EL3")
    assert not re.search(pattern, "XX30")
    # Unmanaged attributes stay disabled: Keycloak drops what the profile does not declare.
    assert keycloak_realm.user_profile().get("unmanagedAttributePolicy") is None


def test_a_file_that_is_no_json_object_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "realm.json"
    other.write_text(json.dumps([{"realm": "x"}]))

    with pytest.raises(TypeError, match=r"realm\.json is not a realm representation"):
        keycloak_realm.load_realm(other)
    monkeypatch.setenv(keycloak_realm.REALM_FILE_ENV, str(other))
    with pytest.raises(TypeError, match=re.escape(f"{other} is not a realm representation")):
        keycloak_realm.client_ids()


def test_missing_client_and_client_scope_are_key_errors(realm: dict[str, object]) -> None:
    with pytest.raises(KeyError, match="no client 'kentra-nothing'"):
        keycloak_realm.client("kentra-nothing", realm)
    with pytest.raises(KeyError, match="no client scope 'nothing'"):
        keycloak_realm.client_scope("nothing", realm)
    assert keycloak_realm.client_role_names("kentra-nothing", realm) == set()


def test_user_profile_is_found_among_other_components() -> None:
    profile = {"attributes": [{"name": "username"}, {"name": "region"}]}
    components = [
        {"name": "no config", "config": {}},
        {"name": "not an object", "config": {keycloak_realm.USER_PROFILE_CONFIG: ["[]"]}},
        {
            "name": "declarative",
            "config": {keycloak_realm.USER_PROFILE_CONFIG: json.dumps(profile)},
        },
    ]
    realm = {"components": {keycloak_realm.USER_PROFILE_COMPONENT: components}}

    assert keycloak_realm.user_profile(realm) == profile
    assert set(keycloak_realm.user_profile_attributes(realm)) == {"username", "region"}


def test_realm_without_a_user_profile_is_a_key_error() -> None:
    components = [{"config": {}}, {"config": {keycloak_realm.USER_PROFILE_CONFIG: ['"text"']}}]
    realm = {"components": {keycloak_realm.USER_PROFILE_COMPONENT: components}}

    with pytest.raises(KeyError, match="declares no user profile"):
        keycloak_realm.user_profile(realm)
    with pytest.raises(KeyError, match="declares no user profile"):
        keycloak_realm.user_profile({})


def test_only_mappers_into_access_tokens_with_a_claim_name_count() -> None:
    def mapper(kind: str, **config: str) -> dict[str, object]:
        return {"protocolMapper": kind, "config": config}

    mappers = [
        mapper("oidc-sub-mapper", **{"access.token.claim": "true"}),
        mapper("oidc-usermodel-attribute-mapper", **{"claim.name": "id_token_only"}),
        mapper(
            "oidc-usermodel-attribute-mapper",
            **{"access.token.claim": "false", "claim.name": "not_in_access_tokens"},
        ),
        mapper("oidc-usermodel-attribute-mapper", **{"access.token.claim": "true"}),
        mapper(
            "oidc-usermodel-attribute-mapper",
            **{"access.token.claim": "TRUE", "claim.name": r"nested.claim"},
        ),
        mapper(
            "oidc-usermodel-attribute-mapper",
            **{"access.token.claim": "true", "claim.name": r"dotted\.claim.inner"},
        ),
        mapper("oidc-organization-membership-mapper", **{"access.token.claim": "true"}),
        {"protocolMapper": "oidc-usermodel-attribute-mapper"},  # no config at all
    ]
    realm = {"clientScopes": [{"name": keycloak_realm.KENTRA_SCOPE, "protocolMappers": mappers}]}

    assert keycloak_realm.access_token_claims(realm=realm) == {
        "sub",
        "nested",
        "dotted.claim",
        "organization",
    }


def test_service_account_roles_of_a_client_without_one_is_a_key_error(
    realm: dict[str, object],
) -> None:
    users = [
        {"username": "service-account-other", "serviceAccountClientId": "other"},
        {
            "username": "service-account-kentra-provisioning",
            "serviceAccountClientId": PROVISIONING_CLIENT,
            "clientRoles": {API_CLIENT: ["platform-operator"]},
        },
    ]

    assert keycloak_realm.service_account_roles(PROVISIONING_CLIENT, {"users": users}) == {
        API_CLIENT: {"platform-operator"}
    }
    with pytest.raises(KeyError, match=f"no service-account user for '{WEB_CLIENT}'"):
        keycloak_realm.service_account_roles(WEB_CLIENT, realm)
