"""The issuer's clients, defined in code like the realm export defines them for Keycloak.

``kentra-web`` is the platform's own web front end (confidential, authorization code with PKCE),
``kentra-cli`` a public client for scripts and tests (the password grant, like Keycloak's
"direct access grants", outside production only), ``kentra-provisioning`` the service account
that provisions municipalities (client credentials, role ``platform-operator``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from kentra.auth.claims import CLI_CLIENT, PROVISIONING_CLIENT, WEB_CLIENT
from kentra.auth.roles import Role
from kentra.platform.core.config import Settings

AUTHORIZATION_CODE = "authorization_code"
REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a grant type
PASSWORD = "password"  # noqa: S105 - a grant type
CLIENT_CREDENTIALS = "client_credentials"

WEB_DEV_SECRET = "kentra-web-dev-secret"  # noqa: S105 - development default, refused in production
PROVISIONING_DEV_SECRET = "kentra-provisioning-dev-secret"  # noqa: S105 - same
# Keycloak names a client's service-account user like this.
SERVICE_ACCOUNT_PREFIX = "service-account-"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str | None  # None: a public client
    grant_types: frozenset[str]
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    service_account_roles: frozenset[Role] = frozenset()

    @property
    def public(self) -> bool:
        return self.secret is None

    @property
    def service_account_username(self) -> str:
        return SERVICE_ACCOUNT_PREFIX + self.client_id

    def secret_matches(self, presented: str) -> bool:
        """Constant-time comparison; a public client has no secret to match."""
        if self.secret is None:
            return False
        return hmac.compare_digest(presented.encode(), self.secret.encode())


def password_grant_allowed(settings: Settings) -> bool:
    """Direct access grants exist for development and tests only."""
    return settings.env != "production"


def _secret(configured: str | None, development_default: str, settings: Settings, name: str) -> str:
    if configured:
        return configured
    if settings.env == "production":
        raise RuntimeError(f"{name} must be set in production")
    return development_default


def build_clients(settings: Settings) -> dict[str, Client]:
    """The three clients, with their redirect URIs under ``settings.base_url``."""
    cli_grants = {REFRESH_TOKEN} | ({PASSWORD} if password_grant_allowed(settings) else set())
    clients = [
        Client(
            client_id=WEB_CLIENT,
            secret=_secret(
                settings.oidc_web_client_secret,
                WEB_DEV_SECRET,
                settings,
                "KENTRA_OIDC_WEB_CLIENT_SECRET",
            ),
            grant_types=frozenset({AUTHORIZATION_CODE, REFRESH_TOKEN}),
            redirect_uris=(settings.base_url + "/auth/callback",),
            post_logout_redirect_uris=(settings.base_url + "/",),
        ),
        Client(client_id=CLI_CLIENT, secret=None, grant_types=frozenset(cli_grants)),
        Client(
            client_id=PROVISIONING_CLIENT,
            # The same setting as Keycloak's provisioning service account.
            secret=_secret(
                settings.keycloak_admin_client_secret,
                PROVISIONING_DEV_SECRET,
                settings,
                "KENTRA_KEYCLOAK_ADMIN_SECRET",
            ),
            grant_types=frozenset({CLIENT_CREDENTIALS}),
            service_account_roles=frozenset({Role.PLATFORM_OPERATOR}),
        ),
    ]
    return {client.client_id: client for client in clients}
