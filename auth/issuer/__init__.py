"""The embedded OIDC issuer: the default identity provider when KENTRA_OIDC_ISSUER is unset."""
