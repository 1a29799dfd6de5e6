"""A local stand-in for Keycloak's token endpoint and admin REST API (Keycloak 26).

It follows the documented contract of exactly the calls ``KeycloakIdentityAdmin`` makes:
paths, query parameters, status codes, ``Location`` headers, and the errors (401 without a
valid bearer token, 404 for what is missing, 409 for duplicates). State lives in memory; every
request is recorded so that tests can assert what was sent. Behaviours that follow Keycloak's
source rather than a guess:

* organization search (``search``, ``exact``) matches the name or a domain, never the alias;
  ``q=key:value …`` matches exactly, the key ``alias`` the alias and any other key an attribute
  (``JpaOrganizationProvider``; checked against Keycloak 26.7 by tests/keycloak);
  ``first``/``max`` page (``max`` defaults to 10); duplicate name or alias → 409;
* ``POST /organizations/{id}/members`` takes the bare user id as its body; 201 without a body;
  409 when the user is already a member; ``DELETE /organizations/{id}/members/{userId}`` → 204,
  404 when the user is not a member (``OrganizationMemberResource.getMember``);
  ``GET /organizations/members/{userId}/organizations`` → the user's organizations, 404 for an
  unknown user;
* ``POST /groups`` and ``/groups/{id}/children`` → 201 + ``Location``, 409 for a sibling with
  the same name; ``GET /group-by-path/{path}`` → 404 when absent;
* usernames are stored lower-case; duplicate username or e-mail → 409;
* ``GET /users/{id}/groups`` lists the groups the user is a direct member of, with their full
  ``path`` (``briefRepresentation`` defaults to true: no attributes), paged only when
  ``first``/``max`` are given; ``DELETE /users/{id}/groups/{groupId}`` → 204 even when the user
  is not a member, 404 for an unknown user or group;
* ``DELETE /users/{id}/role-mappings/clients/{client}`` takes a list of role representations
  whose ``id`` and ``name`` must both match a role of the client (else 404 "Role not found");
  roles the user does not hold are ignored (204); without a body every mapping of the client
  is removed (``ClientRoleMappingsResource.deleteClientRoleMapping``);
* ``GET /users/{id}/role-mappings`` → ``{"realmMappings": [...], "clientMappings": {clientId:
  {"id", "client", "mappings"}}}``, direct mappings only, a client without mappings left out
  (``RoleMapperResource.getRoleMappings``); every new user gets the realm's default role
  ``default-roles-<realm>``; a test gives a user other realm roles through
  ``state.user_realm_roles``;
* user attributes not declared in the realm export's user profile are dropped (Keycloak's
  default "unmanaged attributes: disabled"); declared ones are validated (pattern, options;
  400 with the validator's ``error-message`` when the profile declares one);
* ``firstName`` and ``lastName`` are trimmed (blank: none) and refused with a character of
  ``person-name-prohibited-characters`` (400 ``error-person-name-invalid-character``; checked
  against Keycloak 26.7 by tests/keycloak/test_admin.py);
* ``reset-password`` applies the realm export's password policy (``length``, ``notUsername``,
  ``notEmail``): 400 ``invalidPasswordMinLengthMessage`` and the like;
* ``execute-actions-email`` needs an enabled user with an e-mail and known actions (else 400);
  without a working SMTP server (``state.smtp_configured = False``; a realm without mail
  settings, like the development one) Keycloak answers 500;
* ``DELETE /groups/{id}`` removes the group with its subgroups and their memberships (204);
* every Organizations API call needs the caller's ``realm-management`` role ``manage-realm``
  (``OrganizationsResource``), else 403; the service account starts with the roles the realm
  export gives it (``state.realm_management_roles``; a test may revoke one);
* Keycloak releases before 26.4 refuse an organization without a domain (400, "You must
  provide at least one domain"): ``state.organization_domain_required = True``.

For a failure Keycloak has no client-visible cause for (its database is down, a bug),
``fail_next(method, pattern)`` answers the next matching request as Keycloak answers any
unexpected server error: 500 ``{"error": "unknown_error"}``.

Use the ``keycloak_standin`` fixture (import ``keycloak_standin_fixture`` into the test module to
register it) or ``KeycloakStandIn.running()`` for other set-ups.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, Response, abort, request
from werkzeug.routing import BaseConverter
from werkzeug.serving import WSGIRequestHandler, make_server

from kentra.auth import keycloak_realm
from kentra.auth.claims import API_CLIENT, PROVISIONING_CLIENT, REALM
from kentra.auth.identity import person_name_allowed

ADMIN = f"/admin/realms/{REALM}"
TOKEN_PATH = f"/realms/{REALM}/protocol/openid-connect/token"
REQUIRED_ACTIONS = frozenset(
    {
        "UPDATE_PASSWORD",
        "VERIFY_EMAIL",
        "UPDATE_PROFILE",
        "CONFIGURE_TOTP",
        "TERMS_AND_CONDITIONS",
        "webauthn-register",
    }
)
TOKEN_LIFESPAN = 300


@dataclass
class RecordedRequest:
    method: str
    path: str
    args: dict[str, str]
    body: Any
    authorized: bool


@dataclass
class State:
    """Keycloak's realm, reduced to what the admin calls touch."""

    client_secret: str
    tokens: dict[str, float] = field(default_factory=dict)  # access token → expiry
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)  # organization → user ids
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → {name, parent, attrs}
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    passwords: dict[str, dict[str, Any]] = field(default_factory=dict)  # user id → credential
    user_groups: dict[str, set[str]] = field(default_factory=dict)
    user_client_roles: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    user_realm_roles: dict[str, set[str]] = field(default_factory=dict)  # user id → role names
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)  # uuid → representation
    client_roles: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    emails: list[dict[str, Any]] = field(default_factory=list)  # execute-actions-email sent
    # The service account's realm-management roles (seeded from the realm export).
    realm_management_roles: set[str] = field(default_factory=set)
    smtp_configured: bool = True
    # The realm export's; a test may set the development Keycloak's (infra/dev/keycloak_dev_realm.py).
    password_policy: str = field(
        default_factory=lambda: str(keycloak_realm.load_realm().get("passwordPolicy") or "")
    )
    organization_domain_required: bool = False  # Keycloak 26.0-26.3


