"""Access and ID tokens with Keycloak's layout (auth/claims.py), signed RS256 with joserfc."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError

from kentra.auth import claims as contract
from kentra.auth.issuer.accounts import Account
from kentra.auth.issuer.keys import ALGORITHM, SigningKey

ACCESS_TOKEN_LIFETIME = 300  # seconds, Keycloak's default
# Keycloak's access tokens say "JWT" in the header and "Bearer" in the typ claim.
HEADER_TYPE = "JWT"
ACCESS_TOKEN_TYPE = "Bearer"  # noqa: S105 - a token type
ID_TOKEN_TYPE = "ID"  # noqa: S105 - same


def _profile_claims(account: Account, scopes: frozenset[str]) -> dict[str, Any]:
    claims: dict[str, Any] = {contract.CLAIM_USERNAME: account.username}
    if "profile" in scopes:
        name = " ".join(p for p in (account.first_name, account.last_name) if p)
        if name:
            claims["name"] = name
        if account.first_name:
            claims["given_name"] = account.first_name
        if account.last_name:
            claims["family_name"] = account.last_name
    if "email" in scopes and account.email:
        claims["email"] = account.email
        # Keycloak's email scope always says whether the address was verified; the embedded
        # issuer sends no verification mail, so it never is.
        claims["email_verified"] = False
    return claims


def _token_claims(
    issuer: str,
    account: Account,
    client_id: str,
    now: int,
    *,
    aud: str | list[str],
    typ: str,
    **time_claim: int,
) -> dict[str, Any]:
    """The claims both tokens open with, in Keycloak's order; ``time_claim`` is the one after
    ``iat`` where they differ (``nbf`` in an access token, ``auth_time`` in an ID token)."""
    return {
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "iat": now,
        **time_claim,
        "jti": str(uuid.uuid4()),
        "iss": issuer,
        "aud": aud,
        "sub": str(account.id),
        "typ": typ,
        "azp": client_id,
    }


def access_token_claims(
    *,
    issuer: str,
    account: Account,
    client_id: str,
    scope: str,
    session_id: uuid.UUID | None,
    now: int,
) -> dict[str, Any]:
    """The claims of an access token, in the order Keycloak writes them."""
    claims = _token_claims(
        issuer, account, client_id, now, aud=[contract.API_CLIENT], typ=ACCESS_TOKEN_TYPE, nbf=now
    )
    if session_id is not None:
        claims["sid"] = str(session_id)
    # Keycloak's basic scope adds the authentication time; the embedded issuer reports the
    # time the token was issued (the platform does not read it).
    claims["auth_time"] = now
    claims["scope"] = scope
    claims |= _profile_claims(account, frozenset(scope.split()))
    if account.roles:
        claims[contract.CLAIM_ROLES] = {
            contract.API_CLIENT: {"roles": [str(role) for role in account.roles]}
        }
    if account.organizations:
        claims[contract.CLAIM_ORGANIZATION] = list(account.organizations)
    if account.groups:
        claims[contract.CLAIM_GROUPS] = list(account.groups)
    if account.region:
        claims[contract.CLAIM_REGION] = account.region
    if account.profession:
        claims[contract.CLAIM_PROFESSION] = str(account.profession)
    return claims


def id_token_claims(
    *,
    issuer: str,
    account: Account,
    client_id: str,
    scope: str,
    session_id: uuid.UUID | None,
    auth_time: int,
    nonce: str | None,
    access_token: str,
    now: int,
) -> dict[str, Any]:
    claims = _token_claims(
        issuer, account, client_id, now, aud=client_id, typ=ID_TOKEN_TYPE, auth_time=auth_time
    )
    if nonce:
        claims["nonce"] = nonce
    if session_id is not None:
        claims["sid"] = str(session_id)
    claims["at_hash"] = _left_hash(access_token)
    claims |= _profile_claims(account, frozenset(scope.split()))
    # The realm maps the organization into ID tokens too (its other kentra claims: access
    # tokens only), as Keycloak's ID tokens show.
    if account.organizations:
        claims[contract.CLAIM_ORGANIZATION] = list(account.organizations)
    return claims


def userinfo_claims(account: Account, scope: str) -> dict[str, Any]:
    return {"sub": str(account.id), **_profile_claims(account, frozenset(scope.split()))}


def _left_hash(value: str) -> str:
    """OIDC's at_hash: the left half of the SHA-256 of the token, base64url without padding."""
    half = hashlib.sha256(value.encode("ascii")).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode("ascii")


def sign(key: SigningKey, claims: Mapping[str, Any]) -> str:
    header = {"alg": ALGORITHM, "typ": HEADER_TYPE, "kid": key.kid}
    return jwt.encode(header, dict(claims), key.key, algorithms=[ALGORITHM])


class UntrustedToken(Exception):
    """Not a token this issuer signed, or one it no longer accepts."""


def verify(
    key: SigningKey, token: str, *, issuer: str, token_type: str, check_expiry: bool = True
) -> dict[str, Any]:
    """The claims of a token this issuer signed (RS256, our kid, our iss, the given typ)."""
    try:
        header = jws.extract_compact(token.encode("ascii")).protected
        if header.get("alg") != ALGORITHM or header.get("kid") != key.kid:
            raise UntrustedToken("not signed by this issuer")
        decoded = jwt.decode(token, key.key, algorithms=[ALGORITHM])
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": issuer},
            "typ": {"essential": True, "value": token_type},
            "sub": {"essential": True},
        }
        if check_expiry:
            options["exp"] = {"essential": True}
        else:
            # An expired ID token still names its session and client (id_token_hint).
            decoded.claims.pop("exp", None)
        jwt.JWTClaimsRegistry(leeway=30, **options).validate(decoded.claims)
    except (JoseError, ValueError, UnicodeEncodeError) as exc:
        raise UntrustedToken(type(exc).__name__) from exc
    return dict(decoded.claims)
