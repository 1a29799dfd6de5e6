"""The embedded OIDC issuer: the default identity provider when KENTRA_OIDC_ISSUER is unset.

It stands in for Keycloak in development and tests, with Keycloak's URL layout and token
layout (``kentra.auth.claims``), so switching to Keycloak is configuration only.

- ``server``   the endpoints (blueprint) and ``init_embedded_issuer``; refused in production
- ``clients``  kentra-web, kentra-cli, kentra-provisioning, as the realm export defines them
- ``signing``  access and ID token claims, signed RS256 with joserfc
- ``keys``     the signing key and cookie secret under ``<var>/oidc`` (0600, reused)
- ``grants``   login sessions, authorization codes and refresh tokens (stored hashed)
- ``accounts`` credentials and the data that goes into tokens
- ``admin``    ``EmbeddedIdentityAdmin``, the ``IdentityAdmin`` over these tables
- ``demo``     ``seed_demo_users``: one demo user per role (never in production)
- ``models``   the ``identity_*`` tables in the shared schema
"""
