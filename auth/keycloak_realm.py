"""The Keycloak realm export, read: clients, client roles, and the claims its mappers produce.

``infra/keycloak/realm-kentra.json`` is what an operator imports into Keycloak. Its client
scope ``kentra`` holds the protocol mappers that give Keycloak's access tokens the layout of
:mod:`kentra.auth.claims`; the helpers here let tests compare that file with the code (the
``Role`` enum, the claim constants, the embedded issuer's tokens) without a Keycloak server.

The file is found at ``<repo root>/infra/keycloak/realm-kentra.json``, located from this
package the way :mod:`kentra.platform.core.config` locates the checkout (falling back to the
working directory for an installed wheel); ``KENTRA_KEYCLOAK_REALM_FILE`` overrides the path.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kentra.auth.claims import API_CLIENT

REALM_FILE_ENV = "KENTRA_KEYCLOAK_REALM_FILE"
REALM_FILE = Path("infra", "keycloak", "realm-kentra.json")
# The client scope that carries the claims the platform reads.
KENTRA_SCOPE = "kentra"
# The declarative user profile lives in a component; its JSON is a string in the config.
USER_PROFILE_COMPONENT = "org.keycloak.userprofile.UserProfileProvider"
USER_PROFILE_CONFIG = "kc.user.profile.config"

# Keycloak splits a claim name on dots into nested objects; "\." is a literal dot.
_CLAIM_PATH_SEPARATOR = re.compile(r"(?<!\\)\.")
# Mappers whose claim name is fixed (or defaulted) rather than read from ``claim.name``.
_FIXED_CLAIMS = {
    "oidc-audience-mapper": "aud",
    "oidc-sub-mapper": "sub",
    "oidc-full-name-mapper": "name",
    "oidc-allowed-origins-mapper": "allowed-origins",
    "oidc-acr-mapper": "acr",
}
_DEFAULT_CLAIMS = {"oidc-organization-membership-mapper": "organization"}
# A mapper's options that put its claim into access tokens, into ID tokens.
ACCESS_TOKEN_OPTION = "access.token.claim"  # noqa: S105 - an option's name
ID_TOKEN_OPTION = "id.token.claim"  # noqa: S105 - same

Realm = Mapping[str, Any]


def realm_file() -> Path:
    """Where the realm export is: the override, else ``infra/keycloak`` in the checkout."""
    override = os.environ.get(REALM_FILE_ENV)
    if override:
        return Path(override)
    checkout = Path(__file__).resolve().parents[1]
    root = checkout if (checkout / "pyproject.toml").exists() else Path.cwd()
    return root / REALM_FILE


def load_realm(path: Path | None = None) -> dict[str, Any]:
    """The realm export as parsed JSON (a ``RealmRepresentation``)."""
    with (path or realm_file()).open(encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise TypeError(f"{path or realm_file()} is not a realm representation (a JSON object)")
    return data


def client_ids(realm: Realm | None = None) -> set[str]:
    """The ``clientId`` of every client the export declares."""
    data = load_realm() if realm is None else realm
    return {str(client["clientId"]) for client in data.get("clients", [])}


def client(client_id: str, realm: Realm | None = None) -> dict[str, Any]:
    """One client's representation; ``KeyError`` if the export has no such client."""
    data = load_realm() if realm is None else realm
    for candidate in data.get("clients", []):
        if candidate.get("clientId") == client_id:
            return dict(candidate)
    raise KeyError(f"the realm export has no client {client_id!r}")


def client_role_names(client_id: str = API_CLIENT, realm: Realm | None = None) -> set[str]:
    """The client roles of ``kentra-api`` (or of another client)."""
    data = load_realm() if realm is None else realm
    roles = data.get("roles", {}).get("client", {}).get(client_id, [])
    return {str(role["name"]) for role in roles}


def client_scope(name: str, realm: Realm | None = None) -> dict[str, Any]:
    """One client scope's representation; ``KeyError`` if the export has no such scope."""
    data = load_realm() if realm is None else realm
    for scope in data.get("clientScopes", []):
        if scope.get("name") == name:
            return dict(scope)
    raise KeyError(f"the realm export has no client scope {name!r}")