class _AnyPath(BaseConverter):
    """Like ``path`` but also matches a leading slash (``group-by-path//m-4501``)."""

    regex = ".*"
    part_isolating = False


def _error(status: int, message: str, key: str = "errorMessage") -> Response:
    return Response(json.dumps({key: message}), status=status, mimetype="application/json")


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")


def _no_content() -> Response:
    return Response(status=204)


def _created(location: str) -> Response:
    return Response(status=201, headers={"Location": location})


def _page(items: list[dict[str, Any]], default_max: int | None) -> list[dict[str, Any]]:
    first = max(int(request.args.get("first", "0")), 0)
    raw_max = request.args.get("max")
    size = int(raw_max) if raw_max is not None else default_max
    if size is None or size < 0:
        return items[first:]
    return items[first : first + size]


def _flag(name: str) -> bool:
    return request.args.get(name, "false").lower() == "true"


class KeycloakStandIn:
    """The stand-in's state, its Flask app and the recorded requests."""

    def __init__(self, client_secret: str = "provisioning-secret") -> None:
        self.client_secret = client_secret
        self.state = State(client_secret=client_secret)
        self.requests: list[RecordedRequest] = []
        self.url = ""  # set once served
        self._failures: list[tuple[str, re.Pattern[str]]] = []
        self._profile = keycloak_realm.user_profile_attributes()
        self._seed_clients()
        self.app = self._build_app()

    # -- assertions helpers ----------------------------------------------------------------

    def calls(self, method: str, pattern: str) -> list[RecordedRequest]:
        """Recorded admin/token requests whose path fully matches ``pattern`` (a regex)."""
        compiled = re.compile(pattern)
        return [r for r in self.requests if r.method == method and compiled.fullmatch(r.path)]

    def fail_next(self, method: str, pattern: str) -> None:
        """Answer the next ``method`` admin request whose path fully matches ``pattern`` with
        Keycloak's answer to an unexpected server error (500 ``unknown_error``)."""
        self._failures.append((method, re.compile(pattern)))

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        for user in self.state.users.values():
            if user["username"] == username.lower():
                return user
        return None

    def group_path(self, group_id: str) -> str:
        names: list[str] = []
        current: str | None = group_id
        while current is not None:
            group = self.state.groups[current]
            names.append(group["name"])
            current = group["parentId"]
        return "/" + "/".join(reversed(names))

    def organizations_of(self, user_id: str) -> set[str]:
        return {
            self.state.organizations[org]["alias"]
            for org, members in self.state.members.items()
            if user_id in members
        }

    def client_roles_of(self, user_id: str, client_id: str = API_CLIENT) -> set[str]:
        client_uuid = self._client_uuid(client_id)
        return set(self.state.user_client_roles.get(user_id, {}).get(client_uuid, set()))

    def group_paths_of(self, user_id: str) -> set[str]:
        return {self.group_path(g) for g in self.state.user_groups.get(user_id, set())}

    # -- state -----------------------------------------------------------------------------

    def _seed_clients(self) -> None:
        realm = keycloak_realm.load_realm()
        granted = keycloak_realm.service_account_roles(PROVISIONING_CLIENT, realm)
        self.state.realm_management_roles = set(granted.get("realm-management", set()))
        for client_id in [*sorted(keycloak_realm.client_ids(realm)), "realm-management"]:
            client_uuid = str(uuid.uuid4())
            self.state.clients[client_uuid] = {"id": client_uuid, "clientId": client_id}
            roles = keycloak_realm.client_role_names(client_id, realm)
            self.state.client_roles[client_uuid] = {
                name: {
                    "id": str(uuid.uuid4()),
                    "name": name,
                    "composite": False,
                    "clientRole": True,
                    "containerId": client_uuid,
                }
                for name in sorted(roles)
            }

    def _client_uuid(self, client_id: str) -> str:
        for client_uuid, client in self.state.clients.items():
            if client["clientId"] == client_id:
                return client_uuid
        raise KeyError(client_id)

    def _location(self, *parts: str) -> str:
        return self.url.rstrip("/") + ADMIN + "/" + "/".join(parts)

    # -- the app ---------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        app.url_map.merge_slashes = False
        app.url_map.converters["anypath"] = _AnyPath

        @app.before_request
        def record_and_authorize() -> Response | None:
            body: Any = None
            raw = request.get_data(as_text=True)
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = dict(request.form) if request.form else raw
            authorized = self._authorized()
            self.requests.append(
                RecordedRequest(request.method, request.path, dict(request.args), body, authorized)
            )
            if request.path.startswith(ADMIN + "/") and not authorized:
                return _error(401, "HTTP 401 Unauthorized", key="error")
            if (
                request.path.startswith(ADMIN + "/organizations")
                and "manage-realm" not in self.state.realm_management_roles
            ):
                return _error(403, "HTTP 403 Forbidden", key="error")
            for failure in self._failures:
                method, pattern = failure
                if request.method == method and pattern.fullmatch(request.path):
                    self._failures.remove(failure)
                    return _error(500, "unknown_error", key="error")
            return None

        @app.post(TOKEN_PATH)
        def token() -> Response:
            return self._token()

        # Organizations
        @app.get(ADMIN + "/organizations")
        def organizations() -> Response:
            return self._search_organizations()

        @app.post(ADMIN + "/organizations")
        def create_organization() -> Response:
            return self._create_organization(request.get_json(force=True))

        @app.get(ADMIN + "/organizations/<org_id>")
        def organization(org_id: str) -> Response:
            return _json(self._organization(org_id))

        @app.delete(ADMIN + "/organizations/<org_id>")
        def delete_organization(org_id: str) -> Response:
            self._organization(org_id)
            del self.state.organizations[org_id]
            self.state.members.pop(org_id, None)
            return _no_content()

        @app.post(ADMIN + "/organizations/<org_id>/members")
        def add_member(org_id: str) -> Response:
            return self._add_member(org_id, request.get_data(as_text=True))

        @app.get(ADMIN + "/organizations/<org_id>/members")
        def members(org_id: str) -> Response:
            self._organization(org_id)
            users = [self.state.users[u] for u in self.state.members.get(org_id, [])]
            return _json(_page(users, 10))

        @app.delete(ADMIN + "/organizations/<org_id>/members/<user_id>")
        def remove_member(org_id: str, user_id: str) -> Response:
            self._organization(org_id)
            members = self.state.members.get(org_id, [])
            if user_id not in members:
                return _error(404, "HTTP 404 Not Found", key="error")
            members.remove(user_id)
            return _no_content()

        @app.get(ADMIN + "/organizations/members/<user_id>/organizations")
        def member_organizations(user_id: str) -> Response:
            if user_id not in self.state.users:
                return _error(404, "HTTP 404 Not Found", key="error")
            found = [
                self.state.organizations[org]
                for org, ids in self.state.members.items()
                if user_id in ids
            ]
            return _json(found)

        # Groups
        @app.get(ADMIN + "/groups")
        def groups() -> Response:
            return _json(_page(self._search_groups(None), None))

        @app.post(ADMIN + "/groups")
        def create_group() -> Response:
            return self._create_group(request.get_json(force=True), parent_id=None)

        @app.get(ADMIN + "/groups/<group_id>")
        def group(group_id: str) -> Response:
            return _json(self._group_representation(self._group(group_id), full=True))

        @app.put(ADMIN + "/groups/<group_id>")
        def update_group(group_id: str) -> Response:
            return self._update_group(self._group(group_id), request.get_json(force=True))

        @app.delete(ADMIN + "/groups/<group_id>")
        def delete_group(group_id: str) -> Response:
            self._remove_group(self._group(group_id))
            return _no_content()

        @app.get(ADMIN + "/groups/<group_id>/children")
        def children(group_id: str) -> Response:
            self._group(group_id)
            return _json(_page(self._search_groups(group_id), 10))

        @app.post(ADMIN + "/groups/<group_id>/children")
        def create_child(group_id: str) -> Response:
            self._group(group_id)
            return self._create_group(request.get_json(force=True), parent_id=group_id)

        @app.get(ADMIN + "/group-by-path/<anypath:path>")
        def group_by_path(path: str) -> Response:
            found = self._group_by_path(path)
            if found is None:
                return _error(404, "Group path does not exist", key="error")
            return _json(self._group_representation(found, full=True))

        # Users
        @app.get(ADMIN + "/users")
        def users() -> Response:
            return _json(_page(self._search_users(), 100))

        @app.post(ADMIN + "/users")
        def create_user() -> Response:
            return self._create_user(request.get_json(force=True))

        @app.get(ADMIN + "/users/<user_id>")
        def user(user_id: str) -> Response:
            return _json(self._user(user_id))

        @app.put(ADMIN + "/users/<user_id>")
        def update_user(user_id: str) -> Response:
            return self._update_user(self._user(user_id), request.get_json(force=True))

        @app.put(ADMIN + "/users/<user_id>/reset-password")
        def reset_password(user_id: str) -> Response:
            return self._reset_password(self._user(user_id), request.get_json(force=True))

        @app.get(ADMIN + "/users/<user_id>/credentials")
        def credentials(user_id: str) -> Response:
            self._user(user_id)
            found = self.state.passwords.get(user_id)
            return _json([found] if found else [])

        @app.put(ADMIN + "/users/<user_id>/execute-actions-email")
        def execute_actions_email(user_id: str) -> Response:
            return self._execute_actions_email(self._user(user_id), request.get_json(force=True))

        @app.get(ADMIN + "/users/<user_id>/groups")
        def user_groups(user_id: str) -> Response:
            self._user(user_id)
            brief = request.args.get("briefRepresentation", "true").lower() == "true"
            found = [
                self._group_representation(self._group(g), full=False)
                for g in self.state.user_groups.get(user_id, set())
            ]
            found.sort(key=lambda g: g["path"])
            if brief:
                for rep in found:
                    del rep["attributes"]
            return _json(_page(found, None))

        @app.put(ADMIN + "/users/<user_id>/groups/<group_id>")
        def join_group(user_id: str, group_id: str) -> Response:
            self._user(user_id)
            self._group(group_id)
            self.state.user_groups.setdefault(user_id, set()).add(group_id)
            return _no_content()

        @app.delete(ADMIN + "/users/<user_id>/groups/<group_id>")
        def leave_group(user_id: str, group_id: str) -> Response:
            self._user(user_id)
            self._group(group_id)
            self.state.user_groups.get(user_id, set()).discard(group_id)
            return _no_content()

        @app.get(ADMIN + "/users/<user_id>/role-mappings/clients/<client_uuid>")
        def client_role_mappings(user_id: str, client_uuid: str) -> Response:
            self._user(user_id)
            roles = self._client_roles(client_uuid)
            names = self.state.user_client_roles.get(user_id, {}).get(client_uuid, set())
            return _json([roles[name] for name in sorted(names)])

        @app.get(ADMIN + "/users/<user_id>/role-mappings")
        def role_mappings(user_id: str) -> Response:
            self._user(user_id)
            realm = [
                {"id": f"realm-role-{name}", "name": name, "composite": False, "clientRole": False}
                for name in sorted(self.state.user_realm_roles.get(user_id, set()))
            ]
            clients: dict[str, Any] = {}
            for client_uuid, names in self.state.user_client_roles.get(user_id, {}).items():
                if not names:
                    continue
                client_id = self.state.clients[client_uuid]["clientId"]
                roles = self._client_roles(client_uuid)
                clients[client_id] = {
                    "id": client_uuid,
                    "client": client_id,
                    "mappings": [roles[name] for name in sorted(names)],
                }
            body: dict[str, Any] = {}
            if realm:
                body["realmMappings"] = realm
            if clients:
                body["clientMappings"] = clients
            return _json(body)

        @app.post(ADMIN + "/users/<user_id>/role-mappings/clients/<client_uuid>")
        def add_client_role_mappings(user_id: str, client_uuid: str) -> Response:
            return self._map_roles(self._user(user_id), client_uuid, request.get_json(force=True))

        @app.delete(ADMIN + "/users/<user_id>/role-mappings/clients/<client_uuid>")
        def delete_client_role_mappings(user_id: str, client_uuid: str) -> Response:
            body = request.get_json(force=True, silent=True) if request.get_data() else None
            return self._unmap_roles(self._user(user_id), client_uuid, body)

        # Clients
        @app.get(ADMIN + "/clients")
        def clients() -> Response:
            wanted = request.args.get("clientId")
            found = [
                client
                for client in self.state.clients.values()
                if wanted is None or client["clientId"] == wanted
            ]
            return _json(found)

        @app.get(ADMIN + "/clients/<client_uuid>/roles/<role_name>")
        def client_role(client_uuid: str, role_name: str) -> Response:
            roles = self._client_roles(client_uuid)
            if role_name not in roles:
                return _error(404, "Could not find role", key="error")
            return _json(roles[role_name])

        return app

    # -- authentication --------------------------------------------------------------------

    def _authorized(self) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return False
        expiry = self.state.tokens.get(header.removeprefix("Bearer "))
        return expiry is not None and expiry > time.monotonic()

    def _token(self) -> Response:
        form = request.form
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if request.authorization is not None and request.authorization.type == "basic":
            client_id = request.authorization.username
            secret = request.authorization.password
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", key="error")
        if client_id != PROVISIONING_CLIENT or secret != self.client_secret:
            return _json(
                {
                    "error": "unauthorized_client",
                    "error_description": "Invalid client or Invalid client credentials",
                },
                status=401,
            )
        access_token = secrets.token_urlsafe(24)
        self.state.tokens[access_token] = time.monotonic() + TOKEN_LIFESPAN
        return _json(
            {
                "access_token": access_token,
                "expires_in": TOKEN_LIFESPAN,
                "refresh_expires_in": 0,
                "token_type": "Bearer",
                "not-before-policy": 0,
                "scope": "profile kentra",
            }
        )

    # -- organizations ---------------------------------------------------------------------

    def _organization(self, org_id: str) -> dict[str, Any]:
        found = self.state.organizations.get(org_id)
        if found is None:
            abort(_error(404, "Organization not found."))
        return found

    def _search_organizations(self) -> Response:
        search = request.args.get("search")
        exact = _flag("exact")
        found = sorted(self.state.organizations.values(), key=lambda o: o["name"])
        for pair in (request.args.get("q") or "").split():
            key, _, value = pair.partition(":")
            found = [
                o
                for o in found
                if (
                    o["alias"] == value if key == "alias" else value in o["attributes"].get(key, [])
                )
            ]
        if search:

            def matches(value: str) -> bool:
                return value == search if exact else search.lower() in value.lower()

            found = [
                o
                for o in found
                if matches(o["name"]) or any(matches(d["name"]) for d in o["domains"])
            ]
        return _json(_page(found, 10))

    def _create_organization(self, rep: dict[str, Any]) -> Response:
        name = rep.get("name")
        if not name:
            return _error(400, "Name can not be null")
        alias = rep.get("alias") or name
        domains = [
            {"name": d["name"], "verified": bool(d.get("verified"))}
            for d in rep.get("domains") or []
            if d.get("name")
        ]
        if self.state.organization_domain_required and not domains:
            return _error(400, "You must provide at least one domain")
        for existing in self.state.organizations.values():
            if existing["name"] == name:
                return _error(409, "A organization with the same name already exists.")
            if existing["alias"] == alias:
                return _error(409, "A organization with the same alias already exists")
            taken = {d["name"] for d in existing["domains"]}
            if any(d["name"] in taken for d in domains):
                return _error(409, "Domain already linked to another organization")
        org_id = str(uuid.uuid4())
        self.state.organizations[org_id] = {
            "id": org_id,
            "name": name,
            "alias": alias,
            "enabled": rep.get("enabled", True),
            "description": rep.get("description"),
            "attributes": rep.get("attributes") or {},
            "domains": domains,
        }
        return _created(self._location("organizations", org_id))

    def _add_member(self, org_id: str, body: str) -> Response:
        self._organization(org_id)
        user_id = body.strip().strip('"')
        if user_id not in self.state.users:
            return _error(400, "User does not exist")
        members = self.state.members.setdefault(org_id, [])
        if user_id in members:
            return _error(409, "User is already a member of the organization.")
        members.append(user_id)
        return _created(self._location("organizations", org_id, "members", user_id))

    # -- groups ----------------------------------------------------------------------------

    def _group(self, group_id: str) -> dict[str, Any]:
        found = self.state.groups.get(group_id)
        if found is None:
            abort(_error(404, "Could not find group by id", key="error"))
        return found

    def _children(self, parent_id: str | None) -> list[dict[str, Any]]:
        return sorted(
            (g for g in self.state.groups.values() if g["parentId"] == parent_id),
            key=lambda g: g["name"],
        )

    def _group_representation(self, group: dict[str, Any], *, full: bool) -> dict[str, Any]:
        children = self._children(group["id"])
        rep: dict[str, Any] = {
            "id": group["id"],
            "name": group["name"],
            "path": self.group_path(group["id"]),
            "parentId": group["parentId"],
            "subGroupCount": len(children),
            "attributes": group["attributes"],
            "subGroups": [],
        }
        if full:
            rep["subGroups"] = [self._group_representation(c, full=True) for c in children]
        return rep

    def _search_groups(self, parent_id: str | None) -> list[dict[str, Any]]:
        search = request.args.get("search")
        exact = _flag("exact")
        found = self._children(parent_id)
        if search:
            found = [
                g
                for g in found
                if (g["name"] == search if exact else search.lower() in g["name"].lower())
            ]
        return [self._group_representation(g, full=False) for g in found]

    def _group_by_path(self, path: str) -> dict[str, Any] | None:
        parent: str | None = None
        found: dict[str, Any] | None = None
        for segment in path.strip("/").split("/"):
            found = next((g for g in self._children(parent) if g["name"] == segment), None)
            if found is None:
                return None
            parent = found["id"]
        return found

    def _create_group(self, rep: dict[str, Any], parent_id: str | None) -> Response:
        name = rep.get("name")
        if not name:
            return _error(400, "Group name is missing")
        if any(g["name"] == name for g in self._children(parent_id)):
            if parent_id is None:
                return _error(409, f"Top level group named '{name}' already exists.")
            return _error(409, f"Sibling group named '{name}' already exists.")
        group_id = str(uuid.uuid4())
        self.state.groups[group_id] = {
            "id": group_id,
            "name": name,
            "parentId": parent_id,
            "attributes": rep.get("attributes") or {},
        }
        return _created(self._location("groups", group_id))

    def _remove_group(self, group: dict[str, Any]) -> None:
        for child in self._children(group["id"]):
            self._remove_group(child)
        del self.state.groups[group["id"]]
        for joined in self.state.user_groups.values():
            joined.discard(group["id"])

    def _update_group(self, group: dict[str, Any], rep: dict[str, Any]) -> Response:
        name = rep.get("name") or group["name"]
        siblings = [g for g in self._children(group["parentId"]) if g["id"] != group["id"]]
        if any(g["name"] == name for g in siblings):
            return _error(409, f"Sibling group named '{name}' already exists.")
        group["name"] = name
        if rep.get("attributes") is not None:
            group["attributes"] = rep["attributes"]
        return _no_content()

    # -- users -----------------------------------------------------------------------------

    def _user(self, user_id: str) -> dict[str, Any]:
        found = self.state.users.get(user_id)
        if found is None:
            abort(_error(404, "User not found", key="error"))
        return found

    def _search_users(self) -> list[dict[str, Any]]:
        found = sorted(self.state.users.values(), key=lambda u: u["username"])
        exact = _flag("exact")
        for param in ("username", "email", "firstName", "lastName"):
            wanted = request.args.get(param)
            if wanted is None:
                continue
            wanted = wanted.lower()
            found = [
                u
                for u in found
                if (u.get(param) or "").lower() == wanted
                or (not exact and wanted in (u.get(param) or "").lower())
            ]
        return found

    def _validated_attributes(self, raw: dict[str, Any]) -> dict[str, list[str]] | Response:
        """Keep declared attributes only (unmanaged ones are dropped) and validate them."""
        attributes: dict[str, list[str]] = {}
        for name, values in (raw or {}).items():
            declared = self._profile.get(name)
            if declared is None or name in {"username", "email", "firstName", "lastName"}:
                continue
            listed = [str(v) for v in (values if isinstance(values, list) else [values])]
            validations = declared.get("validations", {})
            pattern = validations.get("pattern", {}).get("pattern")
            options = validations.get("options", {}).get("options")
            for value in listed:
                if pattern and not re.search(pattern, value):
                    message = validations["pattern"].get("error-message", "error-invalid-value")
                    return _json(
                        {"field": name, "errorMessage": message, "params": [name, pattern]}, 400
                    )
                if options is not None and value not in options:
                    return _json(
                        {"field": name, "errorMessage": "error-invalid-value", "params": [name]},
                        400,
                    )
            attributes[name] = listed
        return attributes

    @staticmethod
    def _names(rep: dict[str, Any]) -> dict[str, str | None] | Response:
        """The representation's names as Keycloak's user profile keeps them: trimmed, a blank
        one none; a prohibited character refuses the user."""
        names: dict[str, str | None] = {}
        for key in ("firstName", "lastName"):
            if key not in rep:
                continue
            value = (rep[key] or "").strip()
            if not person_name_allowed(value):
                return _json(
                    {
                        "field": key,
                        "errorMessage": "error-person-name-invalid-character",
                        "params": [key],
                    },
                    400,
                )
            names[key] = value or None
        return names

    def _create_user(self, rep: dict[str, Any]) -> Response:
        username = (rep.get("username") or "").lower()
        if not username:
            return _json(
                {"field": "username", "errorMessage": "error-user-attribute-required"}, 400
            )
        names = self._names(rep)
        if isinstance(names, Response):
            return names
        email = (rep.get("email") or "").lower() or None
        for existing in self.state.users.values():
            if existing["username"] == username:
                return _error(409, "User exists with same username")
            if email and existing.get("email") == email:
                return _error(409, "User exists with same email")
        attributes = self._validated_attributes(rep.get("attributes") or {})
        if isinstance(attributes, Response):
            return attributes
        user_id = str(uuid.uuid4())
        self.state.users[user_id] = {
            "id": user_id,
            "username": username,
            "email": email,
            "firstName": names.get("firstName"),
            "lastName": names.get("lastName"),
            "enabled": bool(rep.get("enabled", False)),
            "emailVerified": bool(rep.get("emailVerified", False)),
            "attributes": attributes,
            "requiredActions": list(rep.get("requiredActions") or []),
            "createdTimestamp": int(time.time() * 1000),
        }
        self.state.user_realm_roles[user_id] = {f"default-roles-{REALM}"}
        return _created(self._location("users", user_id))

    def _update_user(self, user: dict[str, Any], rep: dict[str, Any]) -> Response:
        if rep.get("username") and rep["username"].lower() != user["username"]:
            return _error(400, "error-user-attribute-read-only")
        names = self._names(rep)
        if isinstance(names, Response):
            return names
        if rep.get("attributes") is not None:
            attributes = self._validated_attributes(rep["attributes"])
            if isinstance(attributes, Response):
                return attributes
            user["attributes"] = attributes
        user.update(names)
        for key in ("enabled", "emailVerified", "requiredActions"):
            if key in rep:
                user[key] = rep[key]
        if "email" in rep:
            user["email"] = (rep["email"] or "").lower() or None
        return _no_content()

    def _reset_password(self, user: dict[str, Any], rep: dict[str, Any]) -> Response:
        if rep.get("type", "password") != "password" or not rep.get("value"):
            return _error(400, "Cannot reset password! Invalid password", key="error")
        refused = self._password_policy_error(user, str(rep["value"]))
        if refused is not None:
            return _json({"error": refused[0], "error_description": refused[1]}, 400)
        self.state.passwords[user["id"]] = {
            "id": str(uuid.uuid4()),
            "type": "password",
            "temporary": bool(rep.get("temporary", True)),
            "createdDate": int(time.time() * 1000),
        }
        actions = set(user["requiredActions"])
        if rep.get("temporary", True):
            actions.add("UPDATE_PASSWORD")
        else:
            actions.discard("UPDATE_PASSWORD")
        user["requiredActions"] = sorted(actions)
        return _no_content()

    def _password_policy_error(self, user: dict[str, Any], password: str) -> tuple[str, str] | None:
        """Keycloak's answer for a password the realm's policy refuses (``PasswordPolicy``)."""
        for rule in self.state.password_policy.split(" and "):
            name, _, argument = rule.strip().partition("(")
            if name == "length" and len(password) < int(argument.rstrip(")")):
                return (
                    "invalidPasswordMinLengthMessage",
                    f"Invalid password: minimum length {argument.rstrip(')')}.",
                )
            if name == "notUsername" and password.lower() == user["username"]:
                return (
                    "invalidPasswordNotUsernameMessage",
                    "Invalid password: must not be equal to the username.",
                )
            if name == "notEmail" and user.get("email") and password.lower() == user["email"]:
                return (
                    "invalidPasswordNotEmailMessage",
                    "Invalid password: must not be equal to the email.",
                )
        return None

    def _execute_actions_email(self, user: dict[str, Any], actions: Any) -> Response:
        if not user.get("email"):
            return _error(400, "User email missing")
        if not user["enabled"]:
            return _error(400, "User is disabled")
        if not isinstance(actions, list) or not set(actions) <= REQUIRED_ACTIONS:
            return _error(400, "Provided invalid required actions")
        client_id = request.args.get("client_id")
        redirect_uri = request.args.get("redirect_uri")
        if redirect_uri and not client_id:
            return _error(400, "Client id missing")
        if client_id and client_id not in {c["clientId"] for c in self.state.clients.values()}:
            return _error(400, "Client doesn't exist")
        return self._send_actions_email(user, actions, client_id, redirect_uri)

    def _send_actions_email(
        self,
        user: dict[str, Any],
        actions: list[str],
        client_id: str | None,
        redirect_uri: str | None,
    ) -> Response:
        if not self.state.smtp_configured:
            # Keycloak's answer when the realm's mail settings are missing or the SMTP server
            # refuses the message (UserResource.executeActionsEmail catches EmailException).
            return _error(
                500,
                "Failed to send execute actions email: Invalid sender address 'null'. If the "
                "address contains UTF-8 characters in the local part please ensure the SMTP "
                "server supports the SMTPUTF8 extension and enable 'Allow UTF-8' in the email "
                "realm configuration.",
            )
        self.state.emails.append(
            {
                "user_id": user["id"],
                "email": user["email"],
                "actions": list(actions),
                "client_id": client_id,
                "lifespan": request.args.get("lifespan"),
                "redirect_uri": redirect_uri,
            }
        )
        return _no_content()

    # -- roles -----------------------------------------------------------------------------

    def _client_roles(self, client_uuid: str) -> dict[str, dict[str, Any]]:
        roles = self.state.client_roles.get(client_uuid)
        if roles is None:
            abort(_error(404, "Could not find client", key="error"))
        return roles

    def _map_roles(self, user: dict[str, Any], client_uuid: str, reps: Any) -> Response:
        roles = self._client_roles(client_uuid)
        names: list[str] = []
        for rep in reps if isinstance(reps, list) else []:
            role = roles.get(rep.get("name", ""))
            if role is None or rep.get("id") not in (None, role["id"]):
                return _error(404, "Role not found", key="error")
            names.append(role["name"])
        mapped = self.state.user_client_roles.setdefault(user["id"], {})
        mapped.setdefault(client_uuid, set()).update(names)
        return _no_content()

    def _unmap_roles(self, user: dict[str, Any], client_uuid: str, reps: Any) -> Response:
        roles = self._client_roles(client_uuid)
        mapped = self.state.user_client_roles.get(user["id"], {}).get(client_uuid, set())
        if reps is None:  # no body: every mapping of the client
            mapped.clear()
            return _no_content()
        names: list[str] = []
        for rep in reps if isinstance(reps, list) else []:
            role = roles.get(rep.get("name", ""))
            if role is None or rep.get("id") != role["id"]:
                return _error(404, "Role not found", key="error")
            names.append(role["name"])
        mapped.difference_update(names)
        return _no_content()

    # -- serving ---------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls, client_secret: str = "provisioning-secret") -> Iterator[KeycloakStandIn]:
        """Serve a fresh stand-in on 127.0.0.1 (a free port) in a background thread.

        The server is single-threaded: requests are handled one at a time, so the state
        needs no lock.
        """
        standin = cls(client_secret)
        server = make_server("127.0.0.1", 0, standin.app, request_handler=_QuietHandler)
        standin.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="keycloak-standin")
        thread.daemon = True
        thread.start()
        try:
            yield standin
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are recorded by the stand-in; no access log on stderr."""


@pytest.fixture(name="keycloak_standin")
def keycloak_standin_fixture() -> Iterator[KeycloakStandIn]:
    """A fresh Keycloak stand-in per test (``.url``, ``.client_secret``, ``.requests``)."""
    with KeycloakStandIn.running() as standin:
        yield standin
