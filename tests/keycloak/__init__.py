"""Tests against a real Keycloak (collected only when KENTRA_TEST_KEYCLOAK_URL is set)."""
