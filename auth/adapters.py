"""The identity-admin implementation for the configured identity provider."""

from __future__ import annotations

from sqlalchemy import Engine

from kentra.auth.identity import IdentityAdmin
from kentra.platform.core.config import ConfigError, Settings


def identity_admin(settings: Settings, engine: Engine) -> IdentityAdmin:
    """Keycloak's admin API when an issuer is configured, else the embedded issuer's tables."""
    if settings.uses_embedded_issuer:
        if settings.env == "production":
            raise ConfigError(
                "KENTRA_OIDC_ISSUER is required in production (the embedded issuer is for development)"
            )
        from kentra.auth.issuer.admin import EmbeddedIdentityAdmin  # noqa: PLC0415

        return EmbeddedIdentityAdmin(engine)
    from kentra.auth.keycloak_admin import KeycloakIdentityAdmin  # noqa: PLC0415

    return KeycloakIdentityAdmin.from_settings(settings)