def access_token_claims(client_id: str | None = None, realm: Realm | None = None) -> set[str]:
    """Top-level claim names that mappers put into access tokens.

    Without ``client_id``: the mappers of the ``kentra`` client scope, i.e. the claims the
    platform reads (``aud``, ``resource_access``, ``groups``, ``organization``,
    ``kentra_region``, ``kentra_profession``). With a ``client_id``: every mapper that reaches
    that client's access tokens (its default client scopes and its own mappers), which adds the
    standard claims such as ``sub`` and ``preferred_username``. Claims Keycloak writes without
    a mapper (``iss``, ``exp``, ``iat``, ``jti``, ``azp``, ``typ``, ``scope``, ``sid``…) are
    not listed.
    """
    return _mapped_claims(ACCESS_TOKEN_OPTION, client_id, realm)


def id_token_claims(client_id: str, realm: Realm | None = None) -> set[str]:
    """Top-level claim names that mappers put into the ID tokens of ``client_id`` (its default
    client scopes and its own mappers): the profile claims and, of the ``kentra`` scope, only
    ``organization``. Claims Keycloak writes without a mapper (``iss``, ``aud``, ``nonce``,
    ``at_hash``, ``sid``…) are not listed."""
    return _mapped_claims(ID_TOKEN_OPTION, client_id, realm)


def _mapped_claims(option: str, client_id: str | None, realm: Realm | None) -> set[str]:
    data = load_realm() if realm is None else realm
    if client_id is None:
        mappers = list(client_scope(KENTRA_SCOPE, data).get("protocolMappers", []))
    else:
        found = client(client_id, data)
        mappers = list(found.get("protocolMappers", []))
        for name in found.get("defaultClientScopes", []):
            mappers.extend(client_scope(name, data).get("protocolMappers", []))
    return {claim for claim in (_token_claim(m, option) for m in mappers) if claim is not None}


def user_profile(realm: Realm | None = None) -> dict[str, Any]:
    """The declarative user profile (``UPConfig``): the attributes users may carry."""
    data = load_realm() if realm is None else realm
    components = data.get("components", {}).get(USER_PROFILE_COMPONENT, [])
    for component in components:
        raw = component.get("config", {}).get(USER_PROFILE_CONFIG)
        if raw:
            parsed = json.loads(raw[0] if isinstance(raw, list) else raw)
            if isinstance(parsed, dict):
                return parsed
    raise KeyError("the realm export declares no user profile")


def user_profile_attributes(realm: Realm | None = None) -> dict[str, dict[str, Any]]:
    """The user profile's attributes by name."""
    return {str(a["name"]): dict(a) for a in user_profile(realm).get("attributes", [])}


def _token_claim(mapper: Mapping[str, Any], option: str) -> str | None:
    """The claim a mapper writes into the tokens its ``option`` (``ACCESS_TOKEN_OPTION``,
    ``ID_TOKEN_OPTION``) turns on, if any."""
    config: Mapping[str, Any] = mapper.get("config") or {}
    if str(config.get(option, "false")).lower() != "true":
        return None
    kind = str(mapper.get("protocolMapper", ""))
    name = _FIXED_CLAIMS.get(kind) or config.get("claim.name") or _DEFAULT_CLAIMS.get(kind)
    if not name:
        return None
    return _CLAIM_PATH_SEPARATOR.split(str(name), maxsplit=1)[0].replace("\\.", ".")


def scope_names(realm: Realm | None = None) -> set[str]:
    """The names of the client scopes the export declares."""
    data = load_realm() if realm is None else realm
    return {str(scope["name"]) for scope in data.get("clientScopes", [])}


def service_account_roles(client_id: str, realm: Realm | None = None) -> dict[str, set[str]]:
    """The client roles of a client's service-account user, by the clientId owning them."""
    data = load_realm() if realm is None else realm
    for user in data.get("users", []):
        if user.get("serviceAccountClientId") == client_id:
            roles: Mapping[str, Iterable[str]] = user.get("clientRoles", {})
            return {owner: set(names) for owner, names in roles.items()}
    raise KeyError(f"the realm export has no service-account user for {client_id!r}")
