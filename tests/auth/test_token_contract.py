"""The embedded issuer's access tokens carry exactly the claims the realm export's mappers
define, so switching to Keycloak is configuration only; and the role names agree."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine

from kentra.auth import keycloak_realm
from kentra.auth.claims import AUTHORIZED_PARTIES, CLAIM_ORGANIZATION, CLI_CLIENT, WEB_CLIENT
from kentra.auth.identity import UserSpec
from kentra.auth.issuer.admin import EmbeddedIdentityAdmin
from kentra.auth.issuer.server import embedded_issuer
from kentra.auth.issuer.signing import ID_TOKEN_TYPE, verify
from kentra.auth.principal import Principal, UnitPath
from kentra.auth.roles import Profession, Role
from kentra.auth.tokens import JwksCache, TokenValidator
from kentra.platform.core.config import EMBEDDED_ISSUER_PATH, Settings
from tests.identity import staff_spec

# Written by Keycloak itself, with no protocol mapper.
KEYCLOAK_BUILT_IN = {"iss", "exp", "iat", "nbf", "jti", "typ", "azp", "sid", "scope"}
KEYCLOAK_ID_TOKEN_BUILT_IN = {"iss", "sub", "aud", "exp", "iat", "jti", "typ", "azp", "sid"}
KEYCLOAK_ID_TOKEN_BUILT_IN |= {"at_hash", "nonce"}
PASSWORD = "contract-test-password"


def embedded_tokens(client: FlaskClient, username: str, scope: str | None = None) -> Any:
    data = {
        "grant_type": "password",
        "client_id": CLI_CLIENT,
        "username": username,
        "password": PASSWORD,
    }
    if scope is not None:
        data["scope"] = scope
    response = client.post(f"{EMBEDDED_ISSUER_PATH}/protocol/openid-connect/token", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def embedded_token_claims(client: FlaskClient, settings: Settings, username: str) -> dict[str, Any]:
    # Validated with the issuer's own key (the shared test app trusts a test key instead).
    issuer = embedded_issuer(client.application)
    validator = TokenValidator(settings.issuer, JwksCache(issuer.jwks))
    claims: dict[str, Any] = validator.validate(embedded_tokens(client, username)["access_token"])
    return claims


def make_users(engine: Engine) -> list[str]:
    admin = EmbeddedIdentityAdmin(engine)
    suffix = uuid.uuid4().hex[:8]
    specs = [
        staff_spec(
            username=f"contract-staff-{suffix}",
            email=f"staff-{suffix}@example.gr",
            first_name="Ελένη",
            last_name="Παππά",
            password=PASSWORD,
        ),
        UserSpec(
            username=f"contract-regional-{suffix}",
            email=f"regional-{suffix}@example.gr",
            role=Role.REGIONAL_OFFICER,
            region="EL30",
            first_name="Νίκος",
            last_name="Δημητρίου",
            password=PASSWORD,
        ),
    ]
    for spec in specs:
        admin.ensure_user(spec)
    return [spec.username for spec in specs]


def test_embedded_tokens_carry_exactly_the_realm_mappers_claims(
    app: Any, engine: Engine, settings: Settings
) -> None:
    client = app.test_client()
    tokens = [embedded_token_claims(client, settings, username) for username in make_users(engine)]
    mapped = keycloak_realm.access_token_claims(CLI_CLIENT)
    seen = set().union(*(set(t) for t in tokens))
    # Nothing the realm would not produce...
    assert seen - mapped - KEYCLOAK_BUILT_IN == set()
    # ...and everything it would, for users who have every optional attribute between them.
    assert mapped - seen == set()
    # The claims the platform reads are exactly the kentra scope's mappers.
    assert keycloak_realm.access_token_claims() <= seen
    principals = [Principal.from_claims(t) for t in tokens]
    assert principals[0].roles == {Role.STAFF}
    assert principals[0].units == (UnitPath("4501", "kk-athinon", "parartima-1"),)
    assert principals[0].profession is Profession.SOCIAL_WORKER
    assert principals[1].region == "EL30"


def test_embedded_id_tokens_carry_exactly_the_realm_mappers_claims(
    app: Any, engine: Engine, settings: Settings
) -> None:
    # Keycloak's ID tokens carry the profile and e-mail claims and, of the kentra scope, the
    # organization alone (tests/keycloak/test_web_login.py reads them from a real login).
    client = app.test_client()
    issuer = embedded_issuer(app)
    tokens = [
        verify(
            issuer.signing_key,
            embedded_tokens(client, username, scope="openid")["id_token"],
            issuer=settings.issuer,
            token_type=ID_TOKEN_TYPE,
        )
        for username in make_users(engine)
    ]
    mapped = keycloak_realm.id_token_claims(CLI_CLIENT)
    assert mapped == keycloak_realm.id_token_claims(WEB_CLIENT)
    assert mapped & keycloak_realm.access_token_claims() == {CLAIM_ORGANIZATION}
    seen = set().union(*(set(t) for t in tokens))
    assert seen - mapped - KEYCLOAK_ID_TOKEN_BUILT_IN == set()
    assert mapped - seen == set()
    assert tokens[0][CLAIM_ORGANIZATION] == ["m-4501"]
    assert CLAIM_ORGANIZATION not in tokens[1]  # a regional officer belongs to none


def test_role_and_client_names_agree_with_the_realm() -> None:
    assert keycloak_realm.client_role_names() == {role.value for role in Role}
    assert keycloak_realm.client_ids() >= AUTHORIZED_PARTIES
