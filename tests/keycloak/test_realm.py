"""The realm export, imported by a real Keycloak: what the platform relies on survived the import.

Compared with ``infra/keycloak/realm-kentra.json`` as the development copy changes it
(``infra/dev/keycloak_dev_realm.py``: client secrets, the password policy, kentra-web's test
redirect URIs); any other change
Keycloak makes on import to a setting the export declares fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from keycloak import KeycloakAdmin

from kentra.auth import keycloak_realm
from kentra.auth.claims import API_CLIENT, PROVISIONING_CLIENT, REALM
from kentra.auth.roles import Role
from tests.keycloak.dev_realm import DEV_REALM

EXPORT = keycloak_realm.load_realm()
DEV = DEV_REALM.dev_realm(EXPORT, DEV_REALM.client_secrets())
# Realm settings that Keycloak does not return as they are written in an export.
NOT_ROUND_TRIPPED = {
    "defaultDefaultClientScopes",  # answered under GET /default-default-client-scopes
}


def scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or (
        isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value)
    )


@pytest.fixture(scope="module")
def realm(kc: KeycloakAdmin) -> dict[str, Any]:
    found: dict[str, Any] = kc.get_realm(REALM)
    return found


@pytest.fixture(scope="module")
def clients(kc: KeycloakAdmin) -> dict[str, dict[str, Any]]:
    return {c["clientId"]: c for c in kc.get_clients()}


def test_every_realm_setting_of_the_export_survived_the_import(realm: dict[str, Any]) -> None:
    declared = {k: v for k, v in DEV.items() if scalar(v) and k not in NOT_ROUND_TRIPPED}
    changed = {k: (v, realm.get(k)) for k, v in declared.items() if realm.get(k) != v}
    assert changed == {}, "Keycloak changed on import (export, now): " + repr(changed)
    assert realm["passwordPolicy"] == DEV_REALM.DEV_PASSWORD_POLICY  # the one dev change


def test_organizations_and_brute_force_detection_are_on(
    realm: dict[str, Any], kc: KeycloakAdmin
) -> None:
    assert realm["organizationsEnabled"] is True
    assert kc.get_organizations({"first": 0, "max": 1}) is not None  # the API answers
    assert realm["bruteForceProtected"] is True
    assert realm["permanentLockout"] is False
    for name in (
        "failureFactor",
        "waitIncrementSeconds",
        "maxFailureWaitSeconds",
        "minimumQuickLoginWaitSeconds",
        "quickLoginCheckMilliSeconds",
        "maxDeltaTimeSeconds",
    ):
        assert realm[name] == EXPORT[name], name
    # The embedded issuer reads the same settings; Keycloak's default strategy applies.
    assert realm.get("bruteForceStrategy", "MULTIPLE") == "MULTIPLE"


CLIENT_FIELDS = (
    "enabled",
    "publicClient",
    "bearerOnly",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "directAccessGrantsEnabled",
    "serviceAccountsEnabled",
    "consentRequired",
    "frontchannelLogout",
    "fullScopeAllowed",
    "baseUrl",
    "clientAuthenticatorType",
)


@pytest.mark.parametrize("client_id", sorted(keycloak_realm.client_ids()))
def test_clients_as_exported(
    client_id: str, clients: dict[str, dict[str, Any]], kc: KeycloakAdmin
) -> None:
    # As the development copy has it (kentra-web: the web login tests' redirect URIs too).
    exported = keycloak_realm.client(client_id, DEV)
    found = clients[client_id]
    for name in CLIENT_FIELDS:
        if name in exported:
            assert found.get(name) == exported[name], name
    for name in ("redirectUris", "webOrigins", "defaultClientScopes", "optionalClientScopes"):
        if name in exported:
            assert sorted(found.get(name) or []) == sorted(exported[name]), name
    for key, value in (exported.get("attributes") or {}).items():
        assert found["attributes"].get(key) == value, key
    if not exported.get("publicClient") and "secret" in keycloak_realm.client(client_id, DEV):
        assert kc.get_client_secrets(found["id"])["value"] == DEV_REALM.client_secrets()[client_id]


def test_api_client_roles_are_the_platforms_roles(
    clients: dict[str, dict[str, Any]], kc: KeycloakAdmin
) -> None:
    roles = {r["name"] for r in kc.get_client_roles(clients[API_CLIENT]["id"])}
    assert roles == {role.value for role in Role}


def test_the_kentra_scope_mappers_as_exported(kc: KeycloakAdmin) -> None:
    scopes = {s["name"]: s for s in kc.get_client_scopes()}
    assert set(scopes) >= keycloak_realm.scope_names(EXPORT)
    for name in keycloak_realm.scope_names(EXPORT):
        exported = {
            m["name"]: m for m in keycloak_realm.client_scope(name, EXPORT)["protocolMappers"]
        }
        found = {m["name"]: m for m in scopes[name].get("protocolMappers") or []}
        assert set(found) == set(exported), name
        for mapper_name, mapper in exported.items():
            assert found[mapper_name]["protocolMapper"] == mapper["protocolMapper"]
            for key, value in mapper["config"].items():
                assert found[mapper_name]["config"].get(key) == value, (name, mapper_name, key)


def test_default_client_scopes_of_the_realm(kc: KeycloakAdmin) -> None:
    found = {s["name"] for s in kc.get_default_default_client_scopes()}
    assert found == set(EXPORT["defaultDefaultClientScopes"])


def test_provisioning_service_account_roles(
    clients: dict[str, dict[str, Any]], kc: KeycloakAdmin
) -> None:
    account = kc.get_client_service_account_user(clients[PROVISIONING_CLIENT]["id"])
    mappings = kc.get_all_roles_of_user(account["id"])["clientMappings"]
    granted = {owner: {r["name"] for r in entry["mappings"]} for owner, entry in mappings.items()}
    assert granted == keycloak_realm.service_account_roles(PROVISIONING_CLIENT, EXPORT)


def test_user_profile_declares_region_and_profession(kc: KeycloakAdmin) -> None:
    profile = kc.connection.raw_get(f"admin/realms/{REALM}/users/profile").json()
    found = {a["name"]: a for a in profile["attributes"]}
    exported = keycloak_realm.user_profile_attributes(EXPORT)
    for name in ("region", "profession"):
        assert found[name]["validations"] == exported[name]["validations"], name
        assert found[name]["permissions"] == exported[name]["permissions"], name
    assert profile.get("unmanagedAttributePolicy") is None  # undeclared attributes are dropped
