"""Test access tokens: Keycloak's layout (auth/claims.py), signed by a key the test app trusts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from kentra.auth.claims import API_CLIENT, CLI_CLIENT, organization_alias
from kentra.auth.roles import Role


@dataclass
class TokenFactory:
    issuer: str
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(
            2048, parameters={"kid": "test-key"}, private=True
        )
    )
    fetches: int = 0

    def jwks(self) -> Mapping[str, Any]:
        """The JWKS the test app fetches (counted, for the cache tests)."""
        self.fetches += 1
        return {"keys": [self.key.as_dict(private=False)]}

    def claims(
        self,
        role: Role | None,
        *,
        municipality: str | None = None,
        groups: list[str] | None = None,
        region: str | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(uuid.uuid4()),
            "aud": [API_CLIENT],
            "azp": CLI_CLIENT,
            "typ": "Bearer",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "preferred_username": f"user-{role or 'none'}",
            "resource_access": {API_CLIENT: {"roles": [role.value] if role else []}},
        }
        if municipality:
            claims["organization"] = [organization_alias(municipality)]
        if groups:
            claims["groups"] = groups
        if region:
            claims["kentra_region"] = region
        claims.update(overrides)
        return claims

    def sign(self, claims: Mapping[str, Any], *, key: RSAKey | None = None, **header: Any) -> str:
        signing = key or self.key
        protected = {"alg": "RS256", "typ": "JWT", "kid": signing.kid, **header}
        return jwt.encode(protected, dict(claims), signing)

    def token(self, role: Role | None, **kwargs: Any) -> str:
        return self.sign(self.claims(role, **kwargs))

    def headers(self, role: Role | None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}
