"""Keycloak's real tokens: they validate with the platform's ``TokenValidator`` over Keycloak's
JWKS and give, for every demo user, the same ``Principal`` as the embedded issuer's token for
the same user (the demo users of ``auth/issuer/demo.py``, seeded in both through the same path).
The claim contract of tests/auth/test_token_contract.py, on these tokens."""

from __future__ import annotations

import pytest
from flask import Flask

from kentra.auth import keycloak_realm
from kentra.auth.claims import API_CLIENT, CLI_CLIENT, PROVISIONING_CLIENT
from kentra.auth.issuer.clients import PROVISIONING_DEV_SECRET
from kentra.auth.issuer.demo import DemoLogin
from kentra.auth.principal import Principal
from kentra.auth.tokens import InvalidToken, TokenValidator
from tests.keycloak.conftest import (
    LOGINS,
    TokenEndpoint,
    embedded_claims,
    embedded_principal,
    principal_fields,
)

# Written by Keycloak itself, with no protocol mapper (tests/auth/test_token_contract.py).
KEYCLOAK_BUILT_IN = {"iss", "exp", "iat", "nbf", "jti", "typ", "azp", "sid", "scope"}
# Mapped by the realm's "basic" scope from the session's authentication time, which a password
# grant does not record: Keycloak's password-grant tokens carry no auth_time.
NOT_IN_PASSWORD_GRANTS = {"auth_time"}


@pytest.mark.parametrize("login", LOGINS, ids=[login.username for login in LOGINS])
def test_each_demo_users_keycloak_token_gives_the_embedded_issuers_principal(
    login: DemoLogin,
    demo_logins: list[DemoLogin],
    token_endpoint: TokenEndpoint,
    keycloak_validator: TokenValidator,
    embedded_validator: TokenValidator,
    app: Flask,
) -> None:
    response = token_endpoint.password(login.username, login.password)
    assert response.status_code == 200, response.text
    keycloak = Principal.from_claims(keycloak_validator.validate(response.json()["access_token"]))
    embedded = embedded_principal(app, embedded_validator, login)
    assert principal_fields(keycloak) == principal_fields(embedded)
    assert keycloak.roles == {login.role}


def test_provisioning_client_credentials_give_the_embedded_issuers_principal(
    token_endpoint: TokenEndpoint,
    provisioning_secret: str,
    keycloak_validator: TokenValidator,
    embedded_validator: TokenValidator,
    app: Flask,
) -> None:
    response = token_endpoint.client_credentials(PROVISIONING_CLIENT, provisioning_secret)
    assert response.status_code == 200, response.text
    keycloak = Principal.from_claims(keycloak_validator.validate(response.json()["access_token"]))
    embedded = Principal.from_claims(
        embedded_claims(
            app.test_client(),
            embedded_validator,
            {
                "grant_type": "client_credentials",
                "client_id": PROVISIONING_CLIENT,
                "client_secret": PROVISIONING_DEV_SECRET,
            },
        )
    )
    assert principal_fields(keycloak) == principal_fields(embedded)
    assert keycloak.username == "service-account-kentra-provisioning"


def test_keycloak_tokens_carry_exactly_the_realm_mappers_claims(
    demo_logins: list[DemoLogin],
    token_endpoint: TokenEndpoint,
    keycloak_validator: TokenValidator,
) -> None:
    tokens = []
    for login in demo_logins:
        response = token_endpoint.password(login.username, login.password)
        tokens.append(keycloak_validator.validate(response.json()["access_token"]))
    mapped = keycloak_realm.access_token_claims(CLI_CLIENT)
    seen = set().union(*(set(t) for t in tokens))
    # Nothing the realm would not produce...
    assert seen - mapped - KEYCLOAK_BUILT_IN == set()
    # ...and everything it would, for users who have every optional attribute between them.
    assert mapped - seen == NOT_IN_PASSWORD_GRANTS
    assert keycloak_realm.access_token_claims() <= seen
    # One audience: Keycloak writes a string, the embedded issuer a list; both validate.
    assert {t["aud"] for t in tokens} == {API_CLIENT}


def test_a_token_of_another_issuer_or_altered_is_refused(
    demo_logins: list[DemoLogin],
    token_endpoint: TokenEndpoint,
    keycloak_validator: TokenValidator,
    embedded_validator: TokenValidator,
) -> None:
    login = demo_logins[-1]
    token = token_endpoint.password(login.username, login.password).json()["access_token"]
    with pytest.raises(InvalidToken):
        embedded_validator.validate(token)  # Keycloak's key and issuer are not the embedded one's
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        keycloak_validator.validate(f"{header}.{payload}.{flipped}")
