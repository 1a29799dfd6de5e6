"""``IdentityAdmin`` against Keycloak's admin REST API, through python-keycloak.

The adapter signs in as the ``kentra-provisioning`` service account (client credentials in the
``kentra`` realm; ``infra/keycloak/realm-kentra.json`` gives it the realm-management roles it
needs) and maps the platform's identity model onto Keycloak's:

* a municipality is an **organization** with alias ``m-<code>``; Keycloak wants organization
  names unique and some municipalities share a name (Ηράκλειο: 4604 and 7101), so the
  organization is named ``"<name> (<code>)"``;
* a unit is a **group** ``/m-<code>/<centre>[/<annex or mobile unit>]`` whose segments are the
  group names (the ``groups`` claim carries full paths); the human-readable name is the group
  attribute ``kentra_name``;
* a user gets one ``kentra-api`` client role, organization membership, unit-group membership,
  the user-profile attributes ``region`` and ``profession``, and its first and last name (the
  realm's user profile requires both: ``kentra.auth.identity.split_full_name``), which on an
  existing user are only filled in where missing; ``ensure_user(..., exclusive=True)`` also
  removes the user's other ``kentra-api`` client roles, other unit-group (``/m-…``)
  memberships and a ``region`` or ``profession`` the spec has not;
* a spec naming a municipality touches only an account that municipality manages
  (``kentra.auth.identity.managed_by``): the account's organizations, ``kentra-api`` roles,
  groups, realm roles, other clients' roles and service-account flag are read first, and an
  account outside it raises ``ForeignAccount`` before anything is written.

Every method is idempotent: each step looks up before it creates, and a 409 from a concurrent
creator is answered by looking up again. Failures surface as :class:`KeycloakAdminError`,
whose message names the operation and the cause (a rejected client secret, a missing admin
role, an unreachable server).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from keycloak import KeycloakAdmin
from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakConnectionError,
    KeycloakDeleteError,
    KeycloakError,
    KeycloakGetError,
    KeycloakPostError,
)

from kentra.auth.claims import (
    API_CLIENT,
    ORGANIZATION_PREFIX,
    PROVISIONING_CLIENT,
    REALM,
    WEB_CLIENT,
)
from kentra.auth.identity import (
    ExistingAccess,
    ForeignAccount,
    UserSpec,
    check_managed_by,
    organization_alias,
)
from kentra.auth.principal import UnitPath
from kentra.platform.core.config import ConfigError, Settings

log = logging.getLogger(__name__)

# The invitation: Keycloak e-mails a link through which the user sets a password and, by
# following it, proves the address.
INVITATION_ACTIONS = ("UPDATE_PASSWORD", "VERIFY_EMAIL")
INVITATION_LIFESPAN = 3 * 24 * 3600  # seconds
# User-profile attributes (declared in the realm export; undeclared ones Keycloak drops).
ATTRIBUTE_REGION = "region"
ATTRIBUTE_PROFESSION = "profession"
ACCESS_ATTRIBUTES = (ATTRIBUTE_REGION, ATTRIBUTE_PROFESSION)
# Group attribute holding a unit's human-readable name (the group name is the path segment).
ATTRIBUTE_DISPLAY_NAME = "kentra_name"
# Identity fields sent back whole when a user is updated, so that nothing is lost.
_USER_FIELDS = ("username", "email", "firstName", "lastName", "enabled", "emailVerified")

_UNAUTHORIZED = 401
_FORBIDDEN = 403
_NOT_FOUND = 404
_CONFLICT = 409


class KeycloakAdminError(RuntimeError):
    """Keycloak refused or failed an admin call; the message says which call and why."""


def _status(exc: KeycloakError) -> int | None:
    code = exc.response_code
    return code if isinstance(code, int) else None


class KeycloakIdentityAdmin:
    """The ``kentra.auth.identity.IdentityAdmin`` implementation for Keycloak 26 or later.

    ``server_url`` is Keycloak's base URL (``https://id.example.gr``, without ``/realms/...``);
    ``client_secret`` is the ``kentra-provisioning`` client's secret. Nothing is sent until the
    first call, which fetches a service-account token (python-keycloak renews it).
    """

    def __init__(
        self,
        server_url: str,
        client_secret: str,
        *,
        realm: str = REALM,
        client_id: str = PROVISIONING_CLIENT,
        verify: bool | str = True,
        timeout: int = 30,
        invitation_client_id: str = WEB_CLIENT,
        invitation_lifespan: int = INVITATION_LIFESPAN,
        organization_domain: str | None = None,
    ) -> None:
        """``organization_domain``, e.g. ``"{alias}.kentra.example.gr"``, gives each new
        organization one domain; leave it unset on Keycloak 26.4 or later, where domains are
        optional (earlier 26.x releases require one)."""
        if not server_url:
            raise ValueError("the Keycloak server URL is required")
        if not client_secret:
            raise ValueError(f"the {client_id} client secret is required")
        # urljoin() drops the last path segment of a base without a trailing slash.
        self.server_url = server_url.rstrip("/") + "/"
        self.realm = realm
        self.client_id = client_id
        self.invitation_client_id = invitation_client_id
        self.invitation_lifespan = invitation_lifespan
        self.organization_domain = organization_domain
        self._admin = KeycloakAdmin(
            server_url=self.server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            grant_type="client_credentials",
            verify=verify,
            timeout=timeout,
        )
        self._api_client_uuid: str | None = None
        self._roles: dict[str, dict[str, Any]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> KeycloakIdentityAdmin:
        """From ``KENTRA_KEYCLOAK_URL`` (else derived from ``KENTRA_OIDC_ISSUER``) and
        ``KENTRA_KEYCLOAK_ADMIN_SECRET``."""
        server_url = settings.keycloak_server_url or _server_from_issuer(settings.oidc_issuer)
        if not server_url:
            raise ConfigError(
                "KENTRA_KEYCLOAK_URL is not set and KENTRA_OIDC_ISSUER is not "
                f"<keycloak>/realms/{REALM}: the Keycloak admin API has no address"
            )
        if not settings.keycloak_admin_client_secret:
            raise ConfigError(
                f"KENTRA_KEYCLOAK_ADMIN_SECRET (the {PROVISIONING_CLIENT} client's secret) "
                "is not set"
            )
        return cls(server_url, settings.keycloak_admin_client_secret)

    # -- organizations -------------------------------------------------------------------

    def ensure_organization(self, municipality_code: str, name: str) -> str:
        alias = organization_alias(municipality_code)
        with self._call(f"ensure organization {alias}"):
            existing = self._organization_id(alias)
            if existing is not None:
                return existing
            payload: dict[str, Any] = {
                "name": f"{name} ({municipality_code})",
                "alias": alias,
                "description": name,
                "enabled": True,
            }
            if self.organization_domain:
                domain = self.organization_domain.format(alias=alias, code=municipality_code)
                payload["domains"] = [{"name": domain, "verified": False}]
            created: str | None = None
            try:
                created = self._admin.create_organization(payload)
            except KeycloakPostError as exc:
                if _status(exc) != _CONFLICT:
                    raise
            else:
                log.info("keycloak organization created", extra={"alias": alias})
            organization_id = created or self._organization_id(alias)
            if organization_id is None:
                raise KeycloakAdminError(
                    f"ensure organization {alias}: Keycloak reports a conflict but has no "
                    f"organization with alias {alias!r}; another organization is already named "
                    f"{payload['name']!r}"
                )
            return organization_id

    def remove_organization(self, municipality_code: str) -> None:
        alias = organization_alias(municipality_code)
        with self._call(f"remove organization {alias}"):
            organization_id = self._organization_id(alias)
            if organization_id is None:
                return
            try:
                self._admin.delete_organization(organization_id)
            except KeycloakDeleteError as exc:
                if _status(exc) != _NOT_FOUND:  # removed meanwhile: done all the same
                    raise
            log.info("keycloak organization removed", extra={"alias": alias})

    def _organization_id(self, alias: str) -> str | None:
        # ``search`` matches names and domains only, but ``q=alias:<alias>`` is an exact match
        # on the alias column (Keycloak's JpaOrganizationProvider treats the key ``alias``
        # apart from attributes): one request, one row, however many organizations there are.
        # The answer is checked all the same, in case a release reads ``alias`` as an attribute.
        found = self._admin.get_organizations(
            {"q": f"alias:{alias}", "first": 0, "max": 2, "briefRepresentation": True}
        )
        return next((str(o["id"]) for o in found if o.get("alias") == alias), None)

    # -- unit groups ---------------------------------------------------------------------

    def ensure_unit_group(self, unit: UnitPath, name: str) -> str:
        with self._call(f"ensure unit group {unit}"):
            group = self._ensure_group_path(unit, display_name=name)
            return str(group["id"])

    def _ensure_group_path(self, unit: UnitPath, display_name: str | None) -> dict[str, Any]:
        """Create-or-get each level of ``/m-<code>/<centre>[/<unit>]``; return the last."""
        segments = str(unit).strip("/").split("/")
        parent_id: str | None = None
        group: dict[str, Any] = {}
        for depth, segment in enumerate(segments, start=1):
            path = "/".join(segments[:depth])
            last = depth == len(segments)
            attributes = {ATTRIBUTE_DISPLAY_NAME: [display_name]} if last and display_name else {}
            found = self._group_by_path(path)
            if found is None:
                found = self._create_group(segment, path, parent_id, attributes)
            elif attributes and not _has_attributes(found, attributes):
                merged = {**(found.get("attributes") or {}), **attributes}
                self._admin.update_group(found["id"], {"name": segment, "attributes": merged})
                found = {**found, "attributes": merged}
            group = found
            parent_id = str(found["id"])
        return group

    def _group_by_path(self, path: str) -> dict[str, Any] | None:
        try:
            return self._admin.get_group_by_path(path)
        except KeycloakGetError as exc:
            if _status(exc) == _NOT_FOUND:
                return None
            raise

    def _create_group(
        self, name: str, path: str, parent_id: str | None, attributes: dict[str, list[str]]
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"name": name, "attributes": attributes}
        try:
            group_id = self._admin.create_group(payload, parent=parent_id)
        except KeycloakPostError as exc:
            if _status(exc) != _CONFLICT:
                raise
            group_id = None  # created meanwhile by someone else: look it up
        if group_id:
            log.info("keycloak group created", extra={"path": "/" + path})
            return {"id": group_id, **payload}
        found = self._group_by_path(path)
        if found is None:
            raise KeycloakAdminError(f"group /{path}: created, yet Keycloak cannot find it")
        return found

    # -- users ---------------------------------------------------------------------------

    def check_user(self, user: UserSpec) -> None:
        """See ``kentra.auth.identity.IdentityAdmin.check_user``."""
        with self._call(f"check user {user.username}"):
            self._check_managed(user)

    def _check_managed(self, user: UserSpec) -> None:
        """``ForeignAccount`` unless the spec's municipality (if any) manages the account named
        by the username, and no account with another username has the e-mail. Keycloak has no
        transaction to hold this under; the re-check after a concurrent create covers the race
        that matters (two municipalities creating the same new user)."""
        code = user.managing_municipality
        if code is None:
            return
        username = user.username.lower()  # Keycloak keeps usernames in lower case
        accounts = set()
        if (user_id := self._admin.get_user_id(username)) is not None:
            accounts.add(str(user_id))
        if user.email:
            for found in self._admin.get_users({"email": user.email, "exact": True}):
                if str(found.get("username") or "").lower() != username:
                    raise ForeignAccount("another account has the e-mail address")
                accounts.add(str(found["id"]))  # the same user, created since we looked
        for account in accounts:
            check_managed_by(self._existing_access(account), code)

    def _existing_access(self, user_id: str) -> ExistingAccess:
        """The account's organizations, roles and groups, and whether it holds anything else:
        realm roles beyond the realm's default role, roles of other clients (such as
        ``realm-management``), or being a client's service account."""
        representation = self._admin.get_user(user_id)
        mappings = self._admin.get_all_roles_of_user(user_id)
        default_role = f"default-roles-{self.realm}"
        realm_roles = {str(r.get("name")) for r in mappings.get("realmMappings") or []}
        clients: dict[str, Any] = mappings.get("clientMappings") or {}
        api_roles = [
            str(r.get("name")) for r in (clients.get(API_CLIENT) or {}).get("mappings") or []
        ]
        other_clients = any(
            client_id != API_CLIENT and entry.get("mappings")
            for client_id, entry in clients.items()
        )
        return ExistingAccess.of(
            (str(o.get("alias") or "") for o in self._admin.get_user_organizations(user_id)),
            api_roles,
            (str(g.get("path") or "") for g in self._admin.get_user_groups(user_id)),
            other_privileges=bool(realm_roles - {default_role})
            or other_clients
            or bool(representation.get("serviceAccountClientId")),
        )

    def ensure_user(self, user: UserSpec, *, exclusive: bool = False) -> str:
        """See ``kentra.auth.identity.IdentityAdmin.ensure_user``. With ``exclusive``, what is
        not the spec's is removed before the spec's is added, so that a call failing half-way
        leaves the user with less access rather than more; a repeat completes it."""
        code = user.municipality_code
        if user.unit is not None:
            if code is not None and code != user.unit.municipality_code:
                raise ValueError(
                    f"user {user.username}: unit {user.unit} is not in municipality {code}"
                )
            code = user.unit.municipality_code
        with self._call(f"ensure user {user.username}"):
            self._check_managed(user)
            organization_id: str | None = None
            if code is not None:
                alias = organization_alias(code)
                organization_id = self._organization_id(alias)
                if organization_id is None:
                    raise KeycloakAdminError(
                        f"ensure user {user.username}: organization {alias} does not exist "
                        "(ensure_organization first)"
                    )
            user_id = self._ensure_user_record(user, exclusive=exclusive)
            group_id: str | None = None
            if user.unit is not None:
                group_id = str(self._ensure_group_path(user.unit, display_name=None)["id"])
            if exclusive:
                # No other organization to leave: an account with one is a ForeignAccount.
                self._remove_other_roles(user_id, user.role.value)
                self._remove_other_unit_groups(user_id, group_id)
            self._assign_role(user_id, user.role.value)
            if organization_id is not None:
                self._add_member(organization_id, user_id)
            if group_id is not None:
                self._admin.group_user_add(user_id, group_id)
            # Last, so that the account works by the time the invitation is followed.
            if user.password is not None:
                self._admin.set_user_password(user_id, user.password, temporary=False)
            elif not self._has_password(user_id):
                # Until the invitation is used, a repeat sends it again: that is how a lost or
                # failed e-mail is recovered.
                self._admin.send_update_account(
                    user_id,
                    list(INVITATION_ACTIONS),
                    client_id=self.invitation_client_id,
                    lifespan=self.invitation_lifespan,
                )
                # Logs name users by id: usernames are often e-mail addresses (personal data).
                log.info("keycloak invitation sent", extra={"user_id": user_id})
            return user_id

    def disable_user(self, username: str, *, municipality_code: str | None = None) -> None:
        with self._call(f"disable user {username}"):
            user_id = self._admin.get_user_id(username)
            if user_id is None:
                return
            if municipality_code is not None:
                check_managed_by(self._existing_access(str(user_id)), municipality_code)
            current = self._admin.get_user(user_id)
            if current.get("enabled") is False:
                return
            payload = {key: current[key] for key in _USER_FIELDS if key in current}
            payload["attributes"] = current.get("attributes") or {}
            payload["enabled"] = False
            self._admin.update_user(user_id, payload)
            log.info("keycloak user disabled", extra={"user_id": user_id})

    def _ensure_user_record(self, user: UserSpec, *, exclusive: bool) -> str:
        user_id = self._admin.get_user_id(user.username)
        if user_id is not None:
            self._sync_profile(str(user_id), user, exclusive=exclusive)
            return str(user_id)
        payload: dict[str, Any] = {
            "username": user.username,
            "email": user.email,
            "enabled": True,
            # Development users get a password and no mail; invited users prove the address.
            "emailVerified": user.password is not None,
            "attributes": _attributes(user),
        }
        if user.first_name:
            payload["firstName"] = user.first_name
        if user.last_name:
            payload["lastName"] = user.last_name
        try:
            created = self._admin.create_user(payload)
        except KeycloakPostError as exc:
            if _status(exc) != _CONFLICT:
                raise
            user_id = self._admin.get_user_id(user.username)
            if user_id is None:
                raise KeycloakAdminError(
                    f"ensure user {user.username}: Keycloak reports a conflict but has no user "
                    f"{user.username!r}; another user already has the e-mail address"
                ) from exc
            self._check_managed(user)  # created since we looked: by whom?
            self._sync_profile(str(user_id), user, exclusive=exclusive)
            return str(user_id)
        log.info("keycloak user created", extra={"user_id": str(created)})
        return str(created)

    def _sync_profile(self, user_id: str, user: UserSpec, *, exclusive: bool) -> None:
        """Bring ``region``/``profession`` of an existing user to the spec (they scope access):
        the spec's are set, and with ``exclusive`` those the spec has not are removed. Give it
        the spec's first and last name where it has none; a name the account already has is
        kept (the user may have corrected it in the account console)."""
        wanted = _attributes(user)
        names = {"firstName": user.first_name, "lastName": user.last_name}
        if not exclusive and not wanted and not any(names.values()):
            return  # nothing to add: no need to read the user
        current = self._admin.get_user(user_id)
        attributes = dict(current.get("attributes") or {})
        if exclusive:
            for key in ACCESS_ATTRIBUTES:
                attributes.pop(key, None)
        attributes.update(wanted)
        missing = {key: value for key, value in names.items() if value and not current.get(key)}
        if attributes == (current.get("attributes") or {}) and not missing:
            return
        payload = {key: current[key] for key in _USER_FIELDS if key in current}
        payload.update(missing)
        # The whole map: Keycloak removes a declared attribute the representation leaves out.
        payload["attributes"] = attributes
        self._admin.update_user(user_id, payload)

    def _assign_role(self, user_id: str, role_name: str) -> None:
        client_uuid = self._api_client()
        role = self._role(client_uuid, role_name)
        # Adding a mapping the user already has is a no-op (204) in Keycloak.
        self._admin.assign_client_role(
            user_id, client_uuid, [{"id": role["id"], "name": role["name"]}]
        )

    def _api_client(self) -> str:
        if self._api_client_uuid is None:
            found = self._admin.get_client_id(API_CLIENT)
            if found is None:
                raise KeycloakAdminError(
                    f"realm {self.realm} has no client {API_CLIENT}: import "
                    "infra/keycloak/realm-kentra.json"
                )
            self._api_client_uuid = str(found)
        return self._api_client_uuid

    def _role(self, client_uuid: str, role_name: str) -> dict[str, Any]:
        if role_name not in self._roles:
            try:
                self._roles[role_name] = dict(self._admin.get_client_role(client_uuid, role_name))
            except KeycloakGetError as exc:
                if _status(exc) != _NOT_FOUND:
                    raise
                raise KeycloakAdminError(
                    f"client {API_CLIENT} has no role {role_name!r}: re-import "
                    "infra/keycloak/realm-kentra.json"
                ) from exc
        return self._roles[role_name]

    def _add_member(self, organization_id: str, user_id: str) -> None:
        try:
            self._admin.organization_user_add(user_id, organization_id)
        except KeycloakPostError as exc:
            if _status(exc) != _CONFLICT:  # 409: already a member
                raise

    def _remove_other_roles(self, user_id: str, role_name: str) -> None:
        """DELETE the user's ``kentra-api`` client-role mappings other than ``role_name``."""
        client_uuid = self._api_client()
        others = [
            {"id": role["id"], "name": role["name"]}
            for role in self._admin.get_client_roles_of_user(user_id, client_uuid)
            if role.get("name") != role_name
        ]
        if others:
            # Removing a mapping the user no longer has is a no-op (204) in Keycloak.
            self._admin.delete_client_roles_of_user(user_id, client_uuid, others)
            log.info(
                "keycloak client roles removed",
                extra={"user_id": user_id, "roles": sorted(r["name"] for r in others)},
            )

    def _remove_other_unit_groups(self, user_id: str, group_id: str | None) -> None:
        """Leave every unit group (path ``/m-…``) other than ``group_id``."""
        for group in self._admin.get_user_groups(user_id):
            path = str(group.get("path") or "")
            if group["id"] == group_id or not path.startswith("/" + ORGANIZATION_PREFIX):
                continue
            # Leaving a group the user is no longer in is a no-op (204) in Keycloak.
            self._admin.group_user_remove(user_id, str(group["id"]))
            log.info("keycloak group membership removed", extra={"user_id": user_id, "path": path})

    def _has_password(self, user_id: str) -> bool:
        return any(c.get("type") == "password" for c in self._admin.get_credentials(user_id))

    # -- errors --------------------------------------------------------------------------

    @contextmanager
    def _call(self, operation: str) -> Iterator[None]:
        """Translate python-keycloak's errors into one exception with a useful message."""
        try:
            yield
        except KeycloakAuthenticationError as exc:
            raise KeycloakAdminError(
                f"{operation}: Keycloak at {self.server_url} rejected the credentials of client "
                f"{self.client_id!r} in realm {self.realm!r} (HTTP {_status(exc) or _UNAUTHORIZED})"
                " — check KENTRA_KEYCLOAK_ADMIN_SECRET"
            ) from exc
        except KeycloakConnectionError as exc:
            raise KeycloakAdminError(
                f"{operation}: cannot reach Keycloak at {self.server_url}"
            ) from exc
        except KeycloakError as exc:
            if _status(exc) == _FORBIDDEN:
                raise KeycloakAdminError(
                    f"{operation}: the {self.client_id} service account lacks an admin role "
                    "(HTTP 403); it needs the realm-management roles of "
                    "infra/keycloak/realm-kentra.json"
                ) from exc
            raise KeycloakAdminError(f"{operation}: Keycloak answered {exc}") from exc


def _attributes(user: UserSpec) -> dict[str, list[str]]:
    attributes: dict[str, list[str]] = {}
    if user.region:
        attributes[ATTRIBUTE_REGION] = [user.region]
    if user.profession is not None:
        attributes[ATTRIBUTE_PROFESSION] = [user.profession.value]
    return attributes


def _has_attributes(representation: dict[str, Any], wanted: dict[str, list[str]]) -> bool:
    current = representation.get("attributes") or {}
    return all(current.get(key) == value for key, value in wanted.items())


def _server_from_issuer(issuer: str | None) -> str | None:
    """``https://id.example.gr/realms/kentra`` → ``https://id.example.gr``."""
    suffix = f"/realms/{REALM}"
    if issuer and issuer.rstrip("/").endswith(suffix):
        return issuer.rstrip("/")[: -len(suffix)] or None
    return None
